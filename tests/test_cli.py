"""The flask commands call the same services as the views."""

import json
import threading
import time

import requests

from tests.conftest import UPSTREAM, make_test_app
from tests.e2e.live import free_port
from tests.support import CALLBACK_PATH, add_session, clean_settings, close_app, envelope, session_row
from wxwork_demo import create_app
from wxwork_demo.database_check import head_revision
from wxwork_demo.models import utcnow
from wxwork_demo.schema import upgrade_database
from wxwork_demo.terminal_qr import render_qr_image
from wxwork_demo.terminal_table import display_width


def url(action):
    return f"{UPSTREAM}/wxwork/{action}"


def qr_png_base64(text="https://example.test/login"):
    import base64
    import io

    import qrcode
    from qrcode.image.pure import PyPNGImage

    buffer = io.BytesIO()
    qrcode.make(text, image_factory=PyPNGImage).save(buffer)
    return base64.b64encode(buffer.getvalue()).decode()


def test_db_commands_create_and_report(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    app = make_test_app(url)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["db", "current"])
    assert result.output.splitlines() == [
        f"database   {url}",
        "migration  none (empty database); run `make db` (or `.venv/bin/wxwork db upgrade`)",
        "tables     missing: account_cursors, app_secrets, callback_keys, console_logins, counters, deliveries, "
        "events, friend_requests, messages, monitor_lease, room_lists, send_pacing, sent_messages, sessions, "
        "signin_attempts",
    ]
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0 and f"migration  {head_revision()} (the current one)" in result.output
    assert runner.invoke(args=["db", "current"]).output.splitlines()[1:] == [
        f"migration  {head_revision()} (the current one)",
        "tables     all present",
    ]
    report = json.loads(runner.invoke(args=["db", "current", "--json"]).output)
    assert report == {
        "database": url,
        "revision": head_revision(),
        "head": head_revision(),
        "upToDate": True,
        "missingTables": [],
    }
    close_app(app)


