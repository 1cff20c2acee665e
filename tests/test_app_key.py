"""Issue 11.3: the key that seals proxy passwords and signs console cookies is kept out of the database.

Without SECRET_KEY it lives in a key file under the instance folder (0600), created atomically by whichever
process comes first; a dump of the database opens neither cookies nor proxies; databases that kept the old
generated keys are migrated (proxies sealed again under the app key, the stored keys deleted).
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from flask import Flask
from sqlalchemy import create_engine, text

from tests.conftest import UPSTREAM, make_test_app
from tests.support import close_app, envelope, session_row
from wxwork_demo.config import PROJECT_ROOT, ConfigError
from wxwork_demo.schema import upgrade_database

PASSWORD = "console-password-for-the-dump-test"
PROXY = {"ip": "10.9.8.7", "port": 1080, "proxyType": 2, "userName": "proxy-user", "passward": "pr0xy-p4ss"}


def vault(secret: str) -> Fernet:
    """How the app derives the proxy vault's key (services/instances/proxy_vault.py): known to an attacker."""
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(f"wxwork-proxy-vault:{secret}".encode()).digest()))


def forged_cookie(app: Flask, secret: str, login: str) -> str:
    """A console session cookie for the sign-in `login`, signed with `secret` the way Flask signs the app's own."""
    forger = Flask("forger")
    forger.secret_key = secret
    return app.session_interface.get_signing_serializer(forger).dumps({"user": "console", "csrf": "x", "login": login})


def log_in(client) -> None:
    client.get("/login")
    with client.session_transaction() as cookie_session:
        csrf = cookie_session["csrf"]
    response = client.post("/login", data={"password": PASSWORD, "csrf": csrf, "next": "/"})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]


def test_a_database_dump_opens_neither_console_cookies_nor_proxies(database_url, upstream, tmp_path):
    key_file = tmp_path / "instance" / "secret_key"
    app = make_test_app(database_url, CONSOLE_PASSWORD=PASSWORD, SECRET_KEY="", SECRET_KEY_FILE=str(key_file))
    try:
        client = app.test_client()
        log_in(client)  # the console signs a cookie ...
        upstream.post(f"{UPSTREAM}/wxwork/init", json=envelope({"uuid": "U1", "is_login": "false"}))
        with client.session_transaction() as cookie_session:
            csrf = cookie_session["csrf"]
        response = client.post("/api/init", json={"vid": 42, **PROXY}, headers={"X-CSRF-Token": csrf})
        assert response.status_code == 200, response.get_data(as_text=True)  # ... and seals a proxy
        sealed = session_row(app, "U1").proxy_sealed
        assert sealed

        # The dump: every value in every secrets row.
        engine = create_engine(database_url)
        with engine.connect() as connection:
            dump = [value for (value,) in connection.execute(text("SELECT value FROM app_secrets"))]
            # The dump holds the sign-ins too: the forgeries below carry a live one.
            login = connection.execute(text("SELECT nonce FROM console_logins")).scalar_one()
        engine.dispose()
        cookie_name = app.config["SESSION_COOKIE_NAME"]
        for value in dump:
            with pytest.raises(InvalidToken):
                vault(value).decrypt(sealed.encode())
            attacker = app.test_client()
            attacker.set_cookie(cookie_name, forged_cookie(app, value, login))
            assert attacker.get("/api/state").status_code == 401

        # The same forgery with the key file's key works: the checks above are not vacuous.
        key = key_file.read_text().strip()
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and key not in dump
        assert vault(key).decrypt(sealed.encode())
        insider = app.test_client()
        insider.set_cookie(cookie_name, forged_cookie(app, key, login))
        assert insider.get("/api/state").status_code == 200
    finally:
        close_app(app)


