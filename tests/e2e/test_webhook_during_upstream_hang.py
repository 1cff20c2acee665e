"""A genuine callback does not queue behind slow upstream calls (issue 11, point 9c), against a real gunicorn.

The finding: during an upstream hang a callback waited 8.9 s behind business calls. Here the upstream hangs on
SendTextMsg and many more send-text calls than the worker has database connections wait on it, each until its
deadline; meanwhile callbacks and /api/health are answered at once, because a request waiting on the upstream
holds no database connection (and, under gevent, no thread).

On SQLite and MariaDB. On MariaDB the callbacks used to wait up to 10 s here: each new connection the burst
opened cost PyMySQL 24 ms of CPU building a TLS context, which under gevent blocks the whole worker (db.py,
mysql_tls_args; tests/test_database_connections.py).
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.e2e.live import SimulatorControl

pytestmark = pytest.mark.e2e

TOKEN = "hang-callback-token-0123456789"
THREADS = 4  # the database pool of a worker is sized from it: max(4, MONITOR_CONCURRENCY 8) + overflow 15 = 23
BUSINESS_CALLS = 40


def test_callbacks_are_answered_while_business_calls_wait_on_a_hung_upstream(start_gunicorn, simulator):
    sim = SimulatorControl(simulator.url)
    instance = sim.bulk_login(1)[0]
    console = start_gunicorn(
        GUNICORN_WORKER_CLASS="gevent",
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS=str(THREADS),
        CALLBACK_TOKEN=TOKEN,
        MONITOR_AUTOSTART="false",
        # Sends through one account are paced (a second apart by default): unpaced here, so that all of them
        # are waiting on the upstream at once, as the finding's business calls were.
        SEND_MIN_INTERVAL_MS="0",
        SEND_JITTER_MS="0",
    )
    # The console knows the instance (as after a login), then the upstream hangs on every send.
    login = {"uuid": instance["uuid"], "type": 104001, "json": json.dumps({"vid": instance["vid"]})}
    assert requests.post(f"{console.url}/callback/wxwork?token={TOKEN}", json=login, timeout=10).status_code == 200
    sim.set_fault("hang", count=-1, actions=["SendTextMsg"], hang_s=60)
    text = {"uuid": instance["uuid"], "send_userid": 1688850000000001, "isRoom": False}

    def send(n: int) -> int:
        # Each its own content: the same one more than SEND_REPEAT_LIMIT times a minute is refused (429).
        body = {**text, "content": f"stuck {n}"}
        return requests.post(f"{console.url}/api/send-text", json=body, timeout=60).status_code

    def callback(n: int) -> float:
        payload = {"msg_id": n, "server_id": 7_000_000 + n, "content": f"during the hang {n}", "sender": 7}
        body = {"uuid": instance["uuid"], "type": 102000, "json": json.dumps(payload)}
        started = time.monotonic()
        response = requests.post(f"{console.url}/callback/wxwork?token={TOKEN}", json=body, timeout=60)
        assert response.status_code == 200, response.text[:300]
        return time.monotonic() - started

    with ThreadPoolExecutor(max_workers=BUSINESS_CALLS + 10) as pool:
        sends = [pool.submit(send, n) for n in range(BUSINESS_CALLS)]
        time.sleep(1.5)  # every send is waiting on the upstream now
        waits = list(pool.map(callback, range(1, 11)))
        statuses = [future.result() for future in sends]
    sim.clear_faults()
    sim.close()
    print(
        f"\n{BUSINESS_CALLS} send-text waiting on a hung upstream: 10 callbacks answered in at most "
        f"{max(waits):.2f} s (median {sorted(waits)[5]:.2f} s); the sends ended {sorted(set(statuses))}"
    )
    assert set(statuses) == {504}, statuses
    assert max(waits) < 1.5, waits
