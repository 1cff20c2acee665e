"""The project as a package: what `pip install .` ships, the `wxwork` command, and the Makefile's first check.

The full install from a clean clone into a clean virtualenv, exactly as the README says, is .ci/first-hour
(run by .ci/run): it needs PyPI and about a minute, so it is not part of `make test`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.e2e.live import PROJECT_ROOT, clean_env

NOT_PACKAGED = (".git", ".venv", "instance", "build", "*.egg-info", "__pycache__", ".*_cache", "tests", "bench")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    """The wheel `pip install .` would install (built offline with this virtualenv's setuptools)."""
    out = tmp_path_factory.mktemp("wheel")
    # A copy of what a clone holds for packaging: setuptools writes build/ and *.egg-info beside the sources.
    source = tmp_path_factory.mktemp("source") / "wxwork_demo"
    shutil.copytree(PROJECT_ROOT, source, ignore=shutil.ignore_patterns(*NOT_PACKAGED))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), "."],
        cwd=source,
        check=True,
        capture_output=True,
    )
    (path,) = out.glob("wxwork_demo-*.whl")
    with zipfile.ZipFile(path) as archive:
        yield archive


def test_the_wheel_holds_every_module_and_what_the_app_reads_at_run_time(wheel):
    names = set(wheel.namelist())
    for source in (PROJECT_ROOT / "wxwork_demo").rglob("*.py"):
        assert source.relative_to(PROJECT_ROOT).as_posix() in names
    for folder in ("templates", "migrations"):
        for source in (PROJECT_ROOT / folder).rglob("*"):
            if source.is_file() and "__pycache__" not in source.parts:
                assert f"wxwork_demo/{source.relative_to(PROJECT_ROOT).as_posix()}" in names, source
    for source in (PROJECT_ROOT / "wxwork_demo").rglob("*"):  # every file of the package: static/, templates …
        if source.is_file() and "__pycache__" not in source.parts and source.suffix != ".pyc":
            assert source.relative_to(PROJECT_ROOT).as_posix() in names, source
    assert not any(name.startswith(("tests/", "bench/", "templates/", "migrations/")) for name in names)


