"""Issue 5: one monitor owner across processes, proved with real gunicorn workers and real signals.

The console runs under `gunicorn -c gunicorn.conf.py wsgi:app` with 4 workers, each of which starts a monitor
scheduler (MONITOR_AUTOSTART); the database lease must leave exactly one of them checking. The simulator
counts and timestamps every GetRunClientByUuid, which is how the tests see who checks how often.
"""

from __future__ import annotations

import itertools
import os
import signal
import socket
import sys
import time
from collections import defaultdict

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from tests.e2e.conftest import ConsoleProcess, wait_for_health
from tests.e2e.live import ConsoleApi, SimulatorControl, children_of, clean_env, is_running, wait_until
from wxwork_demo.models import Instance, utcnow

pytestmark = pytest.mark.e2e

ACCOUNTS = 20
INTERVAL_S = 1.0
LEASE_S = 3.0
WINDOW_S = 6.0
MONITOR_ENV = {
    "MONITOR_INTERVAL_MS": str(int(INTERVAL_S * 1000)),
    "MONITOR_TICK_MS": "200",
    "MONITOR_LEASE_S": str(LEASE_S),
}


def seed_online_sessions(db_url: str, sim: SimulatorControl, count: int) -> dict[str, str]:
    """`count` accounts logged in at the simulator, and their sessions in the database: uuid -> vid."""
    instances = sim.bulk_login(count)
    engine = create_engine(db_url)
    try:
        with Session(engine) as session:
            now = utcnow()
            for instance in instances:
                session.add(
                    Instance(
                        uuid=instance["uuid"],
                        vid=str(instance["vid"]),
                        is_login=True,
                        state="online",
                        last_event="seeded",
                        callback_registered_at=now,
                        state_changed_at=now,
                    )
                )
            session.commit()
    finally:
        engine.dispose()
    return {instance["uuid"]: str(instance["vid"]) for instance in instances}


def checks_by_uuid(sim: SimulatorControl, since: float = 0.0, calls: dict | None = None) -> dict[str, list[float]]:
    """When each uuid got a GetRunClientByUuid (simulator clock, wall time), oldest first."""
    times: dict[str, list[float]] = defaultdict(list)
    for call in (calls or sim.calls())["recent"]:
        if call["action"] == "GetRunClientByUuid" and call["time"] >= since:
            times[call["uuid"]].append(call["time"])
    return {uuid: sorted(values) for uuid, values in times.items()}


def split_into_passes(times: dict[str, list[float]]) -> list[list[tuple[float, str]]]:
    """The checks in time order, grouped into the monitor's passes.

    A pass ends when a session comes round again, or when 70 % of an interval has gone by since it began
    (passes start at least 80 % of an interval apart; a slow pass may stall a few hundred milliseconds).
    """
    passes: list[list[tuple[float, str]]] = []
    seen: set[str] = set()
    for moment, uuid in sorted((t, u) for u, values in times.items() for t in values):
        if not passes or uuid in seen or moment - passes[-1][0][0] > 0.7 * INTERVAL_S:
            passes.append([])
            seen = set()
        passes[-1].append((moment, uuid))
        seen.add(uuid)
    return passes


def assert_one_check_per_interval(sim: SimulatorControl, uuids: set[str], window_s: float) -> dict:
    """Over the last `window_s` seconds, each session was checked once per interval, never twice in one."""
    calls = sim.calls()
    assert len(calls["recent"]) < 500, "the simulator's recent-call log overflowed"
    times = checks_by_uuid(sim, calls=calls)
    counts = {uuid: len(times.get(uuid, [])) for uuid in uuids}
    expected = window_s / INTERVAL_S
    assert all(expected - 1 <= n <= expected + 1 for n in counts.values()), counts
    # Exactly the seeded sessions, nothing else; the counters (taken on arrival) agree with the log (on answer).
    assert set(times) == uuids
    assert all(0 <= calls["by_uuid"][uuid]["GetRunClientByUuid"] - counts[uuid] <= 1 for uuid in uuids)
    # Session by session: consecutive checks are most of an interval apart. Two owners would check each
    # session twice per interval at unrelated moments, so about half the gaps would be short. A pass that
    # overran its interval (a loaded machine) brings a few of its last checks close to the next pass's first:
    # tolerate those few. (Grouping checks into passes is left to the report: pass boundaries blur under load.)
    assert_no_second_owner(times)
    passes = split_into_passes(times)
    starts = [p[0][0] for p in passes]
    spacing = [b - a for a, b in itertools.pairwise(starts)] or [0.0]
    # No reconnects, no callback re-registrations: every seeded account is online and fresh.
    assert set(calls["by_action"]) == {"GetRunClientByUuid"}, calls["by_action"]
    return {
        "min": min(counts.values()),
        "max": max(counts.values()),
        "passes": len(passes),
        "spacing": (min(spacing), max(spacing)),
        "spread": max(p[-1][0] - p[0][0] for p in passes),
    }


