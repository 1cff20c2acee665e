"""A monitor pass holds the same whatever the number of accounts: the accounts are taken one at a time by
MONITOR_CONCURRENCY threads, never queued all at once (issue 16, targets 6 and 7: 20,000 accounts in one pass
within the monitor's 120 MB). bench/monitor_scale.py times the pass."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from wxwork_demo.services.monitor.runtime import each_at_most

CONCURRENCY = 4
ACCOUNTS = 200


def test_accounts_are_taken_as_threads_free_up_and_every_outcome_is_counted():
    taken, done, lock = 0, 0, threading.Lock()
    ahead: list[int] = []

    def accounts() -> Iterator[int]:
        nonlocal taken
        for session_id in range(1, ACCOUNTS + 1):
            with lock:
                taken += 1
                ahead.append(taken - done)
            yield session_id

    def check(session_id: int) -> str | None:
        nonlocal done
        time.sleep(0.001)
        with lock:
            done += 1
        return None if session_id % 10 == 0 else ("offline" if session_id % 3 == 0 else "online")

    counts = each_at_most(CONCURRENCY, check, accounts())
    assert taken == done == ACCOUNTS
    # At most one account per thread is taken and not yet checked (pool.map took all 200 at once).
    assert max(ahead) <= CONCURRENCY, max(ahead)
    assert counts == {"online": 120, "offline": 60, None: 20}
