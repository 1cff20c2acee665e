"""Forwarding through a MariaDB restart: a private mariadbd killed and started again under a running
console that stores messages and delivers them, while callbacks keep coming. Every message acknowledged
(200) reaches the receiver, with a valid signature; none is lost to the outage.
"""

from __future__ import annotations

import time

import requests
from sqlalchemy import create_engine

from tests.e2e.live import wait_until
from tests.e2e.receiver import Receiver
from tests.support import ThreadedConsole
from tests.test_database_faults import CALLBACK_TOKEN, CallbackSender, _logged_in_session, mariadb  # noqa: F401
from wxwork_demo.services.forwarding.worker import start_worker

SECRET = "forward-secret-for-the-db-test-01"


def test_a_database_restart_loses_no_delivery(mariadb, simulator):  # noqa: F811
    if mariadb.process is None or mariadb.process.poll() is not None:
        mariadb.start()
    database_url = f"{mariadb.server_url}/wxwork?charset=utf8mb4"
    engine = create_engine(database_url)
    with engine.begin() as connection:
        for table in ("deliveries", "messages", "account_cursors", "events", "callback_keys", "sessions"):
            connection.exec_driver_sql(f"DELETE FROM {table}")
    engine.dispose()
    receiver = Receiver(SECRET).start()
    console = ThreadedConsole(
        {
            "DATABASE_URL": database_url,
            "BASE_URL": simulator.url,
            "CALLBACK_TOKEN": CALLBACK_TOKEN,
            "MONITOR_AUTOSTART": False,
            "UPSTREAM_CONNECT_TIMEOUT": 2.0,
            "UPSTREAM_READ_TIMEOUT": 2.0,
            "FORWARD_URL": receiver.url,
            "FORWARD_SECRET": SECRET,
            "FORWARD_TIMEOUT_S": 1.0,
            "FORWARD_BACKOFF_S": 0.1,
            "FORWARD_BACKOFF_MAX_S": 0.5,
            "FORWARD_MAX_ATTEMPTS": 100,
        }
    )
    try:
        start_worker(console.app)
        uuid = _logged_in_session(console, simulator)
        sender = CallbackSender(console.url, uuid)
        for _ in range(5):
            assert sender.post().status_code == 200
        sender.start_background()
        time.sleep(0.5)
        mariadb.kill()
        time.sleep(2.0)  # callbacks are refused (503) meanwhile; the worker waits
        mariadb.start()
        wait_until(
            lambda: requests.get(f"{console.url}/api/state", timeout=10).status_code == 200,
            timeout=30,
            what="the console to serve again",
        )
        time.sleep(0.5)
        sender.stop_background()
        sender.retry_refused()
        acked = {str(9_000_000 + msg_id) for msg_id in sender.acked}
        wait_until(
            lambda: {item.body["message"]["serverId"] for item in receiver.deliveries()} >= acked,
            timeout=60,
            what="every acknowledged message delivered",
        )
        assert all(item.verified for item in receiver.deliveries())
        assert receiver.overlaps == []
    finally:
        console.stop()
        receiver.stop()
