"""The loopback rule is the app's: with no credentials configured, a client that is not on loopback is refused
(403) however the server was started. `gunicorn -c /dev/null -b 0.0.0.0` and `flask run --host 0.0.0.0` never
read HOST, so a check of the configuration alone let them serve /api/state to anyone (issue 11, point 12)."""

from __future__ import annotations

import shutil
import socket
import sys

import pytest
import requests

from tests.e2e.conftest import wait_for_health
from tests.e2e.live import clean_env, free_port


def outward_address() -> str | None:
    """An address of this machine that is not loopback (the one a packet to elsewhere would leave from)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("198.51.100.1", 9))  # no packet is sent: this only picks the route
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address


SERVERS = {
    "gunicorn -c /dev/null": lambda port: [
        sys.executable, "-m", "gunicorn", "-c", "/dev/null", "-b", f"0.0.0.0:{port}", "wsgi:app",
    ],
    "flask run": lambda port: [
        sys.executable, "-m", "flask", "--app", "wsgi", "run", "--host", "0.0.0.0", "--port", str(port),
    ],
}  # fmt: skip


@pytest.mark.parametrize("server", SERVERS)
def test_no_credentials_means_loopback_only_whatever_the_server(server, spawn, simulator, sqlite_template, tmp_path):
    outward = outward_address()
    if outward is None:
        pytest.skip("this machine has no non-loopback address to call from")
    database = tmp_path / "console.sqlite3"
    shutil.copy(sqlite_template, database)
    port = free_port()
    env = clean_env(DATABASE_URL=f"sqlite:///{database}", BASE_URL=simulator.url, MONITOR_AUTOSTART="false")
    proc = spawn(server.split()[0], SERVERS[server](port), env)
    wait_for_health(f"http://127.0.0.1:{port}", proc)

    remote = requests.get(f"http://{outward}:{port}/api/state", timeout=10)
    assert remote.status_code == 403, remote.text[:300]
    assert remote.json()["ok"] is False and "CONSOLE_PASSWORD" in remote.json()["message"]
    assert requests.get(f"http://{outward}:{port}/", timeout=10).status_code == 403
    assert requests.post(f"http://{outward}:{port}/api/send-text", json={}, timeout=10).status_code == 403
    # Health stays open (load balancers), and the webhook keeps its own proof (the callback token).
    assert requests.get(f"http://{outward}:{port}/api/health", timeout=10).status_code == 200
    # A proxy on this machine forwarding for someone else is not a local client either.
    forwarded = requests.get(
        f"http://127.0.0.1:{port}/api/state", headers={"X-Forwarded-For": "203.0.113.9"}, timeout=10
    )
    assert forwarded.status_code == 403
    # On loopback the console stays open, as it always was.
    assert requests.get(f"http://127.0.0.1:{port}/api/state", timeout=10).status_code == 200
