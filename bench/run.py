"""The benchmark runner: `make bench` (full) or `make bench-smoke` / BENCH_QUICK=1 (small, for CI).

It creates a database of its own on the MariaDB/MySQL server (BENCH_MYSQL_URL, else TEST_MYSQL_URL, else
mysql+pymysql://root@127.0.0.1:3306), migrates it, starts the upstream simulator (gunicorn gthread, one
process), the app (`gunicorn -c gunicorn.conf.py wsgi:app`) and the baseline (`bench/baseline_app.py`
under the same gunicorn settings), runs the benchmarks, writes the results, stops everything and drops
the database. Each figure is a ratio against a baseline measured in the same run:

1. intake     callbacks/s and latency at 16 connections, app vs the bare Flask + PyMySQL INSERT floor;
              every 2xx must match a stored dedup key (zero loss).
2. api        /api/send-text through the app vs SendTextMsg straight to the simulator: added latency.
3. monitor    one check_pass over N online sessions (100 ms upstream latency) vs the same calls made bare.
4. retention  many callbacks with MAX_EVENTS=100: the table stays bounded, the rate stays flat.
5. memory     resident memory of a gunicorn worker after the runs, vs the baseline's worker.

Exit status: 1 when something is incorrect (lost callbacks, failed requests, an unbounded events table,
a monitor pass that did not check every session); missed timing targets only fail with --strict.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import runpy
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid as uuidlib
from dataclasses import dataclass, field, replace
from http.client import HTTPConnection
from pathlib import Path

import pymysql
import requests

from bench import procs
from bench.baseline_app import CREATE_TABLE, TABLE, connect_args
from wxwork_demo.services.events import PRUNE_EVERY

BENCH_DIR = Path(__file__).resolve().parent
CALLBACK_TOKEN = "bench-callback-token-0123456789"
MAX_EVENTS = 100


@dataclass(frozen=True)
class Plan:
    quick: bool
    connections: int = 16
    intake_rounds: int = 5
    intake_seconds: float = 10.0
    intake_warmup: float = 2.0
    api_requests: int = 2000
    monitor_sizes: tuple[int, ...] = (100, 1000, 5000)
    monitor_concurrency: int = 32
    monitor_latency_ms: int = 100
    monitor_rounds: int = 2
    retention_callbacks: int = 100_000

    @classmethod
    def make(cls, quick: bool) -> Plan:
        if not quick:
            return cls(quick=False)
        return cls(
            quick=True,
            intake_rounds=1,
            intake_seconds=4.0,
            intake_warmup=1.0,
            api_requests=300,
            monitor_sizes=(100, 1000),
            retention_callbacks=10_000,
        )


@dataclass
class Run:
    """Everything a run found, for the report."""

    plan: Plan
    machine: dict = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)
    results: dict = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    def command(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        shown = " ".join(f"{k}={shlex.quote(v)}" for k, v in (env or {}).items())
        line = " ".join(shlex.quote(a) for a in argv)
        self.commands.append(f"{shown} {line}".strip())

    def check(self, ok: bool, message: str) -> None:
        if not ok:
            self.failures.append(message)
            log(f"FAIL: {message}")

    def target(self, ok: bool, message: str) -> str:
        if not ok:
            self.misses.append(message)
        return "met" if ok else "**missed**"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# ----- database -------------------------------------------------------------------------------------


def server_url() -> str:
    return (os.environ.get("BENCH_MYSQL_URL") or os.environ.get("TEST_MYSQL_URL") or "").rstrip("/") or (
        "mysql+pymysql://root@127.0.0.1:3306"
    )


def connect(database_url: str) -> pymysql.connections.Connection:
    return pymysql.connect(**connect_args(database_url))


def scalar(database_url: str, sql: str, args: tuple = ()) -> int:
    connection = connect(database_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, args)
            return int(cursor.fetchone()[0])
    finally:
        connection.close()


# ----- helpers --------------------------------------------------------------------------------------


def loadgen(run: Run, url: str, *, requests_total: int | None = None, duration: float | None = None, **opts) -> dict:
    argv = [sys.executable, "-m", "bench.loadgen", "--url", url, "--connections", str(run.plan.connections)]
    if requests_total is not None:
        argv += ["--requests", str(requests_total)]
    else:
        argv += ["--duration", str(duration), "--warmup", str(opts.get("warmup", 0))]
    argv += ["--id-base", str(opts["id_base"])]
    if opts.get("record", True):
        run.command(argv)
    out = subprocess.run(argv, cwd=procs.PROJECT_ROOT, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def ratio(value: float, base: float) -> float:
    return value / base if base else 0.0


def timed_post(connection: HTTPConnection, path: str, body: bytes) -> tuple[float, int]:
    started = time.perf_counter()
    connection.request("POST", path, body=body, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    return time.perf_counter() - started, response.status


def pct(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))]


# ----- benchmarks -----------------------------------------------------------------------------------


def bench_intake(
    run: Run, app: procs.Server, baseline: procs.Server, database_url: str, key: str = "intake", rounds_wanted: int = 0
) -> None:
    plan = run.plan
    rounds_wanted = rounds_wanted or plan.intake_rounds
    log(f"{key}: {rounds_wanted} round(s) of {plan.intake_seconds}s, {plan.connections} connections")
    targets = {
        "baseline": f"{baseline.url}/callback/wxwork",
        "app": f"{app.url}/callback/wxwork?token={CALLBACK_TOKEN}",
    }
    keys_before = scalar(database_url, "SELECT COUNT(*) FROM callback_keys")
    rows_before = scalar(database_url, f"SELECT COUNT(*) FROM {TABLE}")
    rounds: list[dict] = []
    id_offset = 0 if key == "intake" else 500_000_000
    for number in range(rounds_wanted):
        order = ("baseline", "app") if number % 2 == 0 else ("app", "baseline")
        found = {}
        for which in order:
            server = app if which == "app" else baseline
            workers, database = server.workers(), procs.pids_named("mariadbd") or procs.pids_named("mysqld")
            cpu_before = procs.cpu_seconds(workers), procs.cpu_seconds(database)
            found[which] = f = loadgen(
                run,
                targets[which],
                duration=plan.intake_seconds,
                warmup=plan.intake_warmup,
                id_base=id_offset + (number + 1) * 10_000_000 + (1 if which == "app" else 0) * 1_000_000_000,
                record=number == 0 and key == "intake",
            )
            done = max(f["requests"], 1)
            f["worker_cpu_ms"] = (procs.cpu_seconds(workers) - cpu_before[0]) / done * 1000
            f["db_cpu_ms"] = (procs.cpu_seconds(database) - cpu_before[1]) / done * 1000
            log(
                f"  round {number + 1} {which}: {f['rps']:.0f}/s p50 {f['p50_ms']:.1f} ms p99 {f['p99_ms']:.1f} ms, "
                f"CPU per request: worker {f['worker_cpu_ms']:.2f} ms, database {f['db_cpu_ms']:.2f} ms "
                f"(generator {f['generator_cores']:.2f} cores) statuses {f['statuses']}"
            )
        rounds.append(found)
    stored_app = scalar(database_url, "SELECT COUNT(*) FROM callback_keys") - keys_before
    # A batch of the group commit stamps its keys with one time: keys per distinct time = mean batch size.
    batches = scalar(database_url, "SELECT COUNT(DISTINCT created_at) FROM callback_keys")
    stored_base = scalar(database_url, f"SELECT COUNT(*) FROM {TABLE}") - rows_before
    ok_app = sum(r["app"]["ok_total"] for r in rounds)
    ok_base = sum(r["baseline"]["ok_total"] for r in rounds)
    failed_app = sum(r["app"]["requests"] - r["app"]["ok_total"] for r in rounds)
    run.check(stored_app >= ok_app, f"intake lost callbacks: {ok_app} answered 2xx, {stored_app} dedup keys stored")
    run.check(stored_base >= ok_base, f"baseline lost rows: {ok_base} answered 2xx, {stored_base} rows stored")
    run.check(failed_app == 0, f"intake: {failed_app} requests were not answered 2xx")
    per_round = [ratio(r["app"]["rps"], r["baseline"]["rps"]) for r in rounds]

    def med(which: str, key: str) -> float:
        return statistics.median(r[which][key] for r in rounds)

    run.results[key] = {
        "rounds": rounds,
        "ratios": per_round,
        "ratio": statistics.median(per_round),
        "app_rps": med("app", "rps"),
        "base_rps": med("baseline", "rps"),
        "app_p50": med("app", "p50_ms"),
        "app_p99": med("app", "p99_ms"),
        "base_p50": med("baseline", "p50_ms"),
        "base_p99": med("baseline", "p99_ms"),
        "generator_cores": max(r[w]["generator_cores"] for r in rounds for w in r),
        "app_cpu_ms": med("app", "worker_cpu_ms"),
        "base_cpu_ms": med("baseline", "worker_cpu_ms"),
        "app_db_cpu_ms": med("app", "db_cpu_ms"),
        "base_db_cpu_ms": med("baseline", "db_cpu_ms"),
        "ok_app": ok_app,
        "stored_app": stored_app,
        "ok_base": ok_base,
        "stored_base": stored_base,
        "mean_batch": ratio(stored_app + keys_before, batches),
    }


def bench_api(run: Run, app: procs.Server, sim: procs.Server, database_url: str) -> None:
    plan = run.plan
    log(f"api: {plan.api_requests} send-text calls through the app and as many straight to the simulator")
    [instance] = requests.post(f"{sim.url}/_sim/bulk-login", json={"count": 1}, timeout=30).json()["instances"]
    uuid, vid = instance["uuid"], str(instance["vid"])
    connection = connect(database_url)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO sessions (uuid, vid, is_login, state, last_event, updated_at, callback_registered_at)"
            " VALUES (%s, %s, 1, 'online', 'login-success', UTC_TIMESTAMP(), UTC_TIMESTAMP(6))",
            (uuid, vid),
        )
    connection.close()
    direct_body = json.dumps(
        {"uuid": uuid, "kf_id": 0, "send_userid": 7881302555913738, "isRoom": False, "content": "hello"}
    ).encode()
    app_body = json.dumps({"uuid": uuid, "send_userid": 7881302555913738, "isRoom": False, "content": "hello"}).encode()
    to_sim = HTTPConnection("127.0.0.1", sim.port, timeout=30)
    to_app = HTTPConnection("127.0.0.1", app.port, timeout=30)
    calls = (
        ("direct", to_sim, "/wxwork/SendTextMsg", direct_body),
        ("app", to_app, "/api/send-text", app_body),
    )
    latencies: dict[str, list[float]] = {"direct": [], "app": []}
    statuses: dict[str, dict[int, int]] = {"direct": {}, "app": {}}
    warmup = 50
    for n in range(plan.api_requests + warmup):
        for name, connection_, path, body in calls if n % 2 == 0 else reversed(calls):
            elapsed, status = timed_post(connection_, path, body)
            statuses[name][status] = statuses[name].get(status, 0) + 1
            if n >= warmup:
                latencies[name].append(elapsed * 1000)
    to_sim.close()
    to_app.close()
    for name in latencies:
        bad = sum(v for k, v in statuses[name].items() if k != 200)
        run.check(bad == 0, f"api: {bad} {name} send-text calls failed: {statuses[name]}")
    figures = {name: {"p50": pct(v, 0.5), "p99": pct(v, 0.99)} for name, v in latencies.items()}
    run.results["api"] = {
        **figures,
        "added_p50": figures["app"]["p50"] - figures["direct"]["p50"],
        "added_p99": figures["app"]["p99"] - figures["direct"]["p99"],
        "calls": plan.api_requests,
    }
    r = run.results["api"]
    log(f"  added latency p50 {r['added_p50']:.2f} ms, p99 {r['added_p99']:.2f} ms")


class CountSampler(threading.Thread):
    """Every `interval` seconds until stopped: SELECT COUNT(*) FROM events, and the workers' CPU time."""

    def __init__(self, database_url: str, workers: list[int], interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.database_url, self.workers, self.interval = database_url, workers, interval
        self.samples: list[int] = []
        self.cpu: list[tuple[float, float]] = []  # (perf_counter, worker CPU seconds)
        self.stopping = threading.Event()

    def run(self) -> None:
        connection = connect(self.database_url)
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


def bench_retention(run: Run, app: procs.Server, database_url: str) -> None:
    plan = run.plan
    total = plan.retention_callbacks
    log(f"retention: {total} callbacks with MAX_EVENTS={MAX_EVENTS}")
    keys_before = scalar(database_url, "SELECT COUNT(*) FROM callback_keys")
    sampler = CountSampler(database_url, app.workers())
    sampler.start()
    try:
        found = loadgen(
            run, f"{app.url}/callback/wxwork?token={CALLBACK_TOKEN}", requests_total=total, id_base=9_000_000_000
        )
    finally:
        sampler.stopping.set()
        sampler.join()
    stored = scalar(database_url, "SELECT COUNT(*) FROM callback_keys") - keys_before
    final = scalar(database_url, "SELECT COUNT(*) FROM events")
    deciles = found["decile_rps"]
    first, last = (deciles[0], deciles[-1]) if deciles else (0.0, 0.0)
    # CPU per callback of the worker(s) in each tenth of the run: the cost itself, which other load on a
    # shared machine moves far less than it moves the rate.
    ends = found["decile_ends"]
    per_tenth = total / 10
    cpu_ms = [(sampler.cpu_at(b) - sampler.cpu_at(a)) / per_tenth * 1000 for a, b in itertools.pairwise(ends)]
    run.check(found["ok_total"] == total, f"retention: {total - found['ok_total']} callbacks not answered 2xx")
    run.check(stored >= found["ok_total"], f"retention lost callbacks: {found['ok_total']} 2xx, {stored} stored")
    run.results["retention"] = {
        "workers": len(app.workers()),
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
    r = run.results["retention"]
    bound = retention_bound(plan, r["workers"])
    run.check(r["max_rows"] <= bound, f"retention: events reached {r['max_rows']} rows, more than {bound}")
    log(
        f"  {r['rps']:.0f}/s, events max {r['max_rows']} rows ({r['samples']} samples), first 10% "
        f"{first:.0f}/s, last 10% {last:.0f}/s"
    )


def retention_bound(plan: Plan, workers: int) -> int:
    """The most rows `events` may hold: MAX_EVENTS after a trim, PRUNE_EVERY more until the next one, the
    batch that crosses PRUNE_EVERY (at most one callback per connection) and, with more than one worker, what
    the other workers commit while the trim runs (again at most one callback per connection)."""
    return MAX_EVENTS + PRUNE_EVERY + plan.connections * (2 if workers > 1 else 1)


def bench_monitor(run: Run, sim: procs.Server, database_url: str) -> None:
    plan = run.plan
    run.results["monitor"] = []
    for size in plan.monitor_sizes:
        log(f"monitor: {size} online sessions, {plan.monitor_latency_ms} ms upstream latency")
        requests.post(f"{sim.url}/_sim/reset", timeout=30).raise_for_status()
        instances = requests.post(f"{sim.url}/_sim/bulk-login", json={"count": size}, timeout=60).json()["instances"]
        connection = connect(database_url)
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM sessions")
            cursor.executemany(
                "INSERT INTO sessions (uuid, vid, is_login, state, last_event, updated_at, callback_registered_at)"
                " VALUES (%s, %s, 1, 'online', 'login-success', UTC_TIMESTAMP(), UTC_TIMESTAMP(6))",
                [(i["uuid"], str(i["vid"])) for i in instances],
            )
        connection.close()
        fault = {"mode": "latency", "latency_ms": plan.monitor_latency_ms, "count": -1}
        fault["actions"] = ["GetRunClientByUuid"]
        requests.post(f"{sim.url}/_sim/faults", json=fault, timeout=30).raise_for_status()
        argv = [
            sys.executable,
            "-m",
            "bench.monitor_pass",
            database_url,
            sim.url,
            str(plan.monitor_concurrency),
            str(plan.monitor_rounds),
        ]
        run.command(argv)
        try:
            out = subprocess.run(argv, cwd=procs.PROJECT_ROOT, check=True, capture_output=True, text=True)
        finally:
            requests.delete(f"{sim.url}/_sim/faults", timeout=30)
        found = json.loads(out.stdout)
        for summary in found["summaries"]:
            run.check(
                summary["checked"] == size and summary["offline"] == 0 and summary["unknown"] == 0,
                f"monitor pass over {size} sessions: {summary}",
            )
        # The last round is the steady state of a running monitor (its connections are open already).
        found["pass"], found["bare"] = found["pass_s"][-1], found["bare_s"][-1]
        found["ideal"] = -(-size // plan.monitor_concurrency) * plan.monitor_latency_ms / 1000
        run.results["monitor"].append(found)
        log(f"  pass {found['pass']:.2f}s, bare calls {found['bare']:.2f}s, ideal {found['ideal']:.2f}s")
    requests.post(f"{sim.url}/_sim/reset", timeout=30)


def bench_memory(run: Run, app: procs.Server, baseline: procs.Server) -> None:
    app_rss, base_rss = app.worker_rss_mb(), baseline.worker_rss_mb()
    run.results["memory"] = {
        "app": max(app_rss, default=0.0),
        "app_workers": app_rss,
        "baseline": max(base_rss, default=0.0),
        "app_start": run.results.get("rss_at_start", 0.0),
    }
    log(f"memory: app worker {app_rss} MB, baseline worker {base_rss} MB")


# ----- report ---------------------------------------------------------------------------------------


def render(run: Run, started: float) -> str:
    plan, res = run.plan, run.results
    lines = [
        "# Benchmark results",
        "",
        f"Mode: **{'quick (BENCH_QUICK=1)' if plan.quick else 'full'}**, run "
        f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime(started))} UTC, "
        f"{time.time() - started:.0f} s. Written by `bench/run.py`; every figure is a ratio against a baseline "
        "measured in the same run, on the same machine, at the same time.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in run.machine.items()],
        "",
        "## Figures",
        "",
        "| # | benchmark | app | baseline (same run) | ratio | target | |",
        "|---|---|---|---|---|---|---|",
    ]
    if "intake" in res:
        i = res["intake"]
        lines += [
            f"| 1 | callback intake, {plan.connections} connections | {i['app_rps']:.0f} callbacks/s | "
            f"{i['base_rps']:.0f}/s (bare Flask + 1 PyMySQL INSERT) | **{i['ratio']:.2f}×** | ≥ 1.00× | "
            f"{run.target(i['ratio'] >= 1.0, 'intake below the floor')} |",
            f"| 1 | intake latency p50 / p99 | {i['app_p50']:.1f} / {i['app_p99']:.1f} ms | "
            f"{i['base_p50']:.1f} / {i['base_p99']:.1f} ms | {ratio(i['app_p50'], i['base_p50']):.2f}× / "
            f"{ratio(i['app_p99'], i['base_p99']):.2f}× | — | |",
            f"| 1 | zero loss | {i['stored_app']} stored / {i['ok_app']} acknowledged | "
            f"{i['stored_base']} / {i['ok_base']} | | every 2xx stored | "
            f"{'met' if i['stored_app'] >= i['ok_app'] else '**FAILED**'} |",
            f"| 1 | CPU per callback: gunicorn worker(s) / database server | {i['app_cpu_ms']:.2f} / "
            f"{i['app_db_cpu_ms']:.2f} ms | {i['base_cpu_ms']:.2f} / {i['base_db_cpu_ms']:.2f} ms | "
            f"{ratio(i['app_cpu_ms'], i['base_cpu_ms']):.2f}× / {ratio(i['app_db_cpu_ms'], i['base_db_cpu_ms']):.2f}× "
            "| — | |",
        ]
    if "intake_one_worker" in res:
        o = res["intake_one_worker"]
        each = ", ".join(f"{x:.2f}" for x in o["ratios"])
        lines.append(
            f"| 1 | the same with one worker each (WEB_CONCURRENCY=1), for comparison | "
            f"{o['app_rps']:.0f} callbacks/s | {o['base_rps']:.0f}/s | **{o['ratio']:.2f}×** (rounds: {each}) | — | |"
        )
    if "api" in res:
        a = res["api"]
        ok = a["added_p50"] <= 3 and a["added_p99"] <= 10
        lines += [
            f"| 2 | `/api/send-text` p50 / p99 | {a['app']['p50']:.2f} / {a['app']['p99']:.2f} ms | "
            f"{a['direct']['p50']:.2f} / {a['direct']['p99']:.2f} ms (SendTextMsg direct) | "
            f"{ratio(a['app']['p50'], a['direct']['p50']):.2f}× / {ratio(a['app']['p99'], a['direct']['p99']):.2f}× | "
            f"added ≤ 3 / ≤ 10 ms: **+{a['added_p50']:.2f} / +{a['added_p99']:.2f} ms** | "
            f"{run.target(ok, 'api overhead above 3/10 ms')} |",
        ]
    for m in res.get("monitor", []):
        n = m["sessions"]
        target = "≤ 10 s" if n == 1000 else "linear"
        ok = m["pass"] <= 10 if n == 1000 else True
        lines.append(
            f"| 3 | monitor pass, {n} sessions, concurrency {m['concurrency']} | {m['pass']:.2f} s "
            f"({m['pass'] / n * 1000:.2f} ms/session) | {m['bare']:.2f} s (bare calls; ideal {m['ideal']:.2f} s) | "
            f"**{ratio(m['pass'], m['bare']):.2f}×** | {target} | "
            f"{run.target(ok, 'monitor pass over 1000 sessions above 10 s') if n == 1000 else ''} |"
        )
    if "retention" in res:
        r = res["retention"]
        bound = retention_bound(plan, r["workers"])
        lines += [
            f"| 4 | events table during {r['callbacks']} callbacks, MAX_EVENTS={MAX_EVENTS} | max {r['max_rows']} rows "
            f"({r['samples']} samples), {r['final_rows']} at the end | MAX_EVENTS = {MAX_EVENTS} | "
            f"{ratio(r['max_rows'], MAX_EVENTS):.2f}× | ≤ {bound} rows | "
            f"{'met' if r['max_rows'] <= bound else '**FAILED**'} |",
            f"| 4 | rate, last 10% vs first 10% | {r['last_rps']:.0f}/s | {r['first_rps']:.0f}/s | "
            f"**{r['flat']:.2f}×** | ≥ 0.90× (flat) | {run.target(r['flat'] >= 0.9, 'retention rate not flat')} |",
            f"| 4 | worker CPU per callback, last 10% vs first 10% | {r['cpu_ms'][-1]:.2f} ms | "
            f"{r['cpu_ms'][0]:.2f} ms | **{r['cpu_flat']:.2f}×** | ≤ 1.10× (flat) | "
            f"{run.target(r['cpu_flat'] <= 1.1, 'retention CPU per callback not flat')} |",
        ]
    if "memory" in res:
        mem = res["memory"]
        lines.append(
            f"| 5 | worker RSS after the runs | {mem['app']:.1f} MB | {mem['baseline']:.1f} MB (baseline worker) | "
            f"{ratio(mem['app'], mem['baseline']):.2f}× | ≤ 80 MB | "
            f"{run.target(mem['app'] <= 80, 'worker RSS above 80 MB')} |"
        )
    lines += ["", "## Details", ""]
    if "intake" in res:
        i = res["intake"]
        lines += [
            "**1. Intake.** Closed loop: each of the "
            f"{plan.connections} keep-alive connections posts a distinct message callback (type 102000, unique "
            f"msg_id) as soon as the previous one is answered; {plan.intake_warmup:.0f} s warm-up, then "
            f"{plan.intake_seconds:.0f} s measured; app and baseline alternate, {plan.intake_rounds} round(s), "
            "medians shown. Zero loss: the dedup keys (`callback_keys`) stored during the runs are counted against "
            "the 2xx answers. The load generator (`bench/loadgen.py`, asyncio raw sockets) used at most "
            f"{i['generator_cores']:.2f} of a core. CPU per callback is the workers' user + system time over the "
            "run divided by the requests; the database server's is shared with whatever else the machine runs. "
            f"The app's group commit wrote {i['mean_batch']:.1f} callbacks per transaction on average.",
            "",
            "| round | app /s | baseline /s | ratio | app p50 / p99 ms | baseline p50 / p99 ms |",
            "|---|---|---|---|---|---|",
        ]
        for n, (r, q) in enumerate(zip(i["rounds"], i["ratios"], strict=True), 1):
            a, b = r["app"], r["baseline"]
            lines.append(
                f"| {n} | {a['rps']:.0f} | {b['rps']:.0f} | {q:.2f}× | {a['p50_ms']:.1f} / {a['p99_ms']:.1f} | "
                f"{b['p50_ms']:.1f} / {b['p99_ms']:.1f} |"
            )
        lines.append("")
    if "api" in res:
        a = res["api"]
        lines += [
            f"**2. API overhead.** {a['calls']} calls each, one keep-alive connection, app and direct calls "
            "interleaved (after 50 warm-up calls); added latency = app percentile − direct percentile. The app "
            "looks the session up, calls the simulator and records the call in `events` (its own commit).",
            "",
        ]
    if res.get("monitor"):
        lines += [
            f"**3. Monitor.** `check_pass(app)` in a process of its own (`bench/monitor_pass.py`), "
            f"MONITOR_CONCURRENCY={plan.monitor_concurrency}, simulator latency fault of "
            f"{plan.monitor_latency_ms} ms on GetRunClientByUuid. Baseline: the same GetRunClientByUuid calls "
            "with a bare requests.Session and a thread pool of the same size, no database. Ideal = "
            f"ceil(N / concurrency) × latency. {plan.monitor_rounds} rounds of (bare calls, pass) per size; the "
            "figures are the last round's (a running monitor keeps its connections), the first pass is shown too.",
            "",
            "| sessions | pass s | first pass s | bare s | ideal s | ms / session | checked / offline / unknown |",
            "|---|---|---|---|---|---|---|",
        ]
        for m in res["monitor"]:
            s = m["summaries"][-1]
            lines.append(
                f"| {m['sessions']} | {m['pass']:.2f} | {m['pass_s'][0]:.2f} | {m['bare']:.2f} | {m['ideal']:.2f} | "
                f"{m['pass'] / m['sessions'] * 1000:.2f} | {s['checked']} / {s['offline']} / {s['unknown']} |"
            )
        lines.append("")
    if "retention" in res:
        r = res["retention"]
        others_during_trim = (
            f" + what the other workers ({r['workers']} in all) commit while a trim runs "
            "(again at most one per connection)"
        )
        lines += [
            f"**4. Retention.** {r['callbacks']} callbacks on {plan.connections} connections at "
            f"{r['rps']:.0f}/s (p99 {r['p99_ms']:.1f} ms); `SELECT COUNT(*) FROM events` sampled every 50 ms from "
            f"another connection; the bound is MAX_EVENTS + PRUNE_EVERY ({PRUNE_EVERY}) + the batch crossing "
            f"the trim point (at most one callback per connection)"
            f"{others_during_trim if r['workers'] > 1 else ''}. Rate per tenth of the run: "
            f"{', '.join(f'{d:.0f}' for d in r['deciles'])} /s; "
            f"worker CPU per callback: {', '.join(f'{c:.2f}' for c in r['cpu_ms'])} ms. By the end "
            f"`callback_keys` (the dedup history, kept CALLBACK_DEDUP_HOURS) holds all {r['callbacks']} keys.",
            "",
        ]
    if "memory" in res:
        mem = res["memory"]
        workers = ", ".join(f"{v:.1f}" for v in mem["app_workers"])
        lines += [
            f"**5. Memory.** VmRSS of the app's gunicorn worker(s) after benchmarks 1, 2 and 4: {workers} MB "
            f"({mem['app_start']:.1f} MB right after start). The monitor process peaked at "
            f"{max((m['peak_rss_mb'] for m in res.get('monitor', [])), default=0):.1f} MB.",
            "",
        ]
    lines += ["## Commands", "", "```sh", "make bench        # or: make bench-smoke (BENCH_QUICK=1)"]
    lines += run.commands
    lines += ["```", ""]
    if run.failures or run.misses:
        lines += ["## Not met", ""]
        lines += [f"- FAILED: {f}" for f in run.failures]
        lines += [f"- missed: {m}" for m in run.misses]
        lines.append("")
    return "\n".join(lines)


def gunicorn_settings() -> str:
    """Workers × threads as gunicorn.conf.py computes them from this environment."""
    try:
        conf = runpy.run_path(str(procs.PROJECT_ROOT / "gunicorn.conf.py"))
    except Exception as exc:  # shown, not fatal: gunicorn itself reports a bad setting
        return f"unknown ({exc})"
    return f"{conf['worker_class']}, {conf['workers']} worker(s) × {conf['threads']} threads (gunicorn.conf.py)"


# ----- main -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", default=os.environ.get("BENCH_QUICK", "") == "1")
    parser.add_argument(
        "--output", help="where to write the report (default bench/RESULTS.md, quick: RESULTS-smoke.md)"
    )
    parser.add_argument("--only", default="intake,api,monitor,retention,memory")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a timing target is missed too")
    parser.add_argument("--rounds", type=int, help="intake rounds (app and baseline each)")
    parser.add_argument("--seconds", type=float, help="measured seconds of each intake run")
    args = parser.parse_args(argv)
    plan = Plan.make(args.quick)
    if args.rounds or args.seconds:
        plan = replace(
            plan, intake_rounds=args.rounds or plan.intake_rounds, intake_seconds=args.seconds or plan.intake_seconds
        )
    only = set(args.only.split(","))
    output = Path(args.output) if args.output else BENCH_DIR / ("RESULTS-smoke.md" if plan.quick else "RESULTS.md")
    run = Run(plan=plan, machine=procs.machine())
    started = time.time()
    logs = Path(tempfile.mkdtemp(prefix="wxwork-bench-"))
    log(f"{'quick' if plan.quick else 'full'} run; server logs in {logs}")

    from sqlalchemy import create_engine, text

    from wxwork_demo.schema import upgrade_database

    name = f"wxwork_bench_{os.getpid()}_{uuidlib.uuid4().hex[:6]}"
    server = create_engine(server_url())
    with server.connect() as connection:
        run.machine["database"] = connection.execute(text("SELECT VERSION()")).scalar()
        connection.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    database_url = f"{server_url()}/{name}?charset=utf8mb4"
    servers: list[procs.Server] = []
    try:
        upgrade_database(database_url)
        connection = connect(database_url)
        with connection.cursor() as cursor:
            cursor.execute(CREATE_TABLE)
        connection.close()
        sim_port, app_port, base_port = procs.free_port(), procs.free_port(), procs.free_port()
        sim = procs.gunicorn_server(
            "simulator",
            "bench.sim_app:app",
            sim_port,
            logs,
            config="bench/gunicorn_sim.conf.py",
            SIM_BIND=f"127.0.0.1:{sim_port}",
        )
        sim.health_path = "/_sim/state?limit=1"
        common = {k: os.environ[k] for k in ("WEB_CONCURRENCY", "GUNICORN_THREADS") if k in os.environ}
        run.machine["gunicorn (app and baseline)"] = gunicorn_settings()
        common["GUNICORN_ACCESSLOG"] = os.environ.get("GUNICORN_ACCESSLOG", "-")

        def app_env(port: int) -> dict[str, str]:
            return {
                "DATABASE_URL": database_url,
                "BASE_URL": sim.url,
                "CALLBACK_URL": f"http://127.0.0.1:{port}/callback/wxwork",
                "CALLBACK_TOKEN": CALLBACK_TOKEN,
                "MONITOR_AUTOSTART": "false",
                "MAX_EVENTS": str(MAX_EVENTS),
            }

        app = procs.gunicorn_server("app", "wsgi:app", app_port, logs, **app_env(app_port), **common)
        baseline = procs.gunicorn_server(
            "baseline", "bench.baseline_app:app", base_port, logs, BASELINE_DATABASE_URL=database_url, **common
        )
        for each in (sim, app, baseline):
            servers.append(each.start())
            shown = {k: v for k, v in each.env.items() if k not in os.environ or os.environ[k] != v}
            shown.pop("PYTHONUNBUFFERED", None)
            run.command(each.command, shown)
        run.results["rss_at_start"] = max(app.worker_rss_mb(), default=0.0)
        # One request each so that lazy setup (secrets, first connections) is not in the figures.
        requests.post(f"{app.url}/callback/wxwork?token={CALLBACK_TOKEN}", json={"uuid": "warm", "type": 1}, timeout=30)
        if "intake" in only:
            bench_intake(run, app, baseline, database_url)
        if "api" in only:
            bench_api(run, app, sim, database_url)
        if "retention" in only:
            bench_retention(run, app, database_url)
        if "memory" in only:
            bench_memory(run, app, baseline)
        if "intake" in only and not plan.quick:
            # For comparison: both servers again with one worker each (the app's default is one per core).
            one = {**common, "WEB_CONCURRENCY": "1"}
            port_app, port_base = procs.free_port(), procs.free_port()
            pair = [
                procs.gunicorn_server("app-1-worker", "wsgi:app", port_app, logs, **app_env(port_app), **one),
                procs.gunicorn_server(
                    "baseline-1-worker",
                    "bench.baseline_app:app",
                    port_base,
                    logs,
                    BASELINE_DATABASE_URL=database_url,
                    **one,
                ),
            ]
            for each in pair:
                servers.append(each.start())
            warm = {"uuid": "warm", "type": 1}
            requests.post(f"{pair[0].url}/callback/wxwork?token={CALLBACK_TOKEN}", json=warm, timeout=30)
            bench_intake(run, pair[0], pair[1], database_url, key="intake_one_worker", rounds_wanted=2)
            for each in pair:
                each.stop()
                servers.remove(each)
        if "monitor" in only:
            bench_monitor(run, sim, database_url)
    finally:
        for each in reversed(servers):
            each.stop()
        with server.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        server.dispose()
    output.write_text(render(run, started))
    log(f"wrote {output}")
    if run.failures:
        log(f"{len(run.failures)} failure(s): " + "; ".join(run.failures))
        return 1
    if run.misses:
        log(f"targets missed: {'; '.join(run.misses)}")
        return 1 if args.strict else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
