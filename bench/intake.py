"""Target 1 and 2: callback intake, every contender against the old demo and the limit in the same rounds;
and the retention check (the events table stays bounded under MAX_EVENTS=100).

A round drives each contender in turn (the order turns by one each round) with the same closed loop: 16
keep-alive connections posting distinct message callbacks. Each app figure is a ratio to the old demo's
figure of the same round and to the limit's, and the median of those ratios is reported.
"""

from __future__ import annotations

import itertools
import json
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench import database, procs
from bench.plan import Run, Scenario, log, ratio
from wxwork_demo.services.events import PRUNE_EVERY

CALLBACK_TOKEN = "bench-callback-token-0123456789"
OLD_DEMO = "old-demo"
LIMIT = "limit"


@dataclass
class Contender:
    """One server taking callbacks: a baseline or the app under one server."""

    key: str
    label: str
    server: procs.Server
    # Callbacks it has stored so far (dedup keys, rows, or the highest event id): the zero-loss check.
    stored: Callable[[], int]
    is_app: bool = False
    default: bool = False  # the app's default server (gunicorn.conf.py)

    @property
    def url(self) -> str:
        query = f"?token={CALLBACK_TOKEN}" if self.is_app else ""
        return f"{self.server.url}/callback/wxwork{query}"


