"""The `events` trim, before and after: its cost on a large table and its deadlocks against inserts.

    .venv/bin/python -m bench.trim                      # MariaDB of BENCH_MYSQL_URL (as bench/run.py)
    .venv/bin/python -m bench.trim --rows 40000 200000 --url sqlite:////tmp/trim.sqlite3

For each table size N the table is filled with N rows and MAX_EVENTS = N, so that each trim deletes the
PRUNE_EVERY rows beyond the cap, as in steady running. Measured for the old statement (a DELETE whose
derived table walks the primary key down MAX_EVENTS entries) and for `trim_events` (an id cutoff and a
primary-key range):

- cost: median and worst time of a trim, PRUNE_EVERY rows inserted before each;
- deadlocks: trims back to back on TRIMMERS connections (as that many workers trimming at once) while
  INSERTERS other connections insert batches of dedup keys and events (as the group commit does), for a
  few seconds, with MAX_EVENTS = 100 (the default) and with MAX_EVENTS = N; deadlocks and lock wait
  timeouts are counted on every connection.

Prints a Markdown table; writes nothing. Not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
import uuid as uuidlib
from collections import Counter

from sqlalchemy import create_engine, insert, text
from sqlalchemy.exc import DBAPIError

from wxwork_demo.db import make_engine
from wxwork_demo.models import CallbackKey, Event, utcnow
from wxwork_demo.schema import upgrade_database
from wxwork_demo.services.events import PRUNE_EVERY, trim_events

# What prune() ran before: the cut-off found inside the DELETE, by walking MAX_EVENTS entries down the key.
OLD_TRIM = (
    "DELETE FROM events WHERE events.id < (SELECT anon_1.id FROM (SELECT events.id AS id FROM events "
    "ORDER BY events.id DESC LIMIT 1 OFFSET :skip) AS anon_1)"
)
DEADLOCK_CODES = {1213: "deadlock", 1205: "lock wait timeout"}
INSERT = insert(Event.__table__)
INSERT_KEYS = insert(CallbackKey.__table__)
TRIMMERS = 4
INSERTERS = 2
BATCH = 16
DEFAULT_MAX_EVENTS = 100


def old_trim(connection, keep: int) -> None:
    connection.execute(text(OLD_TRIM), {"skip": keep - 1})
    connection.commit()


def new_trim(connection, keep: int) -> None:
    trim_events(connection, keep)


TRIMS = {"before (scanning DELETE)": old_trim, "after (id cutoff, key range)": new_trim}


def rows(count: int) -> list[dict]:
    now = utcnow()
    return [
        {"session_uuid": "bench", "stage": "callback", "event_type": "102000", "payload": {"n": n}, "created_at": now}
        for n in range(count)
    ]


def fill(engine, count: int) -> None:
    with engine.connect() as connection:
        connection.execute(Event.__table__.delete())
        connection.commit()
        for start in range(0, count, 5000):
            connection.execute(INSERT, rows(min(5000, count - start)))
            connection.commit()


def cost(engine, trim, keep: int, rounds: int) -> list[float]:
    times = []
    with engine.connect() as connection:
        for _ in range(rounds):
            connection.execute(INSERT, rows(PRUNE_EVERY))
            connection.commit()
            started = time.perf_counter()
            trim(connection, keep)
            times.append(time.perf_counter() - started)
    return times


def contention(engine, trim, keep: int, seconds: float) -> tuple[int, int, Counter]:
    """(trims, batches inserted, errors by kind) with trims and inserts racing for `seconds`."""
    stop = threading.Event()
    errors: Counter = Counter()
    done: Counter = Counter()
    lock = threading.Lock()

    def classify(exc: DBAPIError) -> str:
        code = exc.orig.args[0] if exc.orig is not None and exc.orig.args else None
        return DEADLOCK_CODES.get(code, f"other {type(exc.orig).__name__} {code}")

    def loop(kind: str, step) -> None:
        with engine.connect() as connection:
            while not stop.is_set():
                try:
                    step(connection)
                    outcome, counter = kind, done
                except DBAPIError as exc:
                    connection.rollback()
                    outcome, counter = f"{kind} {classify(exc)}", errors
                with lock:
                    counter[outcome] += 1

    def insert_batch(connection) -> None:
        now = utcnow()
        connection.execute(INSERT_KEYS, [{"key": uuidlib.uuid4().hex, "created_at": now} for _ in range(BATCH)])
        connection.execute(INSERT, rows(BATCH))
        connection.commit()

    threads = [threading.Thread(target=loop, args=("insert", insert_batch)) for _ in range(INSERTERS)]
    threads += [threading.Thread(target=loop, args=("trim", lambda c: trim(c, keep))) for _ in range(TRIMMERS)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(60)
    return done["trim"], done["insert"], errors


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[1000, 40_000, 200_000])
    parser.add_argument("--rounds", type=int, default=30, help="trims timed per size")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each contention run")
    parser.add_argument("--url", help="a database URL (default: a new database on BENCH_MYSQL_URL)")
    args = parser.parse_args()

    server = None
    url = args.url
    if not url:
        server_url = (
            os.environ.get("BENCH_MYSQL_URL")
            or os.environ.get("TEST_MYSQL_URL")
            or "mysql+pymysql://root@127.0.0.1:3306"
        ).rstrip("/")
        name = f"wxwork_bench_trim_{uuidlib.uuid4().hex[:6]}"
        server = create_engine(server_url)
        with server.connect() as connection:
            connection.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
        url = f"{server_url}/{name}?charset=utf8mb4"
    try:
        upgrade_database(url)
        engine = make_engine(url)
        with engine.connect() as connection:
            version = connection.exec_driver_sql(
                "SELECT sqlite_version()" if engine.dialect.name == "sqlite" else "SELECT VERSION()"
            ).scalar()
        print(f"database: {engine.dialect.name} {version}; PRUNE_EVERY = {PRUNE_EVERY}\n")
        print("Cost of one trim deleting the PRUNE_EVERY rows beyond MAX_EVENTS = table rows:\n")
        print("| rows (= MAX_EVENTS) | trim | median ms | max ms |")
        print("|---|---|---|---|")
        for count in args.rows:
            for label, trim in TRIMS.items():
                fill(engine, count)
                times = cost(engine, trim, count, args.rounds)
                print(f"| {count} | {label} | {ms(statistics.median(times))} | {ms(max(times))} |", flush=True)
        print(
            f"\nContention: {TRIMMERS} connections trimming back to back, {INSERTERS} inserting batches of "
            f"{BATCH} keys + {BATCH} events, {args.seconds:.0f} s:\n"
        )
        print("| rows | MAX_EVENTS | trim | trims | insert batches | deadlocks and lock waits |")
        print("|---|---|---|---|---|---|")
        for count, keep in ((args.rows[-1], DEFAULT_MAX_EVENTS), (args.rows[-1], args.rows[-1])):
            for label, trim in TRIMS.items():
                fill(engine, count)
                trims, inserted, errors = contention(engine, trim, keep, args.seconds)
                problems = ", ".join(f"{n} {kind}" for kind, n in sorted(errors.items())) or "0"
                print(f"| {count} | {keep} | {label} | {trims} | {inserted} | {problems} |", flush=True)
        engine.dispose()
    finally:
        if server is not None:
            with server.connect() as connection:
                connection.execute(text(f"DROP DATABASE IF EXISTS `{url.rsplit('/', 1)[1].split('?')[0]}`"))
            server.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
