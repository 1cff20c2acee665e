"""The messages panel in a real browser: conversations, a live thread, a reply, the deliveries view.

Same setup as tests/test_browser.py (headless Chromium, the console and the simulator on real sockets),
with forwarding to a real receiver. Message text is shown as text only: a hostile message stays inert.
"""

from __future__ import annotations

import pytest

from tests.e2e.receiver import Receiver
from tests.test_browser import HOSTILE, browser, console, first_login, page, problems  # noqa: F401

pytestmark = pytest.mark.browser

SECRET = "forward-secret-for-the-browser-01"


@pytest.fixture
def receiver():
    """One per test: the console runs once per database, and each run counts its own deliveries."""
    started = Receiver(SECRET).start()
    yield started
    started.stop()


@pytest.fixture
def console_config(receiver) -> dict:
    return {"FORWARD_URL": receiver.url, "FORWARD_SECRET": SECRET, "MONITOR_AUTOSTART": False}


def test_conversations_live_thread_reply_and_deliveries(page, console, receiver):  # noqa: F811
    from playwright.sync_api import expect

    page.goto(console.url + "/")
    uuid, _vid = first_login(page, console)
    sender = 7881302555913738
    console.sim("message", uuid=uuid, content="第一条", sender=sender)
    console.sim("message", uuid=uuid, content=HOSTILE, sender=sender)

    conversation = page.locator(f'#conversation-list [data-conversation="{sender}"]')
    expect(conversation).to_be_visible()
    expect(conversation.locator(".conversation-count")).to_have_text("2")
    conversation.click()
    thread = page.locator("#thread-list .bubble-text")
    expect(thread).to_have_count(2)
    expect(thread.nth(0)).to_have_text("第一条")
    expect(thread.nth(1)).to_have_text(HOSTILE)
    assert page.locator("#messages-card script, #messages-card img, #messages-card b").count() == 0
    assert page.evaluate("window.__pwned") is None

    # A new message appears in the open thread without a reload.
    console.sim("message", uuid=uuid, content="第三条", sender=sender)
    expect(thread).to_have_count(3)
    expect(thread.nth(2)).to_have_text("第三条")

    # The reply box sends through send-text to the open conversation.
    page.locator("#reply-content").fill("收到，谢谢")
    page.get_by_role("button", name="回复").click()
    expect(page.locator("#reply-result")).to_have_text("已发送")
    sent = [m for m in console.sent() if m.get("content") == "收到，谢谢"]
    assert len(sent) == 1 and str(sent[0].get("send_userid") or sent[0].get("receiver")) == str(sender)

    # Deliveries: the console's scheduler delivers the three messages (the forwarder's lease is not the
    # monitor's, which is off here); nothing failed, so nothing to replay; a test delivery goes now.
    expect(page.locator("#deliveries-delivered")).to_have_text("3", timeout=15000)
    expect(page.locator("#deliveries-pending")).to_have_text("0")
    expect(page.locator("#target-list .target")).to_have_count(1)
    expect(page.locator("#deliveries-replay")).to_be_disabled()
    page.get_by_role("button", name="发送测试投递").click()
    expect(page.locator("#deliveries-result")).to_contain_text("HTTP 200")
    kinds = sorted(item.body["type"] for item in receiver.deliveries())
    assert kinds == [0, 102000, 102000, 102000], kinds
    assert all(item.verified for item in receiver.deliveries())


def test_received_media_shows_as_a_thumbnail_with_a_download_link(page, console, tmp_path):  # noqa: F811
    import base64

    from playwright.sync_api import expect

    from tests.e2e.media_host import png_bytes

    page.goto(console.url + "/")
    uuid, _vid = first_login(page, console)
    sender = 7881302555913738
    picture = png_bytes(90, 60, (30, 160, 90))
    console.sim("media", uuid=uuid, msgtype=14, sender=sender, content_base64=base64.b64encode(picture).decode())
    console.sim("media", uuid=uuid, msgtype=15, sender=sender, file_name="报价单.pdf")

    conversation = page.locator(f'#conversation-list [data-conversation="{sender}"]')
    expect(conversation).to_be_visible()
    conversation.click()
    thumb = page.locator("#thread-list img.bubble-thumb")
    expect(thumb).to_have_count(1)
    # Loaded: the image (fetched once by the console through DownloadFile) is the one that was received.
    expect(thumb).to_have_js_property("complete", True)
    assert thumb.evaluate("(img) => img.naturalWidth") == 90
    links = page.locator("#thread-list a.bubble-download")
    expect(links).to_have_count(2)
    assert links.nth(1).get_attribute("download") == "报价单.pdf"
    with page.expect_download() as downloading:
        links.nth(1).click()
    saved = tmp_path / "saved.pdf"
    downloading.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")
