"""A newcomer's first hour, as the README writes it: every command of its `<!-- first-hour: NAME -->` blocks, run in a
fresh clone with a fresh virtualenv, from a shell that activated nothing.

Blocks (README.md):
- make:      `make run` (kept running, as in its own terminal), then the commands after it, then Ctrl-C.
- busy-port: `make run` while the console's port is taken: one line naming the port, non-zero exit.
- pip:       a virtualenv and `pip install .` (not editable), then the commands after it; `wxwork run` like make run.

Each command must be one this script knows how to check, and each command it checks must be in the README: the two
cannot drift apart. Ports come from PORT and SIMULATOR_PORT (free ones), the README's documented way to choose them;
pip reuses its cache. Run by .ci/run; standard library only. Exit 0 when every command did what the README says.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"<!-- first-hour: ([\w-]+) -->\s*\n```bash\n(.*?)```", re.DOTALL)
LONG_RUNNING = {"make run", ".venv/bin/wxwork run"}
# What each block must hold, in order, and what every other command must print (a substring) on success.
EXPECTED = {
    "make": [
        ("make run", None),
        (".venv/bin/wxwork db current", "(the current one)"),
        (".venv/bin/wxwork login status", "no accounts yet"),
        (".venv/bin/flask --app wsgi db current", "(the current one)"),
    ],
    "busy-port": [("make run", None)],
    "pip": [
        ("python3 -m venv .venv", None),
        (".venv/bin/pip install .", None),
        (".venv/bin/wxwork db upgrade", "(the current one)"),
        (".venv/bin/wxwork run", None),
    ],
}
INSTALL_TIMEOUT_S = 600
STOP_TIMEOUT_S = 30


def readme_blocks() -> dict[str, list[str]]:
    blocks: dict[str, list[str]] = {}
    for name, body in BLOCK.findall((ROOT / "README.md").read_text(encoding="utf-8")):
        commands = [re.split(r"\s+#", line, maxsplit=1)[0].strip() for line in body.splitlines()]
        blocks[name] = [command for command in commands if command]
    return blocks


def check_readme(blocks: dict[str, list[str]]) -> None:
    for name, expected in EXPECTED.items():
        written = blocks.get(name)
        wanted = [command for command, _ in expected]
        if written != wanted:
            fail(f"README block `first-hour: {name}` is {written}, this script checks {wanted}: make them agree")
    extra = set(blocks) - set(EXPECTED)
    if extra:
        fail(f"README has first-hour blocks this script does not run: {sorted(extra)}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(**settings: str) -> dict[str, str]:
    """A shell that activated nothing and sets none of the app's settings (CI's own variables removed)."""
    keep = ("HOME", "LANG", "LC_ALL", "TERM", "TMPDIR", "USER", "PIP_", "PYENV")
    env = {key: value for key, value in os.environ.items() if key.startswith(keep) or key.lower().endswith("_proxy")}
    active = os.environ.get("VIRTUAL_ENV", "")
    path = [
        part
        for part in os.environ.get("PATH", "/usr/bin:/bin").split(":")
        if not part.rstrip("/").endswith("/.venv/bin") and not (active and part.startswith(active))
    ]
    env["PATH"] = ":".join(path)
    env.update(settings)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def fail(message: str) -> None:
    print(f"first-hour: FAILED: {message}", flush=True)
    raise SystemExit(1)


def clone(into: Path) -> Path:
    tree = into / "wxwork_demo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(tree)], check=True)
    return tree


def run(command: str, tree: Path, env: dict[str, str], expect: str | None) -> None:
    started = time.monotonic()
    try:
        result = subprocess.run(
            shlex.split(command), cwd=tree, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        fail(f"`{command}` did not finish within {INSTALL_TIMEOUT_S} s")
    output = result.stdout + result.stderr
    if result.returncode != 0:
        fail(f"`{command}` exited {result.returncode}:\n{output[-3000:]}")
    if expect is not None and expect not in output:
        fail(f"`{command}` did not print {expect!r}:\n{output[-3000:]}")
    if "Traceback (most recent call last)" in output:
        fail(f"`{command}` printed a traceback:\n{output[-3000:]}")
    first_line = (output.strip().splitlines() or [""])[0][:110]
    print(f"  ok   {command}  ({time.monotonic() - started:.1f} s)" + (f"\n       {first_line}" if first_line else ""))


def get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (http://127.0.0.1 only)
        return response.status


class Console:
    """A long-running command (`make run`, `wxwork run`) in its own process group, as in its own terminal."""

    def __init__(self, command: str, tree: Path, env: dict[str, str], log: Path) -> None:
        self.command, self.log = command, log
        self.port = int(env["PORT"])
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                shlex.split(command), cwd=tree, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.started = time.monotonic()

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_console(self) -> None:
        line = f"console: http://127.0.0.1:{self.port}/"
        deadline = time.monotonic() + INSTALL_TIMEOUT_S
        while line not in self.output():
            if self.process.poll() is not None:
                fail(f"`{self.command}` exited {self.process.returncode} before the console:\n{self.output()[-3000:]}")
            if time.monotonic() > deadline:
                fail(f"`{self.command}` printed no {line!r} within {INSTALL_TIMEOUT_S} s:\n{self.output()[-3000:]}")
            time.sleep(0.5)
        for path in ("/api/health", "/"):
            status = get(f"http://127.0.0.1:{self.port}{path}")
            if status != 200:
                fail(f"{path} answered {status} after `{self.command}` printed its console URL")
        print(f"  ok   {self.command}  (console answering after {time.monotonic() - self.started:.1f} s)")

    def ctrl_c(self) -> None:
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            fail(f"`{self.command}` still running {STOP_TIMEOUT_S} s after Ctrl-C")
        try:
            get(f"http://127.0.0.1:{self.port}/api/health")
        except OSError:
            pass
        else:
            fail(f"the console still answers after Ctrl-C on `{self.command}`")
        print(f"  ok   Ctrl-C on {self.command} (exit {self.process.returncode})")

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)


def walk(name: str, tree: Path, env: dict[str, str], workdir: Path) -> None:
    """Run a block's commands in order; a long-running one stays up for the commands after it."""
    print(f"first-hour: {name} (in {tree})", flush=True)
    console: Console | None = None
    try:
        for command, expect in EXPECTED[name]:
            if command in LONG_RUNNING:
                console = Console(command, tree, env, workdir / f"{name}.log")
                console.wait_for_console()
            else:
                run(command, tree, env, expect)
        if console is not None:
            console.ctrl_c()
            tracebacks = console.output().count("Traceback (most recent call last)")
            if tracebacks:
                fail(f"`{console.command}` printed {tracebacks} traceback(s):\n{console.output()[-3000:]}")
    finally:
        if console is not None:
            console.kill()