def loadgen(run: Run, url: str, *, record: bool = True, **options) -> dict:
    """One closed-loop run of bench/loadgen.py (a process of its own); its JSON summary."""
    argv = [sys.executable, "-m", "bench.loadgen", "--url", url, "--connections", str(run.plan.connections)]
    for name, value in options.items():
        argv += [f"--{name.replace('_', '-')}", str(value)]
    if record:
        run.command(argv)
    out = subprocess.run(argv, cwd=procs.PROJECT_ROOT, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def bench_intake(run: Run, scenario: Scenario, contenders: list[Contender], database_pids: list[int]) -> None:
    """Rounds of every contender; results under run.results["intake"][scenario.key]."""
    plan = run.plan
    log(
        f"intake, {scenario.title}: {plan.intake_rounds} round(s) of {plan.intake_seconds:.0f} s per contender, "
        f"{plan.connections} connections"
    )
    rounds: list[dict[str, dict]] = []
    id_base = 1_000_000_000 * (2 if scenario.max_events > 100 else 1)
    for number in range(plan.intake_rounds):
        turn = number % len(contenders)
        found: dict[str, dict] = {}
        for each in contenders[turn:] + contenders[:turn]:
            workers = each.server.workers()
            before = each.stored(), procs.cpu_seconds(workers), procs.cpu_seconds(database_pids)
            f = loadgen(
                run,
                each.url,
                record=number == 0,
                duration=plan.intake_seconds,
                warmup=plan.intake_warmup,
                # Distinct callbacks everywhere: the app's contenders share one dedup table.
                id_base=id_base + contenders.index(each) * 100_000_000 + number * 10_000_000,
            )
            done = max(f["requests"], 1)
            f["stored"] = each.stored() - before[0]
            f["worker_cpu_ms"] = (procs.cpu_seconds(workers) - before[1]) / done * 1000
            f["db_cpu_ms"] = (procs.cpu_seconds(database_pids) - before[2]) / done * 1000
            f["generator_cpu_ms"] = f["generator_cpu_s"] / done * 1000
            failed = f["requests"] - f["ok_total"]
            # A 503 says "not stored, send it again": a miss of the target, not a loss (that is the next check).
            run.target(failed == 0, f"intake {each.label}: {failed} requests not answered 2xx ({f['statuses']})")
            run.check(
                f["stored"] >= f["ok_total"],
                f"intake {each.label} lost callbacks: {f['ok_total']} answered 2xx, {f['stored']} stored",
            )
            found[each.key] = f
            log(
                f"  round {number + 1} {each.label}: {f['rps']:.0f}/s p50 {f['p50_ms']:.1f} ms p99 "
                f"{f['p99_ms']:.1f} ms, CPU per callback: server {f['worker_cpu_ms']:.2f} ms, database "
                f"{f['db_cpu_ms']:.2f} ms"
            )
        rounds.append(found)
    figures = {}
    for each in contenders:
        mine = [r[each.key] for r in rounds]

        def med(key: str, mine: list[dict] = mine) -> float:
            return statistics.median(m[key] for m in mine)

        to_old = [ratio(r[each.key]["rps"], r[OLD_DEMO]["rps"]) for r in rounds]
        to_limit = [ratio(r[each.key]["rps"], r[LIMIT]["rps"]) for r in rounds]
        figures[each.key] = {
            "label": each.label,
            "is_app": each.is_app,
            "default": each.default,
            "rps": med("rps"),
            "p50": med("p50_ms"),
            "p99": med("p99_ms"),
            "cpu_ms": med("worker_cpu_ms"),
            "db_cpu_ms": med("db_cpu_ms"),
            "generator_cpu_ms": med("generator_cpu_ms"),
            "to_old": statistics.median(to_old),
            "to_old_rounds": to_old,
            "to_limit": statistics.median(to_limit),
            "ok": sum(m["ok_total"] for m in mine),
            "stored": sum(m["stored"] for m in mine),
            "generator_cores": max(m["generator_cores"] for m in mine),
        }
    run.results.setdefault("intake", {})[scenario.key] = {
        "title": scenario.title,
        "rows_before": scenario.prefill_rows,
        "figures": figures,
        "rounds": [{k: {"rps": v["rps"], "p99": v["p99_ms"]} for k, v in r.items()} for r in rounds],
    }


class CountSampler(threading.Thread):
    """Every `interval` seconds until stopped: SELECT COUNT(*) FROM events, and the workers' CPU time."""

    def __init__(self, database_url: str, workers: list[int], interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.database_url, self.workers, self.interval = database_url, workers, interval
        self.samples: list[int] = []
        self.cpu: list[tuple[float, float]] = []  # (perf_counter, worker CPU seconds)
        self.stopping = threading.Event()

    def run(self) -> None:
        connection = database.connect(self.database_url)
        try:
            while not self.stopping.is_set():
                self.cpu.append((time.perf_counter(), procs.cpu_seconds(self.workers)))
                with connection.cursor() as cursor:
                    cursor.execute("SELECT COUNT(*) FROM events")
                    self.samples.append(int(cursor.fetchone()[0]))
                self.stopping.wait(self.interval)
        finally:
            connection.close()

    def cpu_at(self, moment: float) -> float:
        """Worker CPU seconds at `moment`, interpolated between samples."""
        points = self.cpu
        for (t0, c0), (t1, c1) in itertools.pairwise(points):
            if t0 <= moment <= t1:
                return c0 + (c1 - c0) * ((moment - t0) / (t1 - t0) if t1 > t0 else 0.0)
        return points[-1][1] if points and moment > points[-1][0] else (points[0][1] if points else 0.0)


def bench_retention(run: Run, app: Contender, database_url: str, max_events: int) -> None:
    """Many callbacks with MAX_EVENTS=100: the table stays bounded, the rate and the CPU per callback flat."""
    total = run.plan.retention_callbacks
    log(f"retention: {total} callbacks, {app.label}, MAX_EVENTS={max_events}")
    keys_before = app.stored()
    sampler = CountSampler(database_url, app.server.workers())
    sampler.start()
    try:
        found = loadgen(run, app.url, requests=total, id_base=9_000_000_000)
    finally:
        sampler.stopping.set()
        sampler.join()
    stored = app.stored() - keys_before
    final = database.scalar(database_url, "SELECT COUNT(*) FROM events")
    deciles = found["decile_rps"]
    first, last = (deciles[0], deciles[-1]) if deciles else (0.0, 0.0)
    # CPU per callback of the worker(s) in each tenth of the run: the cost itself, which other load on a
    # shared machine moves far less than it moves the rate.
    per_tenth = total / 10
    cpu_ms = [
        (sampler.cpu_at(b) - sampler.cpu_at(a)) / per_tenth * 1000 for a, b in itertools.pairwise(found["decile_ends"])
    ]
    run.check(found["ok_total"] == total, f"retention: {total - found['ok_total']} callbacks not answered 2xx")
    run.check(stored >= found["ok_total"], f"retention lost callbacks: {found['ok_total']} 2xx, {stored} stored")
    workers = len(app.server.workers())
    bound = retention_bound(run, max_events, workers)
    result = {
        "server": app.label,
        "workers": workers,
        "max_events": max_events,
        "bound": bound,
        "callbacks": total,
        "rps": found["rps"],
        "max_rows": max(sampler.samples, default=0),
        "final_rows": final,
        "samples": len(sampler.samples),
        "first_rps": first,
        "last_rps": last,
        "flat": ratio(last, first),
        "deciles": deciles,
        "cpu_ms": cpu_ms,
        "cpu_flat": ratio(cpu_ms[-1], cpu_ms[0]) if cpu_ms else 0.0,
        "p99_ms": found["p99_ms"],
        "stored": stored,
    }
    run.results["retention"] = result
    run.check(result["max_rows"] <= bound, f"retention: events reached {result['max_rows']} rows, more than {bound}")
    log(
        f"  {result['rps']:.0f}/s, events max {result['max_rows']} rows ({result['samples']} samples), first 10% "
        f"{first:.0f}/s, last 10% {last:.0f}/s"
    )


def retention_bound(run: Run, max_events: int, workers: int) -> int:
    """The most rows `events` may hold: MAX_EVENTS after a trim, PRUNE_EVERY more until the next one, the
    batch that crosses PRUNE_EVERY (at most one callback per connection) and, with more than one worker, what
    the other workers commit while the trim runs (again at most one callback per connection)."""
    return max_events + PRUNE_EVERY + run.plan.connections * (2 if workers > 1 else 1)
