"""Database faults: a private MariaDB that the test kills and restarts under a running console.

The console runs as a real threaded server against a MariaDB instance of its own (its own datadir, port and
socket, never the shared server), with the upstream simulator as BASE_URL. While callbacks keep arriving:

- the database is killed: API calls and callbacks answer 503 `{ok: false, message}` within seconds
  (callbacks must not be acknowledged, so the sender retries), /api/health stays up;
- the database is restarted on the same datadir and port: the console serves again by itself (no restart;
  pool_pre_ping), and the callbacks refused meanwhile are taken when sent again;
- nothing acknowledged is lost: every callback that got a 200 is in `events`, exactly once.

Skipped when mariadbd or mariadb-install-db is missing, unless REQUIRE_MYSQL=1 (then it fails).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pymysql
import pytest
import requests
from sqlalchemy import create_engine, select

from tests.conftest import skip_or_fail
from tests.e2e.live import free_port
from tests.support import ThreadedConsole
from wxwork_demo import db
from wxwork_demo.config import settings_of
from wxwork_demo.models import Event, Instance
from wxwork_demo.schema import upgrade_database
from wxwork_demo.simulator import SimulatorServer

SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin", "/usr/local/mysql/bin"])
MARIADBD = shutil.which("mariadbd", path=SEARCH_PATH) or shutil.which("mysqld", path=SEARCH_PATH)
INSTALL_DB = shutil.which("mariadb-install-db", path=SEARCH_PATH) or shutil.which("mysql_install_db", path=SEARCH_PATH)
CALLBACK_TOKEN = "db-faults-callback-token-0123456789"
# An answer slower than this while the database is down counts as a hang.
FAST_FAILURE_S = 5.0
MESSAGE = 102000
TEXT = {"send_userid": 1688850000000001, "isRoom": False, "content": "hello"}


def _missing_server() -> str | None:
    if not MARIADBD:
        return "mariadbd (or mysqld) is not installed"
    if not INSTALL_DB:
        return "mariadb-install-db (or mysql_install_db) is not installed"
    return None


class PrivateMariaDB:
    """One mariadbd on a temporary datadir and a free port, started and killed by the test."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.datadir = root / "data"
        self.socket = root / "mysqld.sock"
        self.log_path = root / "mariadbd.log"
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def server_url(self) -> str:
        return f"mysql+pymysql://root@127.0.0.1:{self.port}"

    def install(self) -> None:
        argv = [
            INSTALL_DB,
            "--no-defaults",
            f"--datadir={self.datadir}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ]
        if os.geteuid() == 0:
            argv.append("--user=root")
        result = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, f"{' '.join(argv)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"

    def start(self, timeout: float = 60) -> float:
        """Start mariadbd and wait until it takes connections; returns how long that took."""
        assert self.process is None or self.process.poll() is not None, "already running"
        argv = [
            MARIADBD,
            "--no-defaults",
            f"--datadir={self.datadir}",
            f"--port={self.port}",
            f"--socket={self.socket}",
            f"--pid-file={self.root / 'mariadbd.pid'}",
            "--bind-address=127.0.0.1",
            "--skip-grant-tables",
            "--skip-name-resolve",
            "--innodb-buffer-pool-size=32M",
        ]
        if os.geteuid() == 0:
            argv.append("--user=root")
        started = time.monotonic()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"mariadbd exited with {self.process.returncode}:\n{self.log()[-3000:]}")
            try:
                pymysql.connect(host="127.0.0.1", port=self.port, user="root", connect_timeout=1).close()
                return time.monotonic() - started
            except pymysql.err.OperationalError:
                if time.monotonic() - started > timeout:
                    raise AssertionError(f"mariadbd not ready after {timeout} s:\n{self.log()[-3000:]}") from None
                time.sleep(0.05)

    def kill(self) -> None:
        """Stop it dead (SIGKILL, as a crash or an OOM kill would), and wait until it is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # in case a test froze it
            self.process.kill()
            self.process.wait(30)

    def freeze(self) -> None:
        """SIGSTOP: the port still takes connections (the kernel does that) but nothing answers."""
        assert self.process is not None and self.process.poll() is None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """Shut down cleanly (SIGTERM), killing it if it does not go."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGCONT)
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture(scope="module")
def mariadb():
    reason = _missing_server()
    if reason:
        skip_or_fail(reason)
    # A short path of its own: the socket path must fit in 108 bytes.
    root = Path(tempfile.mkdtemp(prefix="wxwork-dbfault-"))
    server = PrivateMariaDB(root)
    try:
        server.install()
        server.start()
        connection = pymysql.connect(host="127.0.0.1", port=server.port, user="root", connect_timeout=5)
        with connection.cursor() as cursor:
            cursor.execute("CREATE DATABASE wxwork CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        connection.close()
        upgrade_database(f"{server.server_url}/wxwork?charset=utf8mb4")
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def make_console(mariadb, simulator):
    """Start consoles on an emptied private database (running again if an earlier test left it down)."""
    if mariadb.process is None or mariadb.process.poll() is not None:
        mariadb.start()
    database_url = f"{mariadb.server_url}/wxwork?charset=utf8mb4"
    engine = create_engine(database_url)
    with engine.begin() as connection:
        for table in ("events", "callback_keys", "sessions"):
            connection.exec_driver_sql(f"DELETE FROM {table}")
    engine.dispose()
    started: list[ThreadedConsole] = []

    def make() -> ThreadedConsole:
        console = ThreadedConsole(
            {
                "DATABASE_URL": database_url,
                "BASE_URL": simulator.url,
                "CALLBACK_TOKEN": CALLBACK_TOKEN,
                "MAX_EVENTS": 1_000_000,
                "MONITOR_AUTOSTART": False,
                "UPSTREAM_CONNECT_TIMEOUT": 2.0,
                "UPSTREAM_READ_TIMEOUT": 2.0,
            }
        )
        started.append(console)
        return console

    yield make
    for console in started:
        console.stop()


@pytest.fixture
def console(make_console) -> ThreadedConsole:
    return make_console()


class CallbackSender:
    """Plays the upstream: posts message callbacks, one new msg_id each, and remembers the answers."""

    def __init__(self, console_url: str, uuid: str) -> None:
        self.url = f"{console_url}/callback/wxwork?token={CALLBACK_TOKEN}"
        self.uuid = uuid
        self.http = requests.Session()
        self.next_id = 1
        self.acked: set[int] = set()
        self.refused: set[int] = set()
        self.statuses: Counter = Counter()
        self.slowest = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []

    def post(self, msg_id: int | None = None) -> requests.Response:
        with self._lock:
            if msg_id is None:
                msg_id, self.next_id = self.next_id, self.next_id + 1
        payload = {"msg_id": msg_id, "server_id": 9_000_000 + msg_id, "content": f"message {msg_id}", "sender": 42}
        started = time.monotonic()
        response = self.http.post(
            self.url, json={"uuid": self.uuid, "type": MESSAGE, "json": json.dumps(payload)}, timeout=30
        )
        elapsed = time.monotonic() - started
        with self._lock:
            self.slowest = max(self.slowest, elapsed)
            self.statuses[response.status_code] += 1
            if response.status_code == 200:
                assert response.json()["errcode"] == 0, response.text
                self.acked.add(msg_id)
                self.refused.discard(msg_id)
            else:
                assert_json_error(response, 503)
                self.refused.add(msg_id)
        return response

    def start_background(self, interval: float = 0.02) -> None:
        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.post()
                except (AssertionError, requests.RequestException, ValueError) as exc:
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                self._stop.wait(interval)

        self._thread = threading.Thread(target=loop, name="callback-sender", daemon=True)
        self._thread.start()

    def stop_background(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
            assert not self._thread.is_alive(), "the callback sender hung"
        assert not self.errors, self.errors[:5]

    def retry_refused(self) -> None:
        for msg_id in sorted(self.refused):
            response = self.post(msg_id)
            assert response.status_code == 200, response.text


def assert_json_error(response: requests.Response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    body = response.json()
    assert body["ok"] is False and isinstance(body["message"], str) and body["message"], body
    return body


def timed(call) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def stored_message_ids(database_url: str) -> Counter:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(Event.payload).where(Event.event_type == str(MESSAGE)))
            return Counter(row.payload["msg_id"] for row in rows)
    finally:
        engine.dispose()


def _logged_in_session(console: ThreadedConsole, simulator: SimulatorServer) -> str:
    reply = requests.post(f"{simulator.url}/_sim/bulk-login", json={"count": 1}, timeout=10)
    reply.raise_for_status()
    instance = reply.json()["instances"][0]
    with console.app.app_context():
        from wxwork_demo.db import db_session

        db_session().add(Instance(uuid=instance["uuid"], vid=str(instance["vid"]), is_login=True, state="online"))
        db_session().commit()
    return instance["uuid"]


def test_killed_database_gives_503_then_recovers_without_losing_callbacks(mariadb, console, simulator):
    api = requests.Session()
    uuid = _logged_in_session(console, simulator)
    sender = CallbackSender(console.url, uuid)

    # Up: everything works, callbacks keep coming.
    assert api.get(f"{console.url}/api/state", timeout=10).status_code == 200
    assert api.post(f"{console.url}/api/send-text", json=TEXT, timeout=10).status_code == 200
    for _ in range(5):
        assert sender.post().status_code == 200
    sender.start_background()
    time.sleep(0.5)

    # Down: kill the database under the running console.
    mariadb.kill()
    down_at = time.monotonic()
    timings: dict[str, float] = {}
    for _ in range(3):
        for name, call in (
            ("GET /api/state", lambda: api.get(f"{console.url}/api/state", timeout=30)),
            ("GET /api/events", lambda: api.get(f"{console.url}/api/events", timeout=30)),
            ("POST /api/send-text", lambda: api.post(f"{console.url}/api/send-text", json=TEXT, timeout=30)),
            ("POST /api/contacts", lambda: api.post(f"{console.url}/api/contacts", json={}, timeout=30)),
            ("POST /callback/wxwork", sender.post),
        ):
            response, elapsed = timed(call)
            assert_json_error(response, 503)
            timings[name] = max(timings.get(name, 0.0), elapsed)
    health, health_s = timed(lambda: api.get(f"{console.url}/api/health", timeout=30))
    assert health.status_code == 200 and health_s < FAST_FAILURE_S
    time.sleep(1.0)  # let the background sender be refused for a while
    refused_while_down = len(sender.refused)
    assert refused_while_down > 0, sender.statuses

    # Up again, same datadir and port: the console serves again by itself.
    restart_at = time.monotonic()
    ready_s = mariadb.start()
    ready_at = time.monotonic()
    while True:
        response = api.get(f"{console.url}/api/state", timeout=30)
        if response.status_code == 200:
            break
        assert_json_error(response, 503)
        assert time.monotonic() - ready_at < 30, "the console did not recover within 30 s of the database"
        time.sleep(0.05)
    serving_at = time.monotonic()
    assert api.post(f"{console.url}/api/send-text", json=TEXT, timeout=10).status_code == 200
    after = sender.post()
    assert after.status_code == 200, after.text
    recovered_id = sender.next_id - 1
    time.sleep(0.3)
    sender.stop_background()
    sender.retry_refused()  # the upstream sends again what was not acknowledged

    stored = stored_message_ids(settings_of(console.app).database_url)
    duplicates = {msg_id: n for msg_id, n in stored.items() if n > 1}
    print(
        f"\ndatabase faults: slowest answer while down {max(timings.values()):.3f} s {timings}; "
        f"slowest callback {sender.slowest:.3f} s; mariadbd restart {ready_s:.2f} s; console serving "
        f"{serving_at - ready_at:.3f} s after the database was ready ({serving_at - restart_at:.2f} s after "
        f"the restart, {serving_at - down_at:.1f} s after the kill); callbacks {dict(sender.statuses)}, "
        f"{refused_while_down}+ refused while down, {len(sender.acked)} acknowledged, {len(stored)} stored"
    )
    assert max(timings.values()) < FAST_FAILURE_S, timings
    assert recovered_id in stored, "a callback acknowledged after the recovery is not stored"
    assert sender.acked - set(stored) == set(), "acknowledged callbacks were lost"
    assert sender.acked == set(range(1, sender.next_id)), "a refused callback was not taken when sent again"
    assert not duplicates, f"callbacks stored more than once: {duplicates}"


def test_frozen_database_gives_503_within_the_timeouts(mariadb, make_console, simulator, monkeypatch):
    """A server that takes connections but never answers (frozen, or a network dropping packets): requests
    fail after the PyMySQL timeouts of wxwork_demo/db.py (lowered here to keep the test short) instead of
    hanging, and callbacks are not acknowledged."""
    monkeypatch.setattr(db, "MYSQL_CONNECT_TIMEOUT_S", 1)
    monkeypatch.setattr(db, "MYSQL_READ_TIMEOUT_S", 1)
    monkeypatch.setattr(db, "MYSQL_WRITE_TIMEOUT_S", 1)
    console = make_console()
    api = requests.Session()
    sender = CallbackSender(console.url, _logged_in_session(console, simulator))
    assert api.get(f"{console.url}/api/state", timeout=10).status_code == 200
    assert sender.post().status_code == 200
    # The pre-ping of a pooled connection times out, then one new connection does: about 2 read timeouts.
    bound = 2 * db.MYSQL_READ_TIMEOUT_S + db.MYSQL_CONNECT_TIMEOUT_S + 2.0

    mariadb.freeze()
    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            calls = [
                pool.submit(timed, lambda: api.get(f"{console.url}/api/state", timeout=60)),
                pool.submit(timed, lambda: requests.post(f"{console.url}/api/send-text", json=TEXT, timeout=60)),
                pool.submit(timed, sender.post),
            ]
            outcomes = [call.result() for call in calls]
    finally:
        mariadb.thaw()
    for response, elapsed in outcomes:
        assert_json_error(response, 503)
        assert elapsed < bound, (elapsed, response.request.url)

    thawed_at = time.monotonic()
    while api.get(f"{console.url}/api/state", timeout=30).status_code != 200:
        assert time.monotonic() - thawed_at < 30, "the console did not recover after the database thawed"
        time.sleep(0.05)
    print(
        f"\nfrozen database: answers in {', '.join(f'{elapsed:.2f}' for _, elapsed in outcomes)} s "
        f"(read timeout {db.MYSQL_READ_TIMEOUT_S} s); serving {time.monotonic() - thawed_at:.2f} s after the thaw"
    )
    sender.retry_refused()
    stored = stored_message_ids(settings_of(console.app).database_url)
    assert sender.acked == set(stored) == set(range(1, sender.next_id))