def busy_port(tree: Path, env: dict[str, str]) -> None:
    print("first-hour: busy-port", flush=True)
    port = int(env["PORT"])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        result = subprocess.run(["make", "run"], cwd=tree, env=env, capture_output=True, text=True, timeout=120)
    expected = f"port {port} (the console) is already in use"
    if result.returncode == 0 or expected not in result.stderr or "console:" in result.stdout:
        fail(f"`make run` with port {port} taken exited {result.returncode}:\n{result.stdout}{result.stderr}")
    if "Traceback" in result.stderr:
        fail(f"`make run` with a busy port printed a traceback:\n{result.stderr}")
    print(f"  ok   make run with port {port} taken: exit {result.returncode}\n       {result.stderr.strip()[:110]}")


def installed_not_editable(tree: Path, env: dict[str, str]) -> None:
    where = subprocess.run(  # from another directory: `python -c` would import the clone's folder first
        [str(tree / ".venv/bin/python"), "-c", "import wxwork_demo; print(wxwork_demo.__file__)"],
        cwd="/",
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if "/site-packages/" not in where:
        fail(f"after `pip install .` wxwork_demo is imported from {where}, not from the installed package")
    print(f"  ok   the pip path runs the installed package ({where})")


def main() -> int:
    started = time.monotonic()
    blocks = readme_blocks()
    check_readme(blocks)
    with tempfile.TemporaryDirectory(prefix="first-hour-") as scratch:
        workdir = Path(scratch)
        make_tree = clone(workdir / "make")
        env = clean_env(PORT=str(free_port()), SIMULATOR_PORT=str(free_port()))
        walk("make", make_tree, env, workdir)
        busy_port(make_tree, clean_env(PORT=str(free_port()), SIMULATOR_PORT=str(free_port())))
        pip_tree = clone(workdir / "pip")
        # Another working folder, so the pip path's database starts empty.
        walk("pip", pip_tree, clean_env(PORT=str(free_port()), SIMULATOR_PORT=str(free_port())), workdir)
        installed_not_editable(pip_tree, clean_env())
    print(f"first-hour: every README command worked ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