def test_db_current_says_when_the_tables_are_behind_this_version(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    upgrade_database(url, "0001")
    app = make_test_app(url)
    lines = app.test_cli_runner().invoke(args=["db", "current"]).output.splitlines()
    assert lines[1] == (
        f"migration  0001; this version needs {head_revision()}: run `make db` (or `.venv/bin/wxwork db upgrade`)"
    )
    assert lines[2].startswith("tables     missing: ")
    close_app(app)


def test_db_commands_report_an_unreachable_database_in_one_line(tmp_path):
    port = free_port()
    app = make_test_app(f"mysql+pymysql://root:s3cret-pw@127.0.0.1:{port}/wxwork")
    for args in (["db", "upgrade"], ["db", "current"], ["login", "status"], ["monitor", "status"]):
        result = app.test_cli_runner().invoke(args=args)
        assert result.exit_code == 1, (args, result.output)
        assert result.output.strip().splitlines() == [
            f"Error: database mysql+pymysql://root:***@127.0.0.1:{port}/wxwork: nothing answers at 127.0.0.1:{port}; "
            "start the database server, or correct the host and port (DATABASE_URL or MYSQL_HOST/MYSQL_PORT)"
        ], args
    close_app(app)


def test_terminal_qr_draws_the_modules():
    import base64

    drawing = render_qr_image(base64.b64decode(qr_png_base64()))
    lines = drawing.splitlines()
    assert len(lines) > 10 and len({len(line) for line in lines}) == 1
    assert set("".join(lines)) <= {"█", "▀", "▄", " "}
    assert render_qr_image(b"not a png") is None


def test_terminal_qr_draws_the_upstreams_jpeg_like_the_png():
    # The docs' getQrCode sample carries a JPEG (qrcode_data "/9j/..."); the simulator sends one by default.
    from wxwork_demo.simulator.qr import qr_image

    text = "https://example.test/login"
    assert render_qr_image(qr_image(text, "jpeg")) == render_qr_image(qr_image(text, "png"))
    assert render_qr_image(qr_image(text, "jpeg")) is not None


def test_login_first_draws_the_qr_asks_for_the_code_and_waits(app, runner, upstream):
    upstream.post(url("init"), json=envelope({"uuid": "U1", "is_login": "false"}))
    upstream.post(url("SetCallbackUrl"), json=envelope(None, 0, "设置成功"))
    upstream.post(url("getQrCode"), json=envelope({"qrcode_data": qr_png_base64(), "Key": "K1", "Ttl": 600}))
    upstream.post(url("GetRunClientByUuid"), json=envelope({"loginType": 1}))
    upstream.post(url("CheckCode"), json={"data": None, "errcode": 0, "errorcode": 0, "errmsg": "ok"})
    client = app.test_client()

    def phone():
        # The upstream's callbacks, as they would arrive at the console while the command waits: the scan
        # once the QR code is shown, the login once the code was checked. Bounded, so a failed command
        # cannot leave the thread waiting.
        deadline = time.monotonic() + 20

        def wait_for(condition):
            while not condition() and time.monotonic() < deadline:
                time.sleep(0.05)

        wait_for(lambda: getattr(session_row(app, "U1"), "state", None) == "waiting_scan")
        client.post(CALLBACK_PATH, json={"uuid": "U1", "type": 100004, "json": json.dumps({"Qrcode_key": "K1"})})
        wait_for(lambda: any(c.request.url.endswith("CheckCode") for c in upstream.calls))
        client.post(CALLBACK_PATH, json={"uuid": "U1", "type": 104001, "json": json.dumps({"user_id": 1688})})

    thread = threading.Thread(target=phone)
    thread.start()
    result = runner.invoke(args=["login", "first", "--timeout", "20"], input="123456\n")
    thread.join()
    assert result.exit_code == 0, result.output
    assert "█" in result.output and "6-digit code" in result.output
    assert "logged in: uuid=U1 vid=1688" in result.output
    check = next(c for c in upstream.calls if c.request.url.endswith("CheckCode"))
    assert json.loads(check.request.body) == {"uuid": "U1", "qrcodeKey": "K1", "code": "123456"}


def test_login_auto_and_its_failure_message(app, runner, upstream):
    upstream.post(url("init"), json=envelope({"uuid": "U2", "is_login": "false"}))
    upstream.post(url("SetCallbackUrl"), json=envelope(None, 0, "设置成功"))
    upstream.post(url("automaticLogin"), json=envelope(None, 0, "登陆成功"))
    result = runner.invoke(args=["login", "auto", "--vid", "1688"])
    assert result.exit_code == 0 and "logged in automatically: uuid=U2" in result.output
    assert json.loads(upstream.calls[0].request.body)["vid"] == 1688


def test_login_first_reports_an_unreachable_upstream(app, runner, upstream):
    import requests

    upstream.post(url("init"), body=requests.ConnectionError("refused"))
    result = runner.invoke(args=["login", "first", "--timeout", "1"])
    assert result.exit_code != 0 and "unreachable" in result.output


def test_monitor_check_and_status(app, runner, upstream):
    add_session(app, "U1", vid="1688", is_login=True, state="online", callback_registered_at=utcnow())
    upstream.post(url("GetRunClientByUuid"), json=envelope({"loginType": 2}))
    result = runner.invoke(args=["monitor", "check"])
    assert json.loads(result.output) == {"checked": 1, "offline": 0, "unknown": 0, "overdue": 0, "actions": 0}
    status = json.loads(runner.invoke(args=["monitor", "status", "--json"]).output)
    assert status["monitor"]["enabled"] is False
    assert [(a["uuid"], a["state"]) for a in status["accounts"]] == [("U1", "online")]
    lines = runner.invoke(args=["monitor", "status"]).output.splitlines()
    assert lines[:2] == ["monitor         off", "owner           none"]
    assert lines[5].split() == ["UUID", "VID", "ACCOUNT", "STATE", "UPDATED", "(UTC)"]
    assert lines[6].split()[:4] == ["*", "U1", "1688", "-"]


def test_login_status_is_a_short_table_of_accounts_and_json_on_request(app, runner, upstream):
    add_session(app, "U1", vid="1688", is_login=True, state="online", account_name="张三", corp_name="示例公司")
    add_session(app, "U2", state="waiting_scan")  # the newest: the active one
    upstream.post(url("GetRunClient"), json=envelope({"clients": []}))
    upstream.post(url("GetRunClientByUuid"), json=envelope({"loginType": 2, "user_info": {"mobile": "13800138000"}}))
    result = runner.invoke(args=["login", "status"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 5 and "13800138000" not in result.output
    assert lines[0].split() == ["UUID", "VID", "ACCOUNT", "STATE", "UPDATED", "(UTC)"]
    assert lines[1].split()[:4] == ["*", "U2", "-", "-"]
    assert lines[2].split()[:5] == ["U1", "1688", "张三", "·", "示例公司"]
    # Columns line up on the screen: the Chinese name takes two cells a character.
    state_column = lines[0].index("STATE")
    assert display_width(lines[2][: lines[2].index("online")]) == state_column
    assert lines[4] == "refreshed U2 from the upstream: logged in"
    data = json.loads(runner.invoke(args=["login", "status", "--json"]).output)
    assert data["refreshed"] == {"uuid": "U2", "isLogin": True}
    assert [a["uuid"] for a in data["accounts"]] == ["U2", "U1"] and "qrcode" not in data["accounts"][0]


def test_login_status_without_accounts_says_how_to_get_one(app, runner):
    result = runner.invoke(args=["login", "status"])
    assert result.exit_code == 0
    assert result.output.strip() == (
        "no accounts yet: log one in at the console (`make run`) or with `wxwork login first`"
    )
    assert json.loads(runner.invoke(args=["login", "status", "--json"]).output) == {"refreshed": None, "accounts": []}


def test_without_base_url_the_cli_uses_the_bundled_simulator_like_wxwork_run(database_url, simulator):
    """Issue 17 point 2: one rule for every entry point. The CLI used the old demo's public upstream when
    BASE_URL was unset while `wxwork run` used the bundled simulator; both now use 127.0.0.1:SIMULATOR_PORT."""
    port = simulator.url.rsplit(":", 1)[1]
    app = create_app(clean_settings(DATABASE_URL=database_url, SIMULATOR_PORT=port, MONITOR_AUTOSTART="false"))
    try:
        result = app.test_cli_runner().invoke(args=["login", "first", "--timeout", "1"])
        assert f"upstream: http://127.0.0.1:{port} (BASE_URL not set: the bundled simulator" in result.output
        calls = requests.get(f"{simulator.url}/_sim/calls", timeout=5).json()
        assert calls["by_action"]["init"] == 1 and calls["by_action"]["getQrCode"] == 1, calls["by_action"]
    finally:
        close_app(app)
