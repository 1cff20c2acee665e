"""`wxwork run` / `make run`: check the ports, migrate the database, start the simulator when no BASE_URL is
set, then serve the console with gunicorn and print its URL once it answers.

With BASE_URL set the real upstream is used and no simulator starts. Ctrl-C stops everything. Every problem
that keeps it from starting (a busy port, a database it cannot use, a bad setting) is one line on stderr and a
non-zero exit, never a traceback.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import time

import requests
from sqlalchemy.exc import SQLAlchemyError

from wxwork_demo.config import ConfigError, load_settings
from wxwork_demo.database_check import explain
from wxwork_demo.paths import working_folder
from wxwork_demo.services.login.callback_reach import loopback_hint

# The device store keeps which accounts logged in on which device, as the real upstream does across its
# restarts: the next `run` logs them back in without a scan.
DEVICES = working_folder() / "instance" / "simulator-devices.json"


class CannotStart(Exception):
    """Something keeps `run` from starting; the message says what and how to fix it."""


def port_is_busy(host: str, port: int) -> bool:
    """Whether something already listens on host:port (bound the way gunicorn binds: SO_REUSEADDR)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            raise CannotStart(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return False


def check_port(host: str, port: int, variable: str, what: str) -> None:
    if port_is_busy(host, port):
        raise CannotStart(
            f"port {port} ({what}) is already in use; stop what uses it, or choose another port "
            f"with {variable}, e.g. `{variable}={port + 1} make run`"
        )


def upgrade(database_url: str) -> None:
    from wxwork_demo.schema import upgrade_database  # Alembic: only the launcher needs it

    try:
        upgrade_database(database_url)
    except (SQLAlchemyError, OSError) as exc:
        raise CannotStart(explain(database_url, exc)) from None


def wait_until_up(url: str, child: subprocess.Popen[bytes], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise CannotStart(f"{what} exited with status {child.returncode} while starting (see above)")
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise CannotStart(f"{what} did not answer at {url} within {seconds:.0f} s")


def gunicorn_command() -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        "python:wxwork_demo.gunicorn_conf",
        "wxwork_demo:create_app()",
    ]


def exec_gunicorn() -> None:
    """Replace this process by gunicorn serving the app (`wxwork serve`): what a service manager supervises."""
    command = gunicorn_command()
    os.execv(command[0], command)  # noqa: S606 (our own gunicorn command line, no shell)


class Launcher:
    """The children of one `run`: started in order, stopped together."""

    def __init__(self) -> None:
        self.children: list[subprocess.Popen[bytes]] = []
        self.stopping = False

    def start(self, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        # Its own session: Ctrl-C reaches only this launcher, which stops each child once.
        child = subprocess.Popen(argv, env=env, start_new_session=True)  # noqa: S603 (argv built here)
        self.children.append(child)
        return child

    def stop(self, *_args: object) -> None:
        self.stopping = True
        for child in self.children:
            if child.poll() is None:
                child.terminate()

    def wait_for_all(self) -> None:
        for child in self.children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(timeout=5)

    def first_failure(self) -> int:
        """The exit status to report: 0 after a stop asked for, else that of a child that ended by itself."""
        if self.stopping:
            return 0
        return next((child.returncode or 1 for child in self.children if child.returncode is not None), 0)


def launch(launcher: Launcher) -> None:
    settings = load_settings()
    env = dict(os.environ)
    sim_port = settings.simulator_port if settings.base_url_is_default else None
    if not settings.gunicorn_bind:
        check_port(settings.host, settings.port, "PORT", "the console")
    if sim_port is not None:
        check_port("127.0.0.1", sim_port, "SIMULATOR_PORT", "the bundled upstream simulator")
    upgrade(settings.database_url)
    if sim_port is not None:
        sim_url = f"http://127.0.0.1:{sim_port}"
        simulator = launcher.start(
            [sys.executable, "-m", "wxwork_demo.simulator", "--port", str(sim_port), "--device-store", str(DEVICES)],
            env,
        )
        wait_until_up(f"{sim_url}/_sim/state", simulator, "the simulator")
        env["BASE_URL"] = sim_url
        print(f"BASE_URL not set: using the bundled upstream simulator at {sim_url} (scan page {sim_url}/_sim/)")
    hint = loopback_hint(settings.callback_url, env.get("BASE_URL") or settings.base_url, settings.port)
    if hint is not None:
        print(f"warning: {hint.message}", file=sys.stderr)
    console_url = f"http://127.0.0.1:{settings.port}"
    gunicorn = launcher.start(gunicorn_command(), env)
    wait_until_up(f"{console_url}/api/health", gunicorn, "the console (gunicorn)")
    print(f"console: {console_url}/", flush=True)


def main() -> int:
    launcher = Launcher()
    signal.signal(signal.SIGTERM, launcher.stop)
    signal.signal(signal.SIGINT, launcher.stop)
    try:
        launch(launcher)
        while not launcher.stopping and all(child.poll() is None for child in launcher.children):
            time.sleep(0.5)
    except (ConfigError, CannotStart) as exc:
        if launcher.stopping:  # Ctrl-C while starting: a child ending then is no failure
            launcher.wait_for_all()
            return 0
        prefix = "configuration error: " if isinstance(exc, ConfigError) else ""
        print(f"{prefix}{exc}", file=sys.stderr)
        launcher.stop()
        launcher.wait_for_all()
        return 2 if isinstance(exc, ConfigError) else 1
    exited_by_itself = launcher.first_failure()
    if exited_by_itself:
        print(f"a process of `run` exited with status {exited_by_itself}; stopping the others", file=sys.stderr)
    launcher.stop()
    launcher.wait_for_all()
    return exited_by_itself


if __name__ == "__main__":
    raise SystemExit(main())
