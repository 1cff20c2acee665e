"""Forwarding across process deaths: `flask forward run` killed mid-delivery, a second worker beside it.

Real processes (the delivery worker as `flask forward run`), a real receiver verifying every signature,
SQLite and MariaDB. A killed worker's claims fall due again when their lease runs out, so every message
arrives (at least once), and no delivery is ever in flight twice at the same moment.
"""

from __future__ import annotations

import signal
import sys

import requests

from tests.e2e.live import clean_env, wait_until
from tests.e2e.receiver import Receiver
from tests.e2e.test_forwarding import ACCOUNT, SECRET, post_messages
from tests.support import add_session

FORWARD = [sys.executable, "-m", "flask", "--app", "wsgi", "forward", "run"]


def forward_env(db_url: str, receiver: Receiver, **extra) -> dict:
    return clean_env(
        DATABASE_URL=db_url,
        FORWARD_URL=receiver.url,
        FORWARD_SECRET=SECRET,
        FORWARD_TIMEOUT_S="1",
        FORWARD_CONCURRENCY="2",
        FORWARD_BACKOFF_S="0.1",
        FORWARD_BACKOFF_MAX_S="0.5",
        MONITOR_AUTOSTART="false",
        **extra,
    )


def test_a_worker_killed_mid_delivery_loses_nothing(db_url, make_console, spawn):
    receiver = Receiver(SECRET, delay_s=0.2).start()
    try:
        # The console stores messages and their outbox rows; it delivers nothing itself (no monitor owner).
        console = make_console(
            CALLBACK_TOKEN="test-callback-token-0123456789", FORWARD_URL=receiver.url, FORWARD_SECRET=SECRET
        )
        add_session(console.app, "U1", vid=ACCOUNT, is_login=True, state="online")
        post_messages(console, range(1, 41))
        first = spawn("forward", FORWARD, forward_env(db_url, receiver))
        wait_until(lambda: len(receiver.deliveries()) >= 4, timeout=30, what="the first deliveries")
        first.stop(signal.SIGKILL)
        # A second worker beside a third: claims never overlap, and the killed one's claims come back.
        spawn("forward", FORWARD, forward_env(db_url, receiver))
        spawn("forward", FORWARD, forward_env(db_url, receiver))
        wait_until(
            lambda: (
                {item.body["message"]["serverId"] for item in receiver.deliveries()} >= {str(n) for n in range(1, 41)}
            ),
            timeout=60,
            what="every message delivered",
        )
        assert receiver.overlaps == []
        assert all(item.verified for item in receiver.deliveries())
        counts = requests.get(console.url + "/api/deliveries", timeout=10).json()["counts"]
        wait_until(
            lambda: requests.get(console.url + "/api/deliveries", timeout=10).json()["counts"]["delivered"] == 40,
            timeout=30,
            what="40 delivered",
        )
        assert counts["dead"] == 0
    finally:
        receiver.stop()
