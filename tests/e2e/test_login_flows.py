"""Login flows over real HTTP: the console (threaded server) against the simulator, on SQLite and MySQL.

Only the local API and the simulator's control surface are used: what a page, a script or a phone does.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.e2e.live import ConsoleApi, SimulatorControl, first_login, wait_until

pytestmark = pytest.mark.e2e

DEMO_USER_ID = "1688857362464764"


def delivered(sim: SimulatorControl, uuid: str) -> list[int]:
    """Callback types the console accepted (HTTP 2xx) for `uuid`, in delivery order."""
    return [a["type"] for a in sim.callbacks(uuid) if a["ok"]]


def test_first_login_with_a_code_through_start_login(api: ConsoleApi, sim: SimulatorControl, console):
    row = first_login(api, sim)

    uuid = row["uuid"]
    assert row["vid"] == DEMO_USER_ID
    # "check-code" when the CheckCode reply was handled after the 104001 callback (a race; see the report).
    assert row["lastEvent"] in ("login-success", "check-code")
    assert row["qrcode"] == ""  # used up
    assert row["account"]["name"]
    # Every callback reached the console's webhook and was acknowledged.
    wait_until(lambda: delivered(sim, uuid) == [100001, 100004, 100002, 104001], 5, what="four callbacks")
    attempts = sim.callbacks(uuid)
    assert all(a["ok"] and a["status"] == 200 for a in attempts), attempts
    assert {urlsplit(a["url"]).path for a in attempts} == {"/callback/wxwork"}
    assert {urlsplit(a["url"]).netloc for a in attempts} == {urlsplit(console.url).netloc}
    # ...and was stored before it was acknowledged.
    stored = [e["eventType"] for e in api.events(session=uuid, stage="callback")]
    assert sorted(stored) == ["100001", "100002", "100004", "104001"]
    login_event = next(e for e in api.events(session=uuid, stage="callback") if e["eventType"] == "104001")
    assert str(login_event["payload"]["user_id"]) == DEMO_USER_ID

    state = api.state()
    assert state["active"]["uuid"] == uuid and state["active"]["isLogin"] is True
    assert state["baseUrl"] and state["callbackUrl"].endswith("/callback/wxwork")


def test_first_login_step_by_step_and_a_wrong_code_first(api: ConsoleApi, sim: SimulatorControl):
    init = api.ok("/api/init", {})
    uuid = init["uuid"]
    assert init["isLogin"] is False and init["init"]["errcode"] == 0
    assert api.session(uuid)["state"] == "initialised"

    callback = api.ok("/api/set-callback", {"uuid": uuid})
    assert urlsplit(callback["callbackUrl"]).path == "/callback/wxwork"
    registered = next(i for i in sim.instances() if i["uuid"] == uuid)["callback_url"]
    assert urlsplit(registered).path == "/callback/wxwork"

    qr = api.ok("/api/get-qrcode", {})  # no uuid: the active session
    assert qr["uuid"] == uuid and len(qr["qrcodeKey"]) == 32 and qr["qrcode"]
    assert api.session(uuid)["state"] == "waiting_scan"

    scanned = sim.scan(uuid)
    assert scanned["needCode"] is True
    api.wait_session(uuid, "callback 100004", lastEvent="need-code", state="waiting_code")

    wrong = "000000" if scanned["code"] != "000000" else "111111"
    refused = api.post("/api/check-code", {"uuid": uuid, "code": wrong})
    assert refused.status_code == 400, refused.text
    assert refused.json()["ok"] is False and refused.json()["message"]
    malformed = api.post("/api/check-code", {"uuid": uuid, "code": "12ab"})
    assert malformed.status_code == 400 and malformed.json()["ok"] is False

    api.ok("/api/check-code", {"uuid": uuid, "code": scanned["code"]})
    row = api.wait_session(uuid, "callback 104001", isLogin=True, state="online")
    assert row["vid"] == str(scanned["user_id"])


def test_auto_login_with_the_vid_from_104001(api: ConsoleApi, sim: SimulatorControl):
    old = first_login(api, sim)
    vid = old["vid"]
    # The phone ends the session: the account waits for a person (RECONNECT_ON leaves 100005 to a person).
    sim.drop(old["uuid"], 100005)
    api.wait_session(old["uuid"], "callback 100005", isLogin=False, state="needs_person")
    sim.reset_calls()

    init = api.ok("/api/init", {"vid": vid})
    uuid = init["uuid"]
    assert uuid != old["uuid"] and init["isLogin"] is False
    assert init["init"]["data"]["uuid"] == uuid
    api.ok("/api/set-callback", {"uuid": uuid})
    auto = api.ok("/api/automatic-login", {"uuid": uuid})
    assert auto["raw"]["errcode"] == 0

    # automaticLogin's answer already counts as online; the 104001 that follows is stored too.
    api.wait_session(uuid, "automatic login", isLogin=True, state="online", vid=vid)
    wait_until(lambda: api.events(session=uuid, type="104001"), 5, what="the 104001 event")
    # "automatic-login" when its reply was handled after the callback (a race; see the report).
    assert api.session(uuid)["lastEvent"] in ("login-success", "automatic-login")
    # No QR code and no code: the device identity was reused.
    calls = sim.calls()["by_action"]
    assert calls.get("getQrCode", 0) == 0 and calls.get("CheckCode", 0) == 0
    assert calls["init"] == 1 and calls["automaticLogin"] == 1
    # One row per account: the dead instance's row is gone.
    assert [r["uuid"] for r in api.sessions() if r["vid"] == vid] == [uuid]


def test_automatic_login_failure_then_the_qr_fallback(api: ConsoleApi, sim: SimulatorControl):
    old = first_login(api, sim)
    vid = old["vid"]
    sim.drop(old["uuid"], 100007, require_scan=True)  # the account now needs a person to scan
    api.wait_session(old["uuid"], "callback 100007", isLogin=False)

    uuid = api.ok("/api/init", {"vid": vid})["uuid"]
    api.ok("/api/set-callback", {"uuid": uuid})
    failed = api.post("/api/automatic-login", {"uuid": uuid})
    assert failed.status_code == 502, failed.text
    body = failed.json()
    assert body["ok"] is False and "automaticLogin" in body["message"]
    row = api.session(uuid)
    assert row["isLogin"] is False and row["lastEvent"] == "automatic-login-failed" and row["lastError"]
    assert any(e["eventType"].startswith("automaticLogin") for e in api.events(session=uuid))

    # Fallback: a QR code on the same instance; the known device logs in on the scan, without a code.
    qr = api.ok("/api/get-qrcode", {"uuid": uuid})
    assert qr["uuid"] == uuid and qr["qrcodeKey"]
    scanned = sim.scan(uuid)
    assert scanned["needCode"] is False and str(scanned["user_id"]) == vid
    row = api.wait_session(uuid, "callback 104001", isLogin=True, state="online", vid=vid)
    assert row["lastError"] == ""


def test_a_new_qr_login_on_the_same_instance_after_a_drop(api: ConsoleApi, sim: SimulatorControl):
    row = first_login(api, sim)
    uuid, vid = row["uuid"], row["vid"]
    sim.drop(uuid, 100005)  # the phone ended the login; the instance stays, the account waits for a person
    api.wait_session(uuid, "callback 100005", isLogin=False, state="needs_person")

    api.ok("/api/get-qrcode", {"uuid": uuid})  # the console's "new QR code" on the same session
    scanned = sim.scan(uuid)  # the device is known: no code this time

    assert scanned["needCode"] is False
    wait_until(lambda: len(api.events(session=uuid, type="104001")) == 2, 2, what="the second 104001 stored")
    api.wait_session(uuid, "callback 104001", timeout=2, isLogin=True, state="online", vid=vid)


def test_refresh_run_client_reports_the_upstream_login_state(api: ConsoleApi, sim: SimulatorControl):
    row = first_login(api, sim)
    uuid, vid = row["uuid"], row["vid"]

    refreshed = api.ok("/api/refresh-run-client", {"uuid": uuid})
    assert refreshed["request"] == {"uuid": uuid}
    assert refreshed["getRunClientByUuid"]["data"]["loginType"] == 2
    listed = {key: value for entry in refreshed["getRunClient"]["data"] for key, value in entry.items()}
    assert listed[vid]["uuid"] == uuid and listed[vid]["isLogin"] is True
    assert api.session(uuid)["isLogin"] is True

    check = api.get("/api/upstream-check").json()
    assert check["ok"] is True and check["status"] == 200 and check["raw"]["errcode"] == 0

    sim.drop(uuid, 100005)
    api.wait_session(uuid, "callback 100005", isLogin=False)
    refreshed = api.ok("/api/refresh-run-client", {})  # the active session
    assert refreshed["request"] == {"uuid": uuid}
    assert refreshed["getRunClientByUuid"]["data"]["loginType"] == 1
    row = api.session(uuid)
    # 100005 left it to a person (RECONNECT_ON); the refresh confirms it is logged out and changes nothing.
    assert row["isLogin"] is False and row["state"] == "needs_person"


def test_unknown_session_and_bad_input_are_clear_errors(api: ConsoleApi):
    missing = api.post("/api/get-qrcode", {"uuid": "no-such-uuid"})
    assert missing.status_code == 404 and missing.json()["ok"] is False and missing.json()["message"]
    no_session = api.post("/api/automatic-login", {})
    assert no_session.status_code == 400 and no_session.json()["ok"] is False
