"""The flask commands call the same services as the views."""

import json
import threading
import time

from tests.conftest import UPSTREAM, make_test_app
from tests.support import CALLBACK_PATH, add_session, envelope, session_row
from wxwork_demo.models import utcnow
from wxwork_demo.terminal_qr import render_qr_image


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
    app = make_test_app(f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["db", "current"])
    missing = (
        "account_cursors, app_secrets, callback_keys, counters, deliveries, events, messages, monitor_lease, sessions"
    )
    assert f"missing tables: {missing}" in result.output
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0 and "database at revision" in result.output
    assert "missing tables" not in runner.invoke(args=["db", "current"]).output


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
    assert json.loads(result.output) == {"checked": 1, "offline": 0, "unknown": 0, "actions": 0}
    status_lines = runner.invoke(args=["monitor", "status"]).output.splitlines()
    assert json.loads(status_lines[0])["enabled"] is False
    assert json.loads(status_lines[1])["uuid"] == "U1" and json.loads(status_lines[1])["state"] == "online"
