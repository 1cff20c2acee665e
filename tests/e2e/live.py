"""HTTP clients of the console's JSON API and the simulator's control surface, plus waiting and process helpers.

Everything here talks over real sockets; nothing reaches into the app under test.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Settings the app reads from the environment: a subprocess gets exactly the ones a test gives it.
APP_ENV_NAMES = {
    "PORT",
    "HOST",
    "BASE_URL",
    "CALLBACK_URL",
    "DATABASE_URL",
    "MAX_EVENTS",
    "CONSOLE_PASSWORD",
    "API_TOKEN",
    "SECRET_KEY",
    "ALERT_WEBHOOK_URL",
    "WEB_CONCURRENCY",
    "SIMULATOR_PORT",
    "MAX_BODY_BYTES",
    "CLIENT_TIMEOUT",
    "LOG_LEVEL",
    "FLASK_APP",
}
APP_ENV_PREFIXES = (
    "MYSQL_",
    "MONITOR_",
    "UPSTREAM_",
    "RECONNECT_",
    "GUNICORN_",
    "CALLBACK_",
    "SEND_",
    "MEDIA_",
    "ROOMS_",
    "FORWARD_",
    "MESSAGE_",
)


def clean_env(**overrides: str) -> dict[str, str]:
    """This process's environment without any app setting, plus `overrides`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in APP_ENV_NAMES and not key.startswith(APP_ENV_PREFIXES)
    }
    env.update({key: str(value) for key, value in overrides.items()})
    env["PYTHONUNBUFFERED"] = "1"
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_until(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05, what: str = "") -> Any:
    """Call `check` until it returns something truthy; fail with the last value after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = check()
        except requests.RequestException as exc:
            last = exc
        else:
            if last:
                return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or check}; last: {last!r}")
        time.sleep(interval)


class ConsoleApi:
    """The console's local API, as a browser page or curl would use it."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.http = requests.Session()

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, timeout: float = 10, **params: Any) -> requests.Response:
        return self.http.get(f"{self.url}{path}", params=params or None, timeout=timeout)

    def post(self, path: str, body: dict | None = None, timeout: float = 10) -> requests.Response:
        return self.http.post(f"{self.url}{path}", json=body if body is not None else {}, timeout=timeout)

    def ok(self, path: str, body: dict | None = None, timeout: float = 10) -> dict:
        """POST and insist on HTTP 200 with `ok: true`."""
        response = self.post(path, body, timeout)
        assert response.status_code == 200, f"{path}: HTTP {response.status_code} {response.text[:800]}"
        data = response.json()
        assert data.get("ok") is True, f"{path}: {data}"
        return data

    def state(self) -> dict:
        response = self.get("/api/state")
        assert response.status_code == 200, response.text[:800]
        return response.json()

    def sessions(self) -> list[dict]:
        state = self.state()
        rows = state.get("sessions")
        if rows is None:  # the old demo's shape: only the active session
            rows = [state["active"]] if state["active"].get("uuid") else []
        return rows

    def session(self, uuid: str) -> dict | None:
        return next((row for row in self.sessions() if row["uuid"] == uuid), None)

    def session_of_vid(self, vid: str) -> dict | None:
        return next((row for row in self.sessions() if row["vid"] == str(vid)), None)

    def events(self, **filters: str) -> list[dict]:
        response = self.get("/api/events", **filters)
        assert response.status_code == 200, response.text[:800]
        return response.json()["events"]

    def wait_session(self, uuid: str, what: str, timeout: float = 10, **expected: Any) -> dict:
        """Wait until the session of `uuid` has every field in `expected`."""

        def matches() -> dict | None:
            row = self.session(uuid)
            if row and all(row.get(k) == v for k, v in expected.items()):
                return row
            return None

        return wait_until(matches, timeout, what=f"{what} ({uuid}: {expected})")


