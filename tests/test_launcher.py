"""`wxwork run` (what `make run` runs) refuses to start with one line saying why: a busy port, a database it
cannot use. Real processes, real sockets, a real (closed or refusing) MariaDB port; nothing is started."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from tests.e2e.live import PROJECT_ROOT, clean_env, free_port, port_is_open, wait_until


def run_launcher(tmp_path, **settings) -> subprocess.CompletedProcess:
    env = clean_env(**{"DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite3'}", **settings})
    return subprocess.run(
        [sys.executable, "-m", "wxwork_demo", "run"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def busy_port():
    """A port something listens on."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_a_busy_console_port_is_named_with_the_setting_that_moves_it(tmp_path, busy_port):
    result = run_launcher(tmp_path, PORT=busy_port, SIMULATOR_PORT=free_port())
    assert result.returncode == 1
    assert f"port {busy_port} (the console) is already in use" in result.stderr
    assert f"PORT={busy_port + 1} make run" in result.stderr
    assert "console:" not in result.stdout and "Traceback" not in result.stderr
    assert not (tmp_path / "run.sqlite3").exists()  # refused before touching anything


def test_a_busy_simulator_port_is_named_with_the_setting_that_moves_it(tmp_path, busy_port):
    result = run_launcher(tmp_path, PORT=free_port(), SIMULATOR_PORT=busy_port)
    assert result.returncode == 1
    assert f"port {busy_port} (the bundled upstream simulator) is already in use" in result.stderr
    assert f"SIMULATOR_PORT={busy_port + 1} make run" in result.stderr
    assert "console:" not in result.stdout


def test_the_simulator_port_is_not_checked_when_a_real_upstream_is_configured(tmp_path, busy_port):
    # BASE_URL set: no simulator starts, so its port may be in use; the database then stops the start.
    result = run_launcher(
        tmp_path,
        PORT=free_port(),
        SIMULATOR_PORT=busy_port,
        BASE_URL="http://127.0.0.1:9",
        DATABASE_URL=f"mysql+pymysql://root:s3cret-pw@127.0.0.1:{free_port()}/wxwork",
    )
    assert "already in use" not in result.stderr
    assert result.returncode == 1


def test_an_unreachable_database_is_one_line_with_the_password_masked(tmp_path):
    closed = free_port()
    result = run_launcher(
        tmp_path,
        PORT=free_port(),
        SIMULATOR_PORT=free_port(),
        DATABASE_URL=f"mysql+pymysql://root:s3cret-pw@127.0.0.1:{closed}/wxwork",
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"database mysql+pymysql://root:***@127.0.0.1:{closed}/wxwork: nothing answers")
    assert "DATABASE_URL" in lines[0] and "s3cret-pw" not in result.stderr + result.stdout


def test_a_bad_setting_is_one_line(tmp_path):
    result = run_launcher(tmp_path, PORT="eighty")
    assert result.returncode == 2
    assert result.stderr.strip() == "configuration error: PORT must be a whole number, got 'eighty'"


def serve_briefly(tmp_path, database_url: str) -> str:
    """gunicorn as `wxwork serve` runs it, until the console answers; returns everything it logged."""
    port = free_port()
    log = tmp_path / "gunicorn.log"
    env = clean_env(PORT=port, DATABASE_URL=database_url, WEB_CONCURRENCY=2, BASE_URL="http://127.0.0.1:9")
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "wxwork_demo", "serve"], cwd=PROJECT_ROOT, env=env, stdout=out, stderr=out
        )
    try:
        wait_until(lambda: port_is_open(port) or server.poll() is not None, 60, what="gunicorn to listen")
        assert server.poll() is None, log.read_text()
        wait_until(lambda: log.read_text().count("monitor not started") == 2, 60, what="both workers up")
        time.sleep(1)  # a worker that crashed would be replaced (and logged) by now
        assert server.poll() is None
        return log.read_text()
    finally:
        server.terminate()
        server.wait(20)


def test_gunicorn_with_an_unreachable_database_logs_one_line_and_keeps_its_workers(tmp_path):
    closed = free_port()
    output = serve_briefly(tmp_path, f"mysql+pymysql://root:s3cret-pw@127.0.0.1:{closed}/wxwork")
    assert output.count(f"database mysql+pymysql://root:***@127.0.0.1:{closed}/wxwork: nothing answers") == 1
    assert "Traceback" not in output and "Exception in worker" not in output and "s3cret-pw" not in output
    assert output.count("Booting worker") == 2  # no worker died and was replaced


def test_gunicorn_on_a_database_without_tables_says_what_to_run(tmp_path):
    output = serve_briefly(tmp_path, f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    assert output.count("has no tables yet; run `make db` (or `.venv/bin/wxwork db upgrade`)") == 1
    assert "Traceback" not in output and output.count("Booting worker") == 2


def test_gunicorn_on_a_database_behind_the_code_says_which_migration(tmp_path):
    from wxwork_demo.database_check import head_revision
    from wxwork_demo.schema import upgrade_database

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    upgrade_database(url, "0001")
    line = f"is at migration 0001, this version needs {head_revision()}; run `make db`"
    output = serve_briefly(tmp_path, url)
    assert output.count(line) == 1, output
