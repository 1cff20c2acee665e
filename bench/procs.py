"""Processes of a benchmark run: servers on free ports (gunicorn, granian, Node), their workers' memory and
CPU time, the machine."""

from __future__ import annotations

import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

PROJECT_ROOT = Path(__file__).resolve().parent.parent
GUNICORN = [sys.executable, "-m", "gunicorn"]
GRANIAN = [sys.executable, "-m", "granian"]
NODE_DIR = PROJECT_ROOT / "bench" / "node"
# Settings of the app that a developer's shell or .env might hold; a benchmark sets its own.
APP_SETTINGS = (
    "DATABASE_URL",
    "MYSQL_HOST",
    "MYSQL_PORT",
    "MYSQL_USER",
    "MYSQL_PASSWORD",
    "MYSQL_DATABASE",
    "BASE_URL",
    "CALLBACK_URL",
    "CALLBACK_TOKEN",
    "CALLBACK_ALLOWED_IPS",
    "MAX_EVENTS",
    "MONITOR_AUTOSTART",
    "SEND_MIN_INTERVAL_MS",
    "SEND_JITTER_MS",
    "SEND_MAX_WAIT_MS",
    "SEND_REPEAT_LIMIT",
    "MEDIA_MAX_BYTES",
    "MONITOR_CONCURRENCY",
    "CONSOLE_PASSWORD",
    "API_TOKEN",
    "HOST",
    "PORT",
    "GUNICORN_BIND",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def clean_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in APP_SETTINGS}
    env["PYTHONUNBUFFERED"] = "1"
    env.update({k: str(v) for k, v in settings.items()})
    return env


@dataclass
class Server:
    """One server process (a gunicorn or granian master and its workers, or one Node process), logging to
    `log_path`."""

    name: str
    command: list[str]
    env: dict[str, str]
    port: int
    log_path: Path
    health_path: str = "/api/health"
    # Node serves in the process itself; gunicorn and granian in the master's children.
    serves_itself: bool = False
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> Server:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command, cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {self.log_path}")
            try:
                if requests.get(self.url + self.health_path, timeout=2).status_code < 500:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer on {self.url} within {timeout}s; see {self.log_path}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    def workers(self) -> list[int]:
        """Pids of the processes that serve requests (a master's children, or the process itself)."""
        if self.process is None:
            return []
        if self.serves_itself:
            return [self.process.pid]
        return children_of(self.process.pid)

    def worker_rss_mb(self) -> list[float]:
        return [rss_mb(pid) for pid in self.workers()]


def gunicorn_server(name: str, app: str, port: int, log_dir: Path, config: str = "gunicorn.conf.py", **env) -> Server:
    """`gunicorn -c <config> <app>` bound to 127.0.0.1:`port`."""
    # No control socket: gunicorn's default one ($HOME/.gunicorn/gunicorn.ctl) is shared by every gunicorn of
    # the user, and the benchmark's servers must not take it from one running beside them.
    command = [*GUNICORN, "-c", str(PROJECT_ROOT / config), "--no-control-socket", app]
    settings = {"GUNICORN_BIND": f"127.0.0.1:{port}", "PORT": str(port), **env}
    return Server(name, command, clean_env(**settings), port, log_dir / f"{name}.log")


def granian_server(
    name: str, app: str, port: int, log_dir: Path, workers: int, threads: int, header_timeout_s: int, **env
) -> Server:
    """`granian --interface wsgi <app>`: `workers` processes of `threads` blocking threads each, no access log,
    a connection closed when a request's headers take longer than `header_timeout_s`."""
    command = [
        *GRANIAN,
        "--interface",
        "wsgi",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--blocking-threads",
        str(threads),
        "--http1-header-read-timeout",
        str(header_timeout_s * 1000),
        "--no-ws",
        app,
    ]
    settings = {"PORT": str(port), "GUNICORN_THREADS": str(threads), **env}
    return Server(name, command, clean_env(**settings), port, log_dir / f"{name}.log")


def node_server(name: str, script: str, port: int, log_dir: Path, **env) -> Server:
    """`node bench/node/<script>`: one Node process (the baselines; `npm ci` in bench/node installs mysql2)."""
    command = [shutil.which("node") or "node", str(NODE_DIR / script)]
    settings = {"PORT": str(port), **env}
    return Server(name, command, clean_env(**settings), port, log_dir / f"{name}.log", serves_itself=True)


def children_of(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return sorted(set(found))


def rss_mb(pid: int) -> float:
    """Resident set size of `pid` in MB (VmRSS), 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used so far (0 for a process that is gone)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total / os.sysconf("SC_CLK_TCK")


def pids_named(name: str) -> list[int]:
    """Pids whose command name is `name` (e.g. the database server, shared by everyone)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def machine() -> dict[str, str]:
    """What the figures depend on: CPUs, memory, OS and versions."""
    from importlib.metadata import version

    meminfo = Path("/proc/meminfo").read_text().splitlines()
    total_kb = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal:"))
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor() or "unknown",
    )
    packages = ("Flask", "Werkzeug", "SQLAlchemy", "PyMySQL", "gunicorn", "gevent", "granian", "requests")
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": cpu,
        "memory": f"{total_kb / 1024 / 1024:.1f} GiB",
        "kernel": platform.release(),
        "python": platform.python_version(),
        **{name: version(name) for name in packages},
        "node": node_version(),
    }


def node_version() -> str:
    try:
        return subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "not installed"
