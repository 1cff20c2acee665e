"""What a web worker loads: the app as gunicorn imports it (wsgi.py) leaves out the libraries only some requests
need, so each worker's memory stays small (issue 16, target 6: at most 80 MB after the benchmark's runs)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.e2e.live import PROJECT_ROOT, clean_env

# Imported on first use: cryptography (about 9 MB) seals and opens proxy settings; Pillow (about 2 MB) draws
# a QR code in the terminal (the CLI); APScheduler (about 2.3 MB) runs the monitor, in the process that starts
# it (MONITOR_AUTOSTART, or `wxwork monitor run`).
LOADED_ON_USE = ("cryptography", "PIL", "apscheduler", "flask_apscheduler")


def test_the_wsgi_app_imports_neither_cryptography_nor_pillow_nor_the_scheduler(tmp_path):
    script = "import json, sys, wsgi; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path / 'app.db'}", MONITOR_AUTOSTART="false")
    env["SECRET_KEY"] = "k" * 64
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, env=env, check=True, capture_output=True, text=True
    )
    loaded = set(json.loads(out.stdout.splitlines()[-1]))
    assert "wxwork_demo" in loaded and "flask" in loaded
    assert not loaded & set(LOADED_ON_USE), sorted(loaded & set(LOADED_ON_USE))
