"""Links to send (send-image / send-file by URL) are fetched from this host, so by default they may reach public
addresses only: loopback, private (RFC 1918), link-local (a cloud's metadata service) and the other non-public
addresses are refused with a 400 naming `url`, before any connection and before anything goes upstream, whether
the link names the address or a host that resolves to it; every redirect hop is checked the same way, and the
connection goes to the address checked (a DNS answer that changes in between cannot swap it).
MEDIA_URL_ALLOW_PRIVATE=1 lets a LAN file server through.

The links point at a real server on loopback (tests/e2e/media_host.py) and the app's upstream is the simulator.
Where a test needs a DNS answer no real resolver gives (a name with a public and a private address, an answer
that changes), `socket.getaddrinfo` answers for that one made-up name and passes every other name on.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Iterator

import pytest
import requests

from tests.conftest import make_test_app
from tests.e2e.media_host import MediaHost
from tests.support import add_session, close_app, events_of
from wxwork_demo.config import ConfigError, load_settings
from wxwork_demo.services.business.media_source import IMAGE, check_url
from wxwork_demo.services.business.public_links import NotPublicAddress, guarded_session, is_public

CONTACT_ID = 7881302555913738


@pytest.fixture
def host() -> Iterator[MediaHost]:
    served = MediaHost().start()
    yield served
    served.stop()


@pytest.fixture
def make_app(database_url, simulator) -> Iterator[Callable[..., tuple]]:
    """An app on the simulator with one logged-in instance: (app, its test client, the simulator's URL)."""
    base = simulator.url
    uuid = requests.post(f"{base}/wxwork/init", json={"vid": ""}, timeout=5).json()["data"]["uuid"]
    key = requests.post(f"{base}/wxwork/getQrCode", json={"uuid": uuid}, timeout=5).json()["data"]["Key"]
    scanned = requests.post(f"{base}/_sim/scan", json={"uuid": uuid}, timeout=5).json()
    requests.post(f"{base}/wxwork/CheckCode", json={"uuid": uuid, "qrcodeKey": key, "code": scanned["code"]}, timeout=5)
    made = []

    def make(**settings) -> tuple:
        app = make_test_app(database_url, BASE_URL=base, MEDIA_FETCH_TIMEOUT_S=2, **settings)
        add_session(app, uuid, vid=str(scanned["user_id"]), is_login=True)
        made.append(app)
        return app, app.test_client(), base

    yield make
    for app in made:
        close_app(app)


def upstream_calls(base: str) -> dict:
    return requests.get(f"{base}/_sim/calls", timeout=5).json()["by_action"]


def test_links_to_this_host_or_a_private_network_are_refused_naming_url(make_app, host: MediaHost):
    app, client, base = make_app()
    before = upstream_calls(base)
    port = host.port
    links = [
        host.link("/pic.png"),
        f"http://localhost:{port}/pic.png",
        f"http://[::1]:{port}/pic.png",
        f"http://[::ffff:127.0.0.1]:{port}/pic.png",
        f"http://0.0.0.0:{port}/pic.png",
        f"http://2130706433:{port}/pic.png",  # 127.0.0.1 as one number
        "http://169.254.169.254/latest/meta-data/",
        "http://10.20.30.40/a.png",
        "http://172.16.5.6/a.png",
        "http://192.168.1.20/a.png",
        "http://100.64.0.1/a.png",
        "https://[fd00::1]/a.png",
    ]
    for link in links:
        for path, body in (
            ("/api/send-image", {"url": link}),
            ("/api/send-file", {"url": link, "filename": "a.pdf"}),
        ):
            started = time.monotonic()
            answer = client.post(path, json={"send_userid": CONTACT_ID, "isRoom": False, **body})
            assert answer.status_code == 400, (link, answer.get_json())
            refused = answer.get_json()
            assert refused["ok"] is False and refused["field"] == "url", refused
            assert "not a public address" in refused["message"] and "MEDIA_URL_ALLOW_PRIVATE" in refused["message"]
            assert "nothing was sent" in refused["message"]
            assert time.monotonic() - started < 1.5, link  # refused before connecting, not after a timeout
    assert host.requests == []  # no connection reached the host
    assert upstream_calls(base) == before  # and nothing went upstream
    assert not [e for e in events_of(app) if e.stage.startswith(("upload_", "send_"))]


def test_a_name_with_one_private_address_among_public_ones_is_refused(make_app, monkeypatch):
    _answer_for(monkeypatch, "images.example", lambda: ["93.184.215.14", "10.0.0.7"])
    _app, client, base = make_app()
    before = upstream_calls(base)
    answer = client.post(
        "/api/send-image", json={"send_userid": CONTACT_ID, "isRoom": False, "url": "http://images.example/a.png"}
    )
    assert answer.status_code == 400 and answer.get_json()["field"] == "url", answer.get_json()
    assert "10.0.0.7" in answer.get_json()["message"] and "images.example" in answer.get_json()["message"]
    assert upstream_calls(base) == before


def test_with_media_url_allow_private_a_lan_link_is_sent(make_app, host: MediaHost):
    _app, client, _base = make_app(MEDIA_URL_ALLOW_PRIVATE=True)
    body = {"send_userid": CONTACT_ID, "isRoom": False, "url": host.link("/pic.png")}
    image = client.post("/api/send-image", json=body)
    assert image.status_code == 200, image.get_json()
    assert image.get_json()["raw"]["data"]["msgtype"] == 14
    assert host.requests[0] == "/pic.png"  # the app's check (the simulator fetches it too, as the upstream does)


def test_the_setting_is_off_by_default_and_parsed_strictly():
    assert load_settings({}).media_url_allow_private is False
    assert load_settings({"MEDIA_URL_ALLOW_PRIVATE": "1"}).media_url_allow_private is True
    with pytest.raises(ConfigError, match="MEDIA_URL_ALLOW_PRIVATE"):
        load_settings({"MEDIA_URL_ALLOW_PRIVATE": "lan"})


def test_links_to_one_host_share_a_connection_unless_the_body_is_large(host: MediaHost):
    """A small body is read to its end, so its connection is kept for the next link; a large one is left after
    its first bytes, and its connection with it."""
    for _ in range(3):
        check_url(host.link("/pic.png"), IMAGE, 20 * 1024 * 1024, 5, allow_private=True)
    assert host.connections == 1
    for _ in range(3):
        check_url(host.link("/big.bin"), IMAGE, 20 * 1024 * 1024, 5, allow_private=True)
    # The first went on the kept connection and closed it; each of the others needed a new one.
    assert host.connections == 3 and host.requests == ["/pic.png"] * 3 + ["/big.bin"] * 3


# ----- the guard itself, with 127.0.0.1 standing for a public address and 127.0.0.2 for a private one ------------


def only_first_loopback(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return address == ipaddress.ip_address("127.0.0.1")


@pytest.fixture
def second_host(host: MediaHost) -> Iterator[MediaHost]:
    """A second host on 127.0.0.2, on the same port as `host`."""
    served = MediaHost(address="127.0.0.2", port=host.port).start()
    yield served
    served.stop()


def test_every_redirect_hop_is_checked(host: MediaHost, second_host: MediaHost):
    host.redirects["/elsewhere.png"] = second_host.link("/pic.png")
    host.redirects["/here.png"] = host.link("/pic.png")
    with guarded_session(only_first_loopback) as http:
        assert http.get(host.link("/here.png"), timeout=5).status_code == 200  # an allowed hop is followed
        with pytest.raises(NotPublicAddress) as refused:
            http.get(host.link("/elsewhere.png"), timeout=5)
    assert refused.value.address == ipaddress.ip_address("127.0.0.2")
    assert host.requests == ["/here.png", "/pic.png", "/elsewhere.png"] and second_host.requests == []


def test_the_connection_goes_to_the_address_checked(monkeypatch, host: MediaHost, second_host: MediaHost):
    # A rebinding name: allowed at the first answer, private at every later one.
    answers = iter([["127.0.0.1"]])
    _answer_for(monkeypatch, "rebinding.example", lambda: next(answers, ["127.0.0.2"]))
    with guarded_session(only_first_loopback) as http:
        answer = http.get(f"http://rebinding.example:{host.port}/pic.png", timeout=5)
    assert answer.status_code == 200 and host.requests == ["/pic.png"] and second_host.requests == []


def test_public_means_globally_routable_whatever_the_spelling():
    public = ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "::ffff:93.184.215.14", "64:ff9b::5db8:d70e"]
    private = ["127.0.0.1", "10.1.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255"]
    private += ["::1", "::", "fe80::1", "fd12::1", "::ffff:10.0.0.1", "2002:a00:1::1", "64:ff9b::a00:1", "ff02::1"]
    assert all(is_public(ipaddress.ip_address(a)) for a in public)
    assert not any(is_public(ipaddress.ip_address(a)) for a in private)


def _answer_for(monkeypatch, name: str, addresses: Callable[[], list[str]]) -> None:
    """DNS for one made-up `name`: `addresses()` at each lookup; every other name is resolved as usual."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        if host != name:
            return real(host, port, family, type, proto, flags)
        found = []
        for address in addresses():
            parsed = ipaddress.ip_address(address)
            if parsed.version == 4:
                found.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)))
            else:
                found.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0)))
        return found

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