class SimulatorControl:
    """The simulator's `/_sim/*` control surface: the phone, the network, the counters."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.http = requests.Session()

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, body: dict | None = None, **params: Any) -> dict:
        response = self.http.request(method, f"{self.url}/_sim/{path}", json=body, params=params or None, timeout=10)
        assert response.status_code == 200, f"/_sim/{path}: HTTP {response.status_code} {response.text[:500]}"
        data = response.json()
        assert data.get("ok") is True, data
        return data

    def scan(self, uuid: str, **extra: Any) -> dict:
        return self._call("POST", "scan", {"uuid": uuid, **extra})

    def drop(self, uuid: str, type_: int, **extra: Any) -> dict:
        return self._call("POST", "drop", {"uuid": uuid, "type": type_, **extra})

    def message(self, uuid: str, content: str, **extra: Any) -> dict:
        return self._call("POST", "message", {"uuid": uuid, "content": content, **extra})

    def event(self, uuid: str, type_: int | str, **options: Any) -> dict:
        """Another callback of the upstream: 100003, 100006, 102001/102002/102006, 116001, 115xxx, ban, duplicate."""
        return self._call("POST", "event", {"uuid": uuid, "type": type_, **options})

    def restart(self, down_s: float = 0.0) -> dict:
        """The upstream restarts: instances gone, device knowledge kept."""
        return self._call("POST", "restart", {"down_s": down_s})

    def set_fault(self, mode: str, **spec: Any) -> dict:
        return self._call("POST", "faults", {"mode": mode, **spec})

    def clear_faults(self) -> dict:
        return self._call("DELETE", "faults")

    def sent(self, uuid: str | None = None) -> list[dict]:
        return self._call("GET", "sent", **({"uuid": uuid} if uuid else {}))["messages"]

    def calls(self) -> dict:
        return self._call("GET", "calls")

    def reset_calls(self) -> None:
        self._call("DELETE", "calls")

    def callbacks(self, uuid: str | None = None) -> list[dict]:
        return self._call("GET", "callbacks", **({"uuid": uuid} if uuid else {}))["attempts"]

    def instances(self) -> list[dict]:
        response = self.http.get(f"{self.url}/_sim/state", timeout=10)
        assert response.status_code == 200
        return response.json()["instances"]

    def bulk_login(self, count: int) -> list[dict]:
        return self._call("POST", "bulk-login", {"count": count})["instances"]

    def flag_account(self, user_id: int, needs_scan: bool = True) -> dict:
        return self._call("POST", "accounts", {"user_id": user_id, "needs_scan": needs_scan})


def first_login(api: ConsoleApi, sim: SimulatorControl, body: dict | None = None) -> dict:
    """start-login → the phone scans → the code arrives (100004) → check-code → online (104001).

    Returns the session as /api/state shows it once online.
    """
    started = api.ok("/api/start-login", body or {})
    uuid = started["uuid"]
    assert started["qrcode"] and started["qrcodeKey"], started
    scanned = sim.scan(uuid)
    assert scanned["needCode"] is True and len(scanned["code"]) == 6, scanned
    api.wait_session(uuid, "callback 100004", lastEvent="need-code", state="waiting_code")
    api.ok("/api/check-code", {"uuid": uuid, "code": scanned["code"]})
    row = api.wait_session(uuid, "callback 104001", isLogin=True, state="online", vid=str(scanned["user_id"]))
    return row


# ----- processes ----------------------------------------------------------------------------------


def children_of(pid: int) -> list[int]:
    """Direct children of `pid`, read from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: the fields after the last ")" are fixed.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def descendants_of(pid: int) -> list[int]:
    result, queue = [], [pid]
    while queue:
        for child in children_of(queue.pop()):
            result.append(child)
            queue.append(child)
    return result


def is_running(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :].split()[0] != "Z"


def kill_leftovers(pids: list[int]) -> list[int]:
    """SIGKILL whichever of `pids` (all started by the test) still run; returns those that did."""
    alive = [pid for pid in pids if is_running(pid)]
    for pid in alive:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return alive