def test_every_process_gets_the_one_key_whichever_starts_first(tmp_path):
    """Six processes, imports done, are let go at the same moment on an empty instance folder: one key
    file, 0600, the same key in all of them, and no draft left behind."""
    key_file = tmp_path / "instance" / "secret_key"
    script = (
        "import sys; from pathlib import Path\n"
        "from wxwork_demo.services.secrets import read_or_create_key_file\n"
        "print('ready', flush=True); sys.stdin.readline()\n"
        "print(read_or_create_key_file(Path(sys.argv[1])))\n"
    )
    argv = [sys.executable, "-c", script, str(key_file)]
    processes = [
        subprocess.Popen(argv, cwd=PROJECT_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    try:
        assert all(process.stdout.readline().strip() == "ready" for process in processes)
        for process in processes:
            process.stdin.write("go\n")
            process.stdin.flush()
        keys = {process.communicate(timeout=60)[0].strip() for process in processes}
    finally:
        for process in processes:
            process.kill()
    assert all(process.returncode == 0 for process in processes)
    assert keys == {key_file.read_text().strip()} and len(keys.pop()) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [path.name for path in key_file.parent.iterdir()] == ["secret_key"]


def test_the_key_file_is_made_once_and_secret_key_takes_precedence(database_url, tmp_path):
    key_file = tmp_path / "instance" / "secret_key"
    first = make_test_app(database_url, SECRET_KEY="", SECRET_KEY_FILE=str(key_file))
    second = make_test_app(database_url, SECRET_KEY="", SECRET_KEY_FILE=str(key_file))
    assert first.secret_key == second.secret_key == key_file.read_text().strip()
    configured = make_test_app(database_url, SECRET_KEY="k" * 40, SECRET_KEY_FILE=str(tmp_path / "unused"))
    assert configured.secret_key == "k" * 40 and not (tmp_path / "unused").exists()
    for app in (first, second, configured):
        close_app(app)


@pytest.mark.parametrize(
    ("mode", "content", "message"), [(0o644, "x" * 43, "chmod 600"), (0o600, "short", "no usable")]
)
def test_a_key_file_others_can_read_or_without_a_key_stops_the_start(database_url, tmp_path, mode, content, message):
    key_file = tmp_path / "secret_key"
    key_file.write_text(content)
    os.chmod(key_file, mode)
    with pytest.raises(ConfigError, match=message) as refused:
        make_test_app(database_url, SECRET_KEY="", SECRET_KEY_FILE=str(key_file))
    assert str(key_file) in str(refused.value)


def test_stored_keys_are_migrated_out_of_the_database(database_url):
    """A database at 0006 (before the keys moved out) with the generated keys in `app_secrets` and proxies
    sealed under each of them: after the upgrade every proxy opens with the app key, and only the callback
    token is left."""
    upgrade_database(database_url, "head")
    from wxwork_demo.schema import downgrade_database

    downgrade_database(database_url, "0006")
    app_key = "the-app-key-from-the-key-file-0123456789"
    engine = create_engine(database_url)
    with engine.begin() as connection:
        for name, value in (
            ("proxy_key", "old-proxy-key"),
            ("session_key", "old-session-key"),
            ("callback_token", "t"),
        ):
            connection.execute(text("INSERT INTO app_secrets (name, value) VALUES (:n, :v)"), {"n": name, "v": value})
        sealed = {
            "A": vault("old-proxy-key").encrypt(b'{"ip": "1.1.1.1"}').decode(),  # sealed by a fresh worker
            "B": vault("old-session-key").encrypt(b'{"ip": "2.2.2.2"}').decode(),  # by one that had signed a cookie
            "C": vault(app_key).encrypt(b'{"ip": "3.3.3.3"}').decode(),  # under SECRET_KEY already
            "D": vault("lost-key").encrypt(b'{"ip": "4.4.4.4"}').decode(),  # nobody can open: left as it is
        }
        for uuid, token in sealed.items():
            connection.execute(
                text("INSERT INTO sessions (uuid, updated_at, proxy_sealed) VALUES (:u, CURRENT_TIMESTAMP, :p)"),
                {"u": uuid, "p": token},
            )
    upgrade_database(database_url, "head", app_key=app_key)
    with engine.connect() as connection:
        rows = dict(connection.execute(text("SELECT uuid, proxy_sealed FROM sessions")).all())
        names = [name for (name,) in connection.execute(text("SELECT name FROM app_secrets"))]
    engine.dispose()
    assert names == ["callback_token"]
    opened = {uuid: vault(app_key).decrypt(rows[uuid].encode()) for uuid in "ABC"}
    assert opened == {"A": b'{"ip": "1.1.1.1"}', "B": b'{"ip": "2.2.2.2"}', "C": b'{"ip": "3.3.3.3"}'}
    assert rows["C"] == sealed["C"] and rows["D"] == sealed["D"]


def test_no_key_is_written_into_the_checkout_by_the_tests():
    assert os.environ["SECRET_KEY_FILE"] != str(PROJECT_ROOT / "instance" / "secret_key")
    assert Path(os.environ["SECRET_KEY_FILE"]).is_absolute()
