"""`make run`: migrate the database, start the simulator when no BASE_URL is set, then serve the console.

With BASE_URL set the real upstream is used and no simulator starts. Ctrl-C stops everything.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import requests

from wxwork_demo.config import PROJECT_ROOT, ConfigError, load_settings
from wxwork_demo.schema import upgrade_database

DEVICES = str(PROJECT_ROOT / "instance" / "simulator-devices.json")


def _wait_until_up(url: str, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up within {seconds:.0f} s")


def main() -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    upgrade_database(settings.database_url)
    env = dict(os.environ)
    children: list[subprocess.Popen] = []
    if settings.base_url_is_default:
        sim_port = settings.simulator_port
        sim_url = f"http://127.0.0.1:{sim_port}"
        children.append(
            subprocess.Popen(
                # The device store keeps which accounts logged in on which device, as the real upstream
                # does across its restarts: the next `make run` logs them back in without a scan.
                [sys.executable, "-m", "wxwork_demo.simulator", "--port", str(sim_port), "--device-store", DEVICES],
                cwd=PROJECT_ROOT,
                start_new_session=True,  # Ctrl-C reaches only this launcher, which stops each child once
            )
        )
        _wait_until_up(f"{sim_url}/_sim/state")
        env["BASE_URL"] = sim_url
        print(f"BASE_URL not set: using the bundled upstream simulator at {sim_url} (scan page {sim_url}/_sim/)")
    gunicorn = [sys.executable, "-m", "gunicorn", "-c", str(PROJECT_ROOT / "gunicorn.conf.py"), "wsgi:app"]
    children.append(subprocess.Popen(gunicorn, cwd=PROJECT_ROOT, env=env, start_new_session=True))
    print(f"console: http://127.0.0.1:{settings.port}/")

    def stop(*_args) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while all(child.poll() is None for child in children):
        time.sleep(0.5)
    stop()
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout=5)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