def test_the_wheel_declares_the_wxwork_command_and_the_runtime_requirements_only(wheel):
    metadata = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    entry_points = next(n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt"))
    assert "wxwork = wxwork_demo.cli:main" in wheel.read(entry_points).decode()
    requires = {
        line.split(":", 1)[1].strip()
        for line in wheel.read(metadata).decode().splitlines()
        if line.startswith("Requires-Dist:")
    }
    runtime = {
        line.strip()
        for line in (PROJECT_ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert requires == runtime
    assert not any(name.lower().startswith(("pytest", "playwright", "ruff")) for name in requires)


def test_dev_requirements_build_on_the_runtime_set():
    lines = (PROJECT_ROOT / "requirements-dev.txt").read_text().splitlines()
    assert "-r requirements.txt" in lines
    runtime = (PROJECT_ROOT / "requirements.txt").read_text().lower()
    assert "pytest" not in runtime and "playwright" not in runtime and "ruff" not in runtime


def test_the_installed_layout_finds_templates_and_migrations_inside_the_package(wheel, tmp_path):
    """Unpacked as pip installs it, outside any clone: the app renders its page and migrates a database."""
    site = tmp_path / "site"
    wheel.extractall(site)
    work = tmp_path / "work"
    work.mkdir()
    script = (
        "import sys, wxwork_demo, wxwork_demo.paths as p\n"
        "assert wxwork_demo.__file__.startswith(sys.argv[1]), wxwork_demo.__file__\n"
        "assert not p.running_from_clone()\n"
        "from wxwork_demo.schema import upgrade_database\n"
        "from wxwork_demo.config import load_settings\n"
        "url = load_settings().database_url\n"
        "upgrade_database(url)\n"
        "from wxwork_demo import create_app\n"
        "app = create_app({'TESTING': True})\n"
        "page = app.test_client().get('/')\n"
        "assert page.status_code == 200 and b'<html' in page.data, page.status_code\n"
        "print(url)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(site)],
        cwd=work,
        env=clean_env(PYTHONPATH=str(site)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    # No DATABASE_URL: the default SQLite file is in the directory it runs in, not inside site-packages.
    assert result.stdout.strip() == f"sqlite:///{work / 'instance' / 'wxwork.sqlite3'}"
    assert (work / "instance" / "wxwork.sqlite3").exists()


@pytest.mark.parametrize(("configured", "expected"), [("", "instance/secret_key"), ("keys/app.key", "keys/app.key")])
def test_the_installed_app_keeps_its_key_file_where_it_runs_never_in_the_package(wheel, tmp_path, configured, expected):
    """SECRET_KEY_FILE (default instance/secret_key) is taken in the folder an installed copy runs in."""
    site = tmp_path / "site"
    wheel.extractall(site)
    work = tmp_path / "work"
    work.mkdir()
    script = (
        "import sys\n"
        "from wxwork_demo import create_app\n"
        "database = 'sqlite:///' + sys.argv[1] + '/x.sqlite3'\n"
        "app = create_app({'DATABASE_URL': database, 'SECRET_KEY_FILE': sys.argv[2]})\n"
        "from wxwork_demo.config import settings_of\n"
        "print(settings_of(app).secret_key_file)\n"
    )
    env = clean_env(PYTHONPATH=str(site))
    env.pop("SECRET_KEY_FILE", None)
    result = subprocess.run(
        [sys.executable, "-c", script, str(work), configured],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(work / expected)
    assert (work / expected).stat().st_mode & 0o777 == 0o600
    assert not list(site.rglob("secret_key")) and not list(site.rglob("*.key")), "a key file inside the package"


def test_wxwork_lists_the_app_commands_and_run(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "wxwork_demo", "--help"],
        cwd=PROJECT_ROOT,
        env=clean_env(DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    commands = result.stdout.split("Commands:", 1)[1].split()
    for command in ("db", "login", "monitor", "simulator", "run", "serve"):
        assert command in commands
    assert "--app" not in result.stdout


def fake_python(tmp_path: Path, version: str) -> Path:
    """An interpreter that answers the Makefile's two questions as Python `version` would."""
    major, minor = (int(part) for part in version.split(".")[:2])
    path = tmp_path / f"python{major}.{minor}"
    ok = 0 if (major, minor) >= (3, 11) else 1
    path.write_text(f'#!/bin/sh\n[ "$1" = "-V" ] && {{ echo "Python {version}"; exit 0; }}\nexit {ok}\n')
    path.chmod(0o755)
    return path


@pytest.mark.parametrize("target", ["run", "test"])
def test_make_says_in_one_sentence_when_python_is_too_old(tmp_path, target):
    old = fake_python(tmp_path, "3.9.18")
    result = subprocess.run(
        ["make", "--no-print-directory", target, f"PYTHON={old}", f"VENV={tmp_path / 'venv'}"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    first = result.stderr.strip().splitlines()[0]
    assert first == (
        f"wxwork_demo needs Python 3.11 or newer, and '{old}' is Python 3.9.18: choose another with PYTHON=, "
        "e.g. make run PYTHON=python3.12"
    )
    assert not (tmp_path / "venv").exists()  # nothing was created or installed


def test_make_names_a_missing_interpreter(tmp_path):
    result = subprocess.run(
        ["make", "--no-print-directory", "run", "PYTHON=python3.99", f"VENV={tmp_path / 'venv'}"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "'python3.99' is not found: choose one with PYTHON=" in result.stderr


def test_wxwork_reports_a_bad_setting_in_one_line():
    result = subprocess.run(
        [sys.executable, "-m", "wxwork_demo", "db", "current"],
        cwd=PROJECT_ROOT,
        env=clean_env(PORT="eighty"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "configuration error: PORT must be a whole number, got 'eighty'"