def assert_no_second_owner(times: dict[str, list[float]]) -> None:
    """Two owners would check each session twice per interval at unrelated moments: about half the gaps under
    half an interval and a fifth under 0.15 of one. Jitter on a loaded machine (a pass overrunning its
    interval, checks spread over a slow pass) gives a few short gaps (0.26 s seen), never that many."""
    gaps = [b - a for values in times.values() for a, b in itertools.pairwise(values)]
    short = [gap for gap in gaps if gap < 0.5 * INTERVAL_S]
    very_short = [gap for gap in gaps if gap < 0.15 * INTERVAL_S]
    assert len(short) <= 0.25 * len(gaps) and len(very_short) <= 0.05 * len(gaps), (len(gaps), sorted(gaps)[:8])


def owner_pid(api: ConsoleApi) -> tuple[str, int]:
    owner = api.state()["monitor"]["owner"]
    host, pid, _token = owner.split(":")
    assert host == socket.gethostname()
    return owner, int(pid)


def sample_owners(api: ConsoleApi, seconds: float) -> set[str]:
    """The lease owner as seen by whichever workers answer, sampled for `seconds`."""
    owners, deadline = set(), time.monotonic() + seconds
    while time.monotonic() < deadline:
        owners.add(api.state()["monitor"]["owner"])
        time.sleep(0.25)
    return owners


def test_four_gunicorn_workers_one_monitor_and_a_takeover_after_kill_9(
    start_gunicorn, db_url: str, sim: SimulatorControl
):
    sessions = seed_online_sessions(db_url, sim, ACCOUNTS)
    uuids = set(sessions)
    gunicorn = start_gunicorn(WEB_CONCURRENCY="4", MONITOR_AUTOSTART="true", **MONITOR_ENV)
    api = ConsoleApi(gunicorn.url)
    workers = wait_until(lambda: len(gunicorn.note_children()) == 4 and gunicorn.note_children(), 20, what="4 workers")
    owner, pid = wait_until(lambda: api.state()["monitor"]["owner"] and owner_pid(api), 15, what="a lease owner")
    assert pid in workers, (pid, workers)
    # Every worker runs a scheduler (the requests land on different workers; all say so).
    assert all(api.state()["monitor"]["schedulerHere"] for _ in range(8))

    # One owner across four workers, one check per session per interval.
    time.sleep(1.0)  # let a full pass go by
    sim.reset_calls()
    owners = sample_owners(api, WINDOW_S)
    before = assert_one_check_per_interval(sim, uuids, WINDOW_S)
    assert owners == {owner}, owners

    # kill -9 the owner: no shutdown hook runs, so its lease must expire before another worker takes over.
    assert pid in children_of(gunicorn.pid)  # a worker of our own gunicorn, nothing else
    killed_at = time.time()
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not is_running(pid), 5, what="the killed worker to be gone")

    def first_pass_after_kill() -> dict[str, list[float]] | None:
        later = checks_by_uuid(sim, since=killed_at + 0.3)
        return later if set(later) == uuids else None

    resumed = wait_until(first_pass_after_kill, LEASE_S + INTERVAL_S + 5, interval=0.1, what="a full pass to resume")
    takeover_s = min(t for values in resumed.values() for t in values) - killed_at
    new_owner, new_pid = owner_pid(api)
    assert new_pid != pid and new_owner != owner
    assert new_pid in gunicorn.note_children()
    # The lease's expiry, then another worker's tick and first check: a loaded machine delays the last two
    # (6.1 s seen at a load of 7 on two cores), so the bound leaves room; a missing takeover never comes.
    assert takeover_s <= LEASE_S + INTERVAL_S + 3.0, takeover_s
    # Across the change of owner (the old one may have died mid-pass) no session was checked twice at once.
    assert_no_second_owner(checks_by_uuid(sim))

    # The new owner keeps the same pace; gunicorn replaced the dead worker, still one owner among four.
    wait_until(lambda: len([p for p in children_of(gunicorn.pid) if is_running(p)]) == 4, 20, what="a new worker")
    sim.reset_calls()
    owners = sample_owners(api, WINDOW_S)
    after = assert_one_check_per_interval(sim, uuids, WINDOW_S)
    assert owners == {new_owner}, owners
    print(
        f"\n[measure] {db_url.split(':')[0]}: 4 workers, {ACCOUNTS} sessions, {WINDOW_S:.0f} s windows: "
        f"checks/session {before['min']}-{before['max']} before, {after['min']}-{after['max']} after; "
        f"{before['passes']} passes {before['spacing'][0]:.2f}-{before['spacing'][1]:.2f} s apart "
        f"(each over in {before['spread']:.2f} s); "
        f"takeover {takeover_s:.2f} s after kill -9 (lease {LEASE_S:.0f} s)"
    )


