"""End-to-end fixtures: the simulator and the console as real servers on free ports, on SQLite and MariaDB.

- `db_url`: a fresh migrated database for one test, once on SQLite and once on MySQL/MariaDB (the
  `database_url` fixture of tests/conftest.py, with its TEST_MYSQL_URL / REQUIRE_MYSQL rules).
- `simulator` / `sim`: a `SimulatorServer` on a free port and a client of its `/_sim/*` controls.
- `console` / `api`: the console app served by werkzeug's threaded server in a thread of this process.
- `start_gunicorn`: the console under real gunicorn (subprocess), for tests where processes matter.

Every server, thread and process started here is stopped at teardown.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.e2e.live import (
    PROJECT_ROOT,
    ConsoleApi,
    SimulatorControl,
    clean_env,
    descendants_of,
    free_port,
    kill_leftovers,
    wait_until,
)
from tests.e2e.media_host import MediaHost
from tests.support import ThreadedConsole
from wxwork_demo.simulator import SimulatorServer

# Upstream calls give up after this long; the fault tests measure against it.
READ_TIMEOUT_S = 2.0
# Small but realistic: a check pass every second, due actions every 100 ms.
CONSOLE_CONFIG = {
    "UPSTREAM_CONNECT_TIMEOUT": 2.0,
    "UPSTREAM_READ_TIMEOUT": READ_TIMEOUT_S,
    "MONITOR_INTERVAL_MS": 1000,
    "MONITOR_TICK_MS": 100,
    "MONITOR_LEASE_S": 3.0,
    "RECONNECT_DEBOUNCE_S": 0.2,
    "RECONNECT_BACKOFF_S": 0.5,
    "MONITOR_AUTOSTART": False,
    "MAX_EVENTS": 500,
    # Sends unpaced unless a test is about pacing (tests/e2e/test_pacing.py).
    "SEND_MIN_INTERVAL_MS": 0,
    "SEND_JITTER_MS": 0,
    # The links sent point at a server on loopback (media_host.py), which the app refuses unless told.
    "MEDIA_URL_ALLOW_PRIVATE": True,
}
SIMULATOR_SETTINGS = {
    "callback_retry_delay": 0.1,
    "callback_timeout": 3.0,
    "contacts_inner_people": 40,
    "contacts_external": 90,
}


# ----- databases ----------------------------------------------------------------------------------


@pytest.fixture
def db_url(database_url: str) -> str:
    """A fresh migrated database for one test: tests/conftest.py's, once on SQLite and once on MySQL."""
    return database_url


# ----- the simulator ------------------------------------------------------------------------------


@pytest.fixture
def simulator(request: pytest.FixtureRequest) -> Iterator[SimulatorServer]:
    """The simulator in its realistic default; `@pytest.mark.simulator_settings(name=value)` changes settings
    (the opt-in variants of wxwork_demo/simulator/settings.py)."""
    marker = request.node.get_closest_marker("simulator_settings")
    settings = {**SIMULATOR_SETTINGS, **(marker.kwargs if marker else {})}
    server = SimulatorServer(port=0, settings=settings).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sim(simulator: SimulatorServer) -> Iterator[SimulatorControl]:
    control = SimulatorControl(simulator.url)
    yield control
    control.close()


# ----- the console in a thread --------------------------------------------------------------------


@pytest.fixture
def make_console(db_url: str, simulator: SimulatorServer) -> Iterator[Callable[..., ThreadedConsole]]:
    """Start a threaded console on this test's database and simulator (with config overrides). It runs the
    monitor's scheduler, as `make run`'s workers do; the monitor stays off until a test turns it on."""
    started: list[ThreadedConsole] = []

    def make(**overrides) -> ThreadedConsole:
        config = {**CONSOLE_CONFIG, "DATABASE_URL": db_url, "BASE_URL": simulator.url, **overrides}
        console = ThreadedConsole(config, run_monitor=True)
        started.append(console)
        return console

    yield make
    for console in reversed(started):
        console.stop()


@pytest.fixture
def console(make_console) -> ThreadedConsole:
    return make_console()


@pytest.fixture
def api(console: ThreadedConsole) -> Iterator[ConsoleApi]:
    client = ConsoleApi(console.url)
    yield client
    client.close()


# ----- the console under gunicorn -----------------------------------------------------------------


@dataclass
class ConsoleProcess:
    """A process tree started by a test (gunicorn master and workers, or `flask monitor run`)."""

    name: str
    process: subprocess.Popen
    log_path: Path
    url: str = ""
    known_pids: set[int] = field(default_factory=set)

    @property
    def pid(self) -> int:
        return self.process.pid

    def note_children(self) -> list[int]:
        children = descendants_of(self.pid)
        self.known_pids.update(children)
        return children

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        self.note_children()
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        leftovers = kill_leftovers(sorted(self.known_pids))
        assert not leftovers, f"{self.name}: processes outlived their parent: {leftovers}"


def wait_for_health(url: str, proc: ConsoleProcess, timeout: float = 30) -> None:
    def up() -> bool:
        if proc.process.poll() is not None:
            raise AssertionError(f"{proc.name} exited with {proc.process.returncode}:\n{proc.log()[-3000:]}")
        try:
            return requests.get(f"{url}/api/health", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    wait_until(up, timeout, interval=0.2, what=f"{proc.name} to answer /api/health")


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., ConsoleProcess]]:
    """Start a command from the project root with a clean environment; everything is stopped at teardown."""
    started: list[ConsoleProcess] = []

    def start(name: str, argv: list[str], env: dict[str, str], cwd: Path = PROJECT_ROOT) -> ConsoleProcess:
        log_path = tmp_path / f"{name}-{len(started)}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        proc = ConsoleProcess(name=name, process=process, log_path=log_path)
        started.append(proc)
        return proc

    yield start
    problems = []
    for proc in reversed(started):
        try:
            proc.stop()
        except AssertionError as exc:
            problems.append(str(exc))
    assert not problems, problems


@pytest.fixture
def start_gunicorn(db_url: str, simulator: SimulatorServer, spawn) -> Callable[..., ConsoleProcess]:
    """`gunicorn -c gunicorn.conf.py wsgi:app` on a free port, this test's database and simulator."""

    def start(**env_overrides: str) -> ConsoleProcess:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = clean_env(
            DATABASE_URL=db_url,
            BASE_URL=simulator.url,
            CALLBACK_URL=f"{url}/callback/wxwork",
            PORT=str(port),
            UPSTREAM_CONNECT_TIMEOUT="2",
            UPSTREAM_READ_TIMEOUT=str(READ_TIMEOUT_S),
            # Sends unpaced unless a test is about pacing (as CONSOLE_CONFIG).
            **{"GUNICORN_ACCESSLOG": "/dev/null", "SEND_MIN_INTERVAL_MS": "0", "SEND_JITTER_MS": "0", **env_overrides},
        )
        argv = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
        proc = spawn("gunicorn", argv, env)
        proc.url = url
        wait_for_health(url, proc)
        return proc

    return start


def elapsed_since(started: float) -> float:
    return round(time.monotonic() - started, 3)


# ----- a host the send tests link to ----------------------------------------------------------------


@pytest.fixture
def media_host() -> Iterator[MediaHost]:
    host = MediaHost().start()
    yield host
    host.stop()
