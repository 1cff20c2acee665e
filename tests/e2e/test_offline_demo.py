"""The offline demo: `make run` in a fresh tree starts the simulator and the console; a login works; Ctrl-C ends it all.

The tree is copied the way a clone looks (no .venv, no instance/, no .env, no caches). Its `.venv` is a thin
shim onto this project's virtualenv (a `pyvenv.cfg`, `bin/python` and `lib/`), marked installed, so `make run`
runs its real recipe without reinstalling anything. Ports come from PORT and SIMULATOR_PORT.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.live import (
    PROJECT_ROOT,
    ConsoleApi,
    SimulatorControl,
    clean_env,
    descendants_of,
    first_login,
    free_port,
    is_running,
    kill_leftovers,
    port_is_open,
    wait_until,
)

pytestmark = pytest.mark.e2e

NOT_IN_A_CLONE = (
    ".git",
    ".venv",
    "instance",
    ".env",
    "__pycache__",
    "*.pyc",
    ".pytest_cache",
    ".ruff_cache",
    "*.sqlite3",
)


def fresh_tree(target: Path) -> Path:
    tree = target / "fresh"
    shutil.copytree(PROJECT_ROOT, tree, ignore=shutil.ignore_patterns(*NOT_IN_A_CLONE), symlinks=True)
    venv, real = tree / ".venv", Path(sys.prefix)
    (venv / "bin").mkdir(parents=True)
    shutil.copy(real / "pyvenv.cfg", venv / "pyvenv.cfg")
    (venv / "lib").symlink_to(real / "lib")
    (venv / "bin" / "python").symlink_to(Path(sys.executable).resolve())
    for tool in ("ruff", "flask"):
        if (real / "bin" / tool).exists():
            (venv / "bin" / tool).symlink_to(real / "bin" / tool)
    # What the editable install's console script does, for this tree: `wxwork …` is `python -m wxwork_demo …`.
    wxwork = venv / "bin" / "wxwork"
    wxwork.write_text('#!/bin/sh\nexec "$(dirname "$0")/python" -m wxwork_demo "$@"\n')
    wxwork.chmod(0o755)
    (venv / ".installed").touch()  # newer than requirements.txt and pyproject.toml: make will not reinstall
    return tree


def run_the_demo(tmp_path: Path, stop: str, **settings: str) -> None:
    """`make run` in a fresh tree, a first login through it, then `stop` it and see everything end."""
    tree = fresh_tree(tmp_path)
    port, sim_port = free_port(), free_port()
    console_url, sim_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{sim_port}"
    log_path = tmp_path / "make-run.log"
    env = clean_env(PORT=port, SIMULATOR_PORT=sim_port, **settings)
    with open(log_path, "wb") as log:
        make = subprocess.Popen(
            ["make", "run"], cwd=tree, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    seen: set[int] = set()
    try:
        started = time.monotonic()

        def up() -> bool:
            assert make.poll() is None, f"make run exited {make.returncode}:\n{log_path.read_text()[-3000:]}"
            seen.update(descendants_of(make.pid))
            try:
                return requests.get(f"{console_url}/api/health", timeout=1).status_code == 200
            except requests.RequestException:
                return False

        wait_until(up, 40, interval=0.2, what="make run to serve the console")
        startup_s = time.monotonic() - started
        health = requests.get(f"{console_url}/api/health", timeout=5).json()
        assert health["baseUrl"] == sim_url
        assert health["callbackUrl"] == f"{console_url}/callback/wxwork"
        assert requests.get(f"{sim_url}/_sim/", timeout=5).status_code == 200  # the scan page
        if "DATABASE_URL" not in settings:
            assert (tree / "instance" / "wxwork.sqlite3").exists()  # SQLite by default, created and migrated

        api, sim = ConsoleApi(console_url), SimulatorControl(sim_url)
        try:
            row = first_login(api, sim)
            assert row["vid"] and api.state()["active"]["uuid"] == row["uuid"]
        finally:
            api.close()
            sim.close()

        processes = descendants_of(make.pid)
        seen.update(processes)
        commands = {pid: Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ") for pid in processes}
        assert any(b"-m wxwork_demo run" in c for c in commands.values()), commands
        assert any(b"wxwork_demo.simulator" in c for c in commands.values()), commands
        assert any(b"gunicorn" in c for c in commands.values()), commands

        stopping = time.monotonic()
        if stop == "ctrl-c":
            os.killpg(make.pid, signal.SIGINT)  # what the terminal does: the whole foreground group
        else:
            make.terminate()  # `kill <pid>` of make only: it passes SIGTERM on to its recipe
        make.wait(30)
        try:
            wait_until(lambda: not any(is_running(pid) for pid in seen), 15, what="every process of make run to end")
        except AssertionError:
            alive = {pid: commands.get(pid) for pid in seen if is_running(pid)}
            raise AssertionError(f"still running after {stop}: {alive}\n{log_path.read_text()[-4000:]}") from None
        stop_s = time.monotonic() - stopping
        assert not port_is_open(port) and not port_is_open(sim_port)
        output = log_path.read_text(errors="replace")
        # On Ctrl-C the simulator gets SIGINT from the terminal and SIGTERM from serve.py at once; the second
        # interrupts its shutdown with a KeyboardInterrupt traceback (see the report). Nothing else may fail.
        tracebacks = [t[:4000] for t in output.split("Traceback (most recent call last):")[1:]]
        expected = [
            t
            for t in tracebacks
            if stop == "ctrl-c" and ("\nKeyboardInterrupt\n" in t or "wxwork_demo/simulator/__main__.py" in t)
        ]
        assert len(tracebacks) == len(expected), output[-4000:]
        print(
            f"\n[measure] make run ({stop}): up in {startup_s:.1f} s, "
            f"everything stopped {stop_s:.1f} s after the signal"
        )
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait(5)
        leftovers = kill_leftovers(sorted(seen))
        assert not leftovers, f"processes outlived make run: {leftovers}"


@pytest.mark.parametrize("stop", ["ctrl-c", "sigterm"])
def test_make_run_offline_demo_logs_in_and_stops_cleanly(tmp_path: Path, stop: str):
    run_the_demo(tmp_path, stop, DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}")


def test_make_run_in_a_fresh_clone_with_the_default_database(tmp_path: Path):
    run_the_demo(tmp_path, "ctrl-c")


def test_restarting_make_run_brings_the_demo_account_back_by_itself(tmp_path: Path):
    """Stop `make run` and start it again: the bundled simulator restarts like the real upstream (instances gone,
    device knowledge kept), so the monitor's init(vid) + automaticLogin brings the account back online
    (docs: 自动登录重连流程) instead of leaving it red for a person."""
    tree = fresh_tree(tmp_path)
    port, sim_port = free_port(), free_port()
    console_url, sim_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{sim_port}"
    env = clean_env(PORT=port, SIMULATOR_PORT=sim_port, MONITOR_INTERVAL_MS="1000")

    def start(name: str) -> subprocess.Popen:
        with open(tmp_path / f"{name}.log", "wb") as log:
            make = subprocess.Popen(
                ["make", "run"], cwd=tree, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

        def up() -> bool:
            assert make.poll() is None, (tmp_path / f"{name}.log").read_text()[-3000:]
            try:
                return requests.get(f"{console_url}/api/health", timeout=1).status_code == 200
            except requests.RequestException:
                return False

        wait_until(up, 40, interval=0.2, what=f"{name} to serve the console")
        return make

    def stop(make: subprocess.Popen) -> None:
        processes = descendants_of(make.pid)
        os.killpg(make.pid, signal.SIGINT)
        make.wait(30)
        wait_until(lambda: not any(is_running(pid) for pid in processes), 15, what="make run to end")

    first = start("first")
    try:
        api, sim = ConsoleApi(console_url), SimulatorControl(sim_url)
        row = first_login(api, sim)
        api.close()
        sim.close()
    finally:
        stop(first)
    assert (tree / "instance" / "simulator-devices.json").exists()

    second = start("second")
    try:
        api = ConsoleApi(console_url)

        def back() -> dict | None:
            current = api.session_of_vid(row["vid"])
            return current if current and current["state"] == "online" and current["uuid"] != row["uuid"] else None

        again = wait_until(back, 30, interval=0.5, what="the demo account back online after the restart")
        assert again["uuid"] == row["vid"]  # init with the id answers with the id as the uuid
        api.close()
    finally:
        if second.poll() is None:
            stop(second)


def test_make_run_with_a_busy_port_says_which_and_fails(tmp_path: Path):
    tree = fresh_tree(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            ["make", "run"],
            cwd=tree,
            env=clean_env(PORT=port, SIMULATOR_PORT=free_port()),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert f"port {port} (the console) is already in use" in result.stderr
    assert "console:" not in result.stdout and "Traceback" not in result.stderr
    assert not (tree / "instance").exists()