def test_dedicated_monitor_processes_beside_workers_that_do_not_monitor(
    start_gunicorn, spawn, db_url: str, simulator, sim: SimulatorControl
):
    sessions = seed_online_sessions(db_url, sim, ACCOUNTS)
    uuids = set(sessions)
    gunicorn = start_gunicorn(WEB_CONCURRENCY="2", MONITOR_AUTOSTART="false", **MONITOR_ENV)
    api = ConsoleApi(gunicorn.url)
    wait_until(lambda: len(gunicorn.note_children()) == 2, 20, what="2 workers")
    env = clean_env(
        DATABASE_URL=db_url,
        BASE_URL=simulator.url,
        CALLBACK_URL=f"{gunicorn.url}/callback/wxwork",
        MONITOR_AUTOSTART="false",
        **MONITOR_ENV,
    )
    argv = [sys.executable, "-m", "flask", "--app", "wsgi", "monitor", "run"]
    monitors: list[ConsoleProcess] = [spawn("monitor", argv, env) for _ in range(2)]
    wait_for_health(gunicorn.url, gunicorn)
    owner, pid = wait_until(lambda: api.state()["monitor"]["owner"] and owner_pid(api), 20, what="a lease owner")
    assert pid in {m.pid for m in monitors}, (pid, [m.pid for m in monitors])
    assert api.state()["monitor"]["schedulerHere"] is False  # the web workers run none

    time.sleep(1.0)
    sim.reset_calls()
    owners = sample_owners(api, WINDOW_S)
    counts = assert_one_check_per_interval(sim, uuids, WINDOW_S)
    assert owners == {owner}

    # A graceful stop (SIGTERM) hands the lease back at once: the other monitor process continues.
    holder = next(m for m in monitors if m.pid == pid)
    sim.reset_calls()
    stopped_at = time.time()
    holder.stop(signal.SIGTERM)
    assert holder.process.returncode == 0, holder.log()[-2000:]
    _, new_pid = wait_until(
        lambda: api.state()["monitor"]["owner"] not in ("", owner) and owner_pid(api), 5, what="a new owner"
    )
    handover_s = time.time() - stopped_at
    assert new_pid in {m.pid for m in monitors} - {pid}
    resumed_at = wait_until(
        lambda: min((t for v in checks_by_uuid(sim, since=stopped_at).values() for t in v), default=None),
        INTERVAL_S + 3,
        what="checks to resume",
    )
    print(
        f"\n[measure] {db_url.split(':')[0]}: 2 monitor processes + 2 workers: checks/session "
        f"{counts['min']}-{counts['max']} in {WINDOW_S:.0f} s; lease handed over {handover_s:.2f} s after SIGTERM, "
        f"checks resumed after {resumed_at - stopped_at:.2f} s"
    )
