"""Stalled and slow clients cannot starve the service (issue 11, point 9b), against a real gunicorn.

The finding: 36 stalled request bodies made /api/health and callbacks time out (one stalled connection held for
more than 125 s), and 48 token-less stalls made 3 of 10 genuine callbacks time out. Here each kind of stall
alone is more connections than the server has threads: a request line with half its headers, a body that stops
after its first bytes (an API call, and a callback without its token). Every stalled connection must be closed
by the server in bounded time, and genuine callbacks and /api/health answered meanwhile:

- under gevent (a greenlet per connection) at once, whatever the stalls;
- under gthread (a thread per connection being read) the stalls that hold a thread are cut after CLIENT_TIMEOUT,
  so an answer waits at most that many rounds of it; a callback without its token holds nothing (refused
  before its body is read). Thread-per-connection cannot do better: that is what gevent is for.
"""

from __future__ import annotations

import json
import shutil
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

pytestmark = pytest.mark.e2e

CLIENT_TIMEOUT_S = 2.0
THREADS = 4
STALLS_PER_KIND = THREADS + 2
# gevent closes a connection whose headers stall after its keep-alive timeout (gunicorn's default 5 s at most).
HEADERS_BOUND_S = 5.0
TOKEN = "slow-clients-callback-token-0123456789"
# How much later than CLIENT_TIMEOUT an answer or a close may come on a busy 2-core machine.
MARGIN_S = 2.0

STALLS = {
    "half the headers": b"POST /callback/wxwork HTTP/1.1\r\nHost: console\r\nContent-Type: appl",
    "an API body that stops": (
        b"POST /api/send-text HTTP/1.1\r\nHost: console\r\nContent-Type: application/json\r\n"
        b'Content-Length: 400\r\n\r\n{"uuid": "'
    ),
    "a token-less callback body that stops": (
        b"POST /callback/wxwork HTTP/1.1\r\nHost: console\r\nContent-Type: application/json\r\n"
        b'Content-Length: 400\r\n\r\n{"uuid": "'
    ),
}


@pytest.fixture
def db_url(sqlite_template: str, tmp_path) -> str:
    """SQLite only: the database plays no part in how connections are served."""
    path = tmp_path / "console.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def open_stall(port: int, opening: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(opening)
    return sock


def seconds_until_closed(sock: socket.socket, limit: float) -> float | None:
    """Read until the server closes the connection (whatever it answers first); None if it is still open."""
    started = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - started < limit:
        try:
            if sock.recv(65536) == b"":
                return time.monotonic() - started
        except TimeoutError:
            continue
        except OSError:  # reset: closed as well
            return time.monotonic() - started
    return None


def genuine_callback(url: str, msg_id: int) -> float:
    payload = {"msg_id": msg_id, "server_id": 5_000_000 + msg_id, "content": f"genuine {msg_id}", "sender": 7}
    body = {"uuid": "U-SLOW", "type": 102000, "json": json.dumps(payload)}
    started = time.monotonic()
    response = requests.post(f"{url}/callback/wxwork?token={TOKEN}", json=body, timeout=30)
    assert response.status_code == 200 and response.json()["errcode"] == 0, response.text[:300]
    return time.monotonic() - started


def health(url: str) -> float:
    started = time.monotonic()
    assert requests.get(f"{url}/api/health", timeout=30).status_code == 200
    return time.monotonic() - started


@pytest.mark.parametrize("worker_class", ["gevent", "gthread"])
def test_stalled_clients_are_closed_and_starve_no_one(start_gunicorn, worker_class):
    console = start_gunicorn(
        GUNICORN_WORKER_CLASS=worker_class,
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS=str(THREADS),
        CLIENT_TIMEOUT=str(CLIENT_TIMEOUT_S),
        CALLBACK_TOKEN=TOKEN,
        MONITOR_AUTOSTART="false",
    )
    port = int(console.url.rsplit(":", 1)[1])
    stalls = {kind: [open_stall(port, opening) for _ in range(STALLS_PER_KIND)] for kind, opening in STALLS.items()}
    opened_at = time.monotonic()
    try:
        time.sleep(0.3)  # every stall has reached the server
        with ThreadPoolExecutor(max_workers=20) as pool:
            callbacks = list(pool.map(lambda n: genuine_callback(console.url, n), range(1, 11)))
            healths = list(pool.map(lambda _: health(console.url), range(10)))
        bound = max(CLIENT_TIMEOUT_S, HEADERS_BOUND_S) * len(stalls) * STALLS_PER_KIND / THREADS + MARGIN_S
        closed = {
            kind: [seconds_until_closed(sock, bound - (time.monotonic() - opened_at)) for sock in socks]
            for kind, socks in stalls.items()
        }
    finally:
        for socks in stalls.values():
            for sock in socks:
                sock.close()
    print(
        f"\n{worker_class}: {len(STALLS) * STALLS_PER_KIND} stalled connections, {THREADS} threads, CLIENT_TIMEOUT "
        f"{CLIENT_TIMEOUT_S} s: 10 callbacks slowest {max(callbacks):.2f} s, 10 health slowest {max(healths):.2f} s; "
        f"every stall closed {time.monotonic() - opened_at:.1f} s after opening"
    )
    for kind, times in closed.items():
        assert None not in times, f"{kind}: {times.count(None)} connections still open"
    # Under gthread the stalls that hold a thread (headers, an API body) are cut in rounds of CLIENT_TIMEOUT.
    # (One round more: genuine requests queue with the stalls for the threads.)
    rounds = 0 if worker_class == "gevent" else -(-2 * STALLS_PER_KIND // THREADS) + 1
    slowest = CLIENT_TIMEOUT_S * rounds + MARGIN_S
    assert max(callbacks) < slowest, callbacks
    assert max(healths) < slowest, healths
