"""Forwarding settings: refused at start (naming the variable) when they cannot work; the CLI commands."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from tests.conftest import make_test_app
from tests.e2e.live import PROJECT_ROOT, clean_env
from tests.e2e.receiver import Receiver
from tests.support import CALLBACK_PATH, add_session, close_app
from wxwork_demo.config import ConfigError, load_settings

SECRET = "forward-secret-for-the-cli-0123"


@pytest.mark.parametrize(
    ("settings", "variable"),
    [
        ({"FORWARD_URL": "http://127.0.0.1:9/hook"}, "FORWARD_SECRET"),
        ({"FORWARD_URL": "http://127.0.0.1:9/hook", "FORWARD_SECRET": "  "}, "FORWARD_SECRET"),
        ({"FORWARD_URL": "ftp://example.com/hook", "FORWARD_SECRET": SECRET}, "FORWARD_URL"),
        ({"FORWARD_URL": "http://ok.example/a, /relative", "FORWARD_SECRET": SECRET}, "FORWARD_URL"),
        (
            {"FORWARD_URL": "http://ok.example/a", "FORWARD_SECRET": SECRET, "FORWARD_TYPES": "messages"},
            "FORWARD_TYPES",
        ),
        ({"FORWARD_TIMEOUT_S": "0"}, "FORWARD_TIMEOUT_S"),
        ({"FORWARD_MAX_ATTEMPTS": "0"}, "FORWARD_MAX_ATTEMPTS"),
        ({"MESSAGE_RETENTION_DAYS": "x"}, "MESSAGE_RETENTION_DAYS"),
    ],
)
def test_settings_that_cannot_work_stop_the_app_naming_the_variable(settings, variable):
    with pytest.raises(ConfigError, match=variable):
        load_settings(settings)


def test_create_app_refuses_a_forward_url_without_its_secret(sqlite_template):
    with pytest.raises(ConfigError, match="FORWARD_SECRET"):
        make_test_app(f"sqlite:///{sqlite_template}", FORWARD_URL="http://127.0.0.1:9/hook")


def test_importing_wsgi_fails_naming_the_variable(tmp_path):
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}", FORWARD_URL="https://hooks.example/in")
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0 and "FORWARD_SECRET" in result.stderr


def test_settings_are_parsed():
    settings = load_settings(
        {
            "FORWARD_URL": "http://a.example/in, https://b.example/in ,http://a.example/in",
            "FORWARD_SECRET": SECRET,
            "FORWARD_TYPES": "102000,116001",
        }
    )
    assert settings.forward_url == ("http://a.example/in", "https://b.example/in")
    assert settings.forward_types == frozenset({102000, 116001})
    assert load_settings({"FORWARD_TYPES": "*"}).forward_types is None
    defaults = load_settings({})
    assert defaults.forward_url == () and defaults.forward_timeout_s == 5.0
    assert defaults.forward_max_attempts == 12 and defaults.message_retention_days == 30


def test_flask_forward_test_and_messages_tail(sqlite_template, tmp_path):
    receiver = Receiver(SECRET).start()
    path = tmp_path / "cli.sqlite3"
    shutil.copy(sqlite_template, path)
    app = make_test_app(f"sqlite:///{path}", FORWARD_URL=receiver.url, FORWARD_SECRET=SECRET)
    try:
        runner = app.test_cli_runner()
        result = runner.invoke(args=["forward", "test"])
        assert result.exit_code == 0, result.output
        assert "HTTP 200" in result.output and receiver.deliveries()[0].verified
        add_session(app, "U1", vid="1688853790599424", is_login=True, state="online")
        client = app.test_client()
        for n, text in enumerate(["first line\nsecond", "你好"], start=1):
            payload = {"msgtype": 2, "content": text, "sender": 7881302555913738, "msg_id": n, "server_id": n}
            client.post(CALLBACK_PATH, json={"uuid": "U1", "type": 102000, "json": json.dumps(payload)})
        result = runner.invoke(args=["messages", "tail", "--once"])
        assert result.exit_code == 0, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 2
        assert lines[0].endswith("7881302555913738  7881302555913738  first line second")
        assert lines[1].endswith("你好")
    finally:
        close_app(app)
        receiver.stop()


def test_flask_forward_test_without_targets_fails(sqlite_template):
    app = make_test_app(f"sqlite:///{sqlite_template}")
    try:
        result = app.test_cli_runner().invoke(args=["forward", "test"])
        assert result.exit_code != 0 and "FORWARD_URL" in result.output
    finally:
        close_app(app)


def test_the_readme_receiver_verifies_a_delivery():
    """The ten-line receiver of the README, run as written, accepts a signed delivery and refuses a forged one."""
    from wxwork_demo.services.forwarding.signing import encode_body, signed_headers

    readme = (PROJECT_ROOT / "README.md").read_text()
    code = readme.split("A receiver that checks the signature (Flask):\n\n```python\n", 1)[1].split("```", 1)[0]
    assert len([line for line in code.splitlines() if line.strip()]) == 10
    namespace: dict = {"__name__": "readme_receiver"}
    readme_code = compile(code.replace('b"the FORWARD_SECRET"', repr(SECRET.encode())), "README", "exec")
    exec(readme_code, namespace)  # noqa: S102 (the README's own receiver, run to prove it verifies)
    client = namespace["app"].test_client()
    body = encode_body({"id": 1, "type": 102000, "message": {"content": "hi"}})
    headers = signed_headers(SECRET, "7", body)
    answer = client.post("/wxwork-hook", data=body, headers=headers)
    assert answer.status_code == 200 and answer.get_json() == {"content": "hi"}
    forged = {**headers, "X-Wxwork-Signature": signed_headers("wrong-secret", "7", body)["X-Wxwork-Signature"]}
    assert client.post("/wxwork-hook", data=body, headers=forged).status_code == 401
