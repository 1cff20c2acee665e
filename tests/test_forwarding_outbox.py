"""The outbox rows the intake writes with its messages: one per message and target, in the order of the
messages, for batches of concurrent callbacks of several accounts whose message keys overlap."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import create_engine, select, text

from tests.conftest import CALLBACK_TOKEN
from tests.support import ThreadedConsole, add_session
from wxwork_demo.models import Delivery, Message
from wxwork_demo.services.forwarding.enqueue import BatchOutbox, Forwarding

ACCOUNTS = {"U1": "1688853790599424", "U2": "1688853790599425"}
PEER = 7881302555913738
TARGETS = ("http://127.0.0.1:9/one", "http://127.0.0.1:9/two")


def body(uuid: str, server_id: int) -> dict:
    message = {
        "msgtype": 2,
        "content": f"m{server_id}",
        "sender": PEER,
        "receiver": int(ACCOUNTS[uuid]),
        "is_room": 0,
        "msg_id": 1000000 + server_id,
        "server_id": server_id,
        "send_time": 1724034152,
    }
    return {"uuid": uuid, "type": 102000, "json": json.dumps(message)}


def test_concurrent_messages_of_two_accounts_get_one_delivery_per_target_in_order(database_url):
    console = ThreadedConsole(
        {
            "DATABASE_URL": database_url,
            "CALLBACK_TOKEN": CALLBACK_TOKEN,
            "MONITOR_AUTOSTART": False,  # no delivery worker: the rows stay as the intake wrote them
            "FORWARD_URL": ",".join(TARGETS),
            "FORWARD_SECRET": "forward-secret-for-the-tests-0123",
        }
    )
    try:
        for uuid, account in ACCOUNTS.items():
            add_session(console.app, uuid, vid=account, is_login=True, state="online")
        url = f"{console.url}/callback/wxwork?token={CALLBACK_TOKEN}"
        # U1 holds messages 1..16 already; then both accounts get 1..64 at once (the same message keys in both
        # accounts, some of them held by U1 before): a batch's (account, key) pairs are matched exactly.
        earlier = [body("U1", n) for n in range(1, 17)]
        both = [body(uuid, n) for n in range(17, 65) for uuid in ACCOUNTS] + [body("U2", n) for n in range(1, 17)]
        with requests.Session() as http:
            assert [http.post(url, json=b, timeout=30).status_code for b in earlier] == [200] * len(earlier)
        with ThreadPoolExecutor(max_workers=16) as pool:
            statuses = list(pool.map(lambda b: requests.post(url, json=b, timeout=30).status_code, both))
        assert statuses == [200] * len(both)
        engine = create_engine(database_url)
        with engine.connect() as connection:
            messages = list(connection.execute(select(Message.id).order_by(Message.id)).scalars())
            rows = connection.execute(
                select(Delivery.target, Delivery.message_id, Delivery.status, Delivery.attempts).order_by(Delivery.id)
            ).all()
        engine.dispose()
        assert len(messages) == 128
        assert all(row.status == "pending" and row.attempts == 0 for row in rows)
        for target in TARGETS:
            # Every message once, and claimed (by id) in the order the messages were stored.
            assert [row.message_id for row in rows if row.target == target] == messages
        assert len(rows) == 2 * len(messages)
    finally:
        console.stop()


def test_a_batch_message_not_stored_rolls_the_batch_back(database_url):
    """The outbox refuses to go on when a message of the batch has no row: the batch is then stored alone,
    never acknowledged without its deliveries."""
    engine = create_engine(database_url)
    outbox = BatchOutbox(Forwarding(targets=TARGETS[:1]), engine.dialect)
    with engine.connect() as connection:
        cursor = connection.connection.dbapi_connection.cursor()
        with pytest.raises(RuntimeError, match="1 messages stored but 0 outbox rows"):
            outbox.add(cursor, [{"account": ACCOUNTS["U1"], "message_key": "s:404", "type": 102000}])
        connection.rollback()
        assert connection.execute(text("SELECT COUNT(*) FROM deliveries")).scalar() == 0
    engine.dispose()
