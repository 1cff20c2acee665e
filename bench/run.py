"""The benchmark runner: `make bench` (full) or `make bench-smoke` / BENCH_QUICK=1 (small, for CI).

It makes two databases on the MariaDB/MySQL server (BENCH_MYSQL_URL, else TEST_MYSQL_URL, else
mysql+pymysql://root@127.0.0.1:3306): the app's (migrated, shared with the bare floors) and the old demo's.
It starts the upstream simulator, the baselines and the app under each candidate server, runs the
benchmarks, writes the report (bench/report.py), stops everything and drops the databases. Each figure is
a ratio against a baseline measured in the same run:

1, 2  intake      callbacks/s at 16 connections of the app (gunicorn gthread, gunicorn gevent, granian) and
                  the bare Flask floor, as ratios to the old demo (bench/node/old_demo.js) and to the limit
                  (bench/node/limit.js) of the same round; with MAX_EVENTS=100 and with a 200,000-row
                  events table; every 2xx must be stored. Then the retention bound (MAX_EVENTS=100).
3     api         /api/send-text vs SendTextMsg straight to the simulator, under 16 connections of callbacks.
4     slow peers  callbacks and /api/health p99 with 64 stalled connections vs without; the stalled ones
                  closed by the server in bounded time.
6     memory      a worker's RSS after the runs; the monitor process's peak.
7     monitor     one pass over 1,000 / 5,000 / 20,000 accounts (100 ms upstream latency) vs bare calls.
15    send-more   send-image by URL vs its two direct upstream calls; 500 rooms listed vs the bare pages; pacing
                  accuracy of one account's sends through 4 workers (bench/send_more.py, issue 15).

Targets 3 and 4 run on the app's default server (gunicorn.conf.py) with the large table.

Exit status: 1 when something is incorrect (lost callbacks, failed requests, an unbounded events table,
a monitor pass that did not check every session); missed timing targets only fail with --strict.
"""

from __future__ import annotations

import argparse
import os
import runpy
import tempfile
import uuid as uuidlib
from dataclasses import dataclass, replace
from pathlib import Path

import requests

from bench import database, procs
from bench.api_latency import bench_api_under_load
from bench.intake import CALLBACK_TOKEN, LIMIT, OLD_DEMO, Contender, bench_intake, bench_retention
from bench.monitor_scale import bench_monitor
from bench.plan import SMALL_TABLE, Plan, Run, Scenario, log
from bench.report import render
from bench.send_more import bench_send_more
from bench.slow_peers import bench_slow_peers

BENCH_DIR = Path(__file__).resolve().parent
ALL = "intake,api,slow-peers,retention,memory,monitor,send-more"


def gunicorn_conf(**env: str) -> dict:
    """gunicorn.conf.py's settings as it computes them from this environment (plus `env`)."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        return runpy.run_path(str(procs.PROJECT_ROOT / "gunicorn.conf.py"))
    finally:
        os.environ.clear()
        os.environ.update(saved)


class Servers:
    """The run's servers: started on free ports, all stopped at the end."""

    def __init__(self, run: Run, logs: Path) -> None:
        self.run, self.logs, self.started = run, logs, []

    def start(self, server: procs.Server, warm: str | None = None) -> procs.Server:
        self.started.append(server.start())
        shown = {k: v for k, v in server.env.items() if k not in os.environ or os.environ[k] != v}
        shown.pop("PYTHONUNBUFFERED", None)
        self.run.command(server.command, shown)
        if warm:  # lazy setup (secrets, first connections) stays out of the figures
            requests.post(warm, json={"uuid": "warm", "type": 1}, timeout=30)
        return server

    def stop(self, server: procs.Server) -> None:
        server.stop()
        self.started.remove(server)

    def stop_all(self) -> None:
        for server in reversed(self.started):
            server.stop()
        self.started.clear()


def app_env(database_url: str, sim_url: str, port: int, max_events: int) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "BASE_URL": sim_url,
        "CALLBACK_URL": f"http://127.0.0.1:{port}/callback/wxwork",
        "CALLBACK_TOKEN": CALLBACK_TOKEN,
        "MONITOR_AUTOSTART": "false",
        "MAX_EVENTS": str(max_events),
        # The API benchmarks send "hi" call after call, as fast as they can: pacing and the loop guard off
        # (bench/send_more.py measures them on their own).
        "SEND_MIN_INTERVAL_MS": "0",
        "SEND_JITTER_MS": "0",
        "SEND_REPEAT_LIMIT": "1000000000",
    }


def start_contenders(
    servers: Servers, scenario: Scenario, app_url: str, old_url: str, sim: procs.Server, floors: list[Contender]
) -> list[Contender]:
    """The old demo and the app under each candidate server, for this scenario's MAX_EVENTS."""
    logs, conf = servers.logs, gunicorn_conf(DATABASE_URL=app_url)
    default_class = conf["worker_class"]
    suffix = f"-{scenario.key}"
    port = procs.free_port()
    old = servers.start(
        procs.node_server(
            OLD_DEMO + suffix,
            "old_demo.js",
            port,
            logs,
            OLD_DEMO_DATABASE_URL=old_url,
            MAX_EVENTS=str(scenario.max_events),
        )
    )
    if scenario.prefill_rows:
        database.prefill_events(old_url, scenario.prefill_rows)
    contenders = [
        Contender(OLD_DEMO, "old demo (Node + mysql2, 4 statements)", old, lambda: _max_id(old_url, "events")),
        *floors,
    ]
    keys = lambda: database.scalar(app_url, "SELECT COUNT(*) FROM callback_keys")  # noqa: E731
    for worker_class in ("gthread", "gevent"):
        port = procs.free_port()
        env = app_env(app_url, sim.url, port, scenario.max_events)
        server = procs.gunicorn_server(
            f"app-{worker_class}{suffix}", "wsgi:app", port, logs, GUNICORN_WORKER_CLASS=worker_class, **env
        )
        label = f"app, gunicorn {worker_class} ({conf['workers']} workers)"
        contender = Contender(worker_class, label, server, keys, is_app=True, default=worker_class == default_class)
        servers.start(server, warm=contender.url)
        contenders.append(contender)
    port = procs.free_port()
    threads = int(os.environ.get("GUNICORN_THREADS", "16"))
    server = procs.granian_server(
        f"app-granian{suffix}",
        "wsgi:app",
        port,
        logs,
        workers=conf["workers"],
        threads=threads,
        header_timeout_s=int(conf["keepalive"]),
        **app_env(app_url, sim.url, port, scenario.max_events),
    )
    contender = Contender(
        "granian", f"app, granian WSGI ({conf['workers']} workers × {threads} threads)", server, keys, is_app=True
    )
    servers.start(server, warm=contender.url)
    contenders.append(contender)
    return contenders


def _max_id(url: str, table: str) -> int:
    return database.scalar(url, f"SELECT COALESCE(MAX(id), 0) FROM {table}")


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", default=os.environ.get("BENCH_QUICK", "") == "1")
    parser.add_argument(
        "--output", help="where to write the report (default bench/RESULTS.md, quick: RESULTS-smoke.md)"
    )
    parser.add_argument("--only", default=ALL, help=f"a comma-separated subset of {ALL}")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a timing target is missed too")
    parser.add_argument("--rounds", type=int, help="intake rounds (every contender each)")
    parser.add_argument("--seconds", type=float, help="measured seconds of each intake run")
    parser.add_argument("--tables", default="small,large", help="events tables to run with: small, large or both")
    parser.add_argument("--monitor-sizes", help="accounts of each monitor pass, comma-separated (1000,5000,20000)")
    parser.add_argument(
        "--monitor-concurrency", type=int, help="MONITOR_CONCURRENCY of the monitor passes (default: the app's)"
    )
    return parser.parse_args(argv)


def _plan_of(args: argparse.Namespace) -> Plan:
    plan = Plan.make(args.quick)
    if args.monitor_sizes:
        plan = replace(plan, monitor_sizes=tuple(int(n) for n in args.monitor_sizes.split(",")))
    if args.monitor_concurrency:
        plan = replace(plan, monitor_concurrency=args.monitor_concurrency)
    if args.rounds or args.seconds:
        plan = replace(
            plan, intake_rounds=args.rounds or plan.intake_rounds, intake_seconds=args.seconds or plan.intake_seconds
        )
    return plan


def _describe_servers(run: Run, conf: dict) -> None:
    run.machine["database"] = database.version(database.server_url())
    run.machine["app's default server"] = (
        f"gunicorn {conf['worker_class']}, {conf['workers']} worker(s)"
        + (f" × {conf['threads']} threads" if conf["worker_class"] == "gthread" else "")
        + f", access log {'on' if conf['accesslog'] else 'off'} (gunicorn.conf.py)"
    )


@dataclass
class Stage:
    """What every scenario runs against: the databases, the simulator and the two floors, started once."""

    run: Run
    servers: Servers
    conf: dict
    only: set[str]
    app_url: str
    old_url: str
    sim: procs.Server
    floors: list[Contender]
    database_pids: list[int]


def _start_simulator(servers: Servers) -> procs.Server:
    sim_port = procs.free_port()
    sim = procs.gunicorn_server(
        "simulator",
        "bench.sim_app:app",
        sim_port,
        servers.logs,
        config="bench/gunicorn_sim.conf.py",
        SIM_BIND=f"127.0.0.1:{sim_port}",
    )
    sim.health_path = "/_sim/state?limit=1"
    servers.start(sim)
    return sim


def _start_floors(servers: Servers, app_url: str, conf: dict) -> list[Contender]:
    """The limit (bare Node) and the floor (bare Flask), both counting rows of the floor table."""
    floor_rows = lambda: database.scalar(app_url, f"SELECT COUNT(*) FROM {database.FLOOR_TABLE}")  # noqa: E731
    port = procs.free_port()
    limit = servers.start(procs.node_server(LIMIT, "limit.js", port, servers.logs, LIMIT_DATABASE_URL=app_url))
    port = procs.free_port()
    floor_server = procs.gunicorn_server(
        "floor",
        "bench.baseline_app:app",
        port,
        servers.logs,
        BASELINE_DATABASE_URL=app_url,
        GUNICORN_WORKER_CLASS=conf["worker_class"],
    )
    servers.start(floor_server)
    return [
        Contender(LIMIT, "the limit (bare Node http + 1 INSERT)", limit, floor_rows),
        Contender(
            "floor", f"bare Flask + 1 PyMySQL INSERT (gunicorn {conf['worker_class']})", floor_server, floor_rows
        ),
    ]


def _bench_scenario(stage: Stage, scenario: Scenario) -> None:
    """Every selected benchmark of one events table (small or large), against freshly started contenders."""
    run, only = stage.run, stage.only
    if scenario.prefill_rows:
        log(f"pre-filling events with {scenario.prefill_rows:,} rows")
        database.prefill_events(stage.app_url, scenario.prefill_rows)
    contenders = start_contenders(stage.servers, scenario, stage.app_url, stage.old_url, stage.sim, stage.floors)
    default = next(c for c in contenders if c.default)
    if "intake" in only:
        bench_intake(run, scenario, contenders, stage.database_pids)
    if scenario.key == SMALL_TABLE:
        if "retention" in only:
            bench_retention(run, default, stage.app_url, scenario.max_events)
    else:
        if "api" in only:
            bench_api_under_load(run, default, stage.sim, stage.app_url)
        if "slow-peers" in only:
            _bench_slow_peers_of(stage, contenders)
    if "memory" in only:
        rss = default.server.worker_rss_mb()
        run.results.setdefault("memory", {})[scenario.key] = rss
        log(f"memory: {default.label} workers {', '.join(f'{v:.1f}' for v in rss)} MB")
    for each in contenders:
        if each not in stage.floors:
            stage.servers.stop(each.server)


def _bench_slow_peers_of(stage: Stage, contenders: list[Contender]) -> None:
    conf = stage.conf
    keepalive = f"keepalive = {conf['keepalive']} s (gunicorn.conf.py)"
    for each in contenders:
        # A quick run checks the default server only; a full one compares them all.
        if each.is_app and (each.default or not stage.run.plan.quick):
            setting = keepalive if each.key != "granian" else "--http1-header-read-timeout (as long)"
            bench_slow_peers(stage.run, each, float(conf["keepalive"]), setting)


def _exit_status(run: Run, strict: bool) -> int:
    if run.failures:
        log(f"{len(run.failures)} failure(s): " + "; ".join(run.failures))
        return 1
    if run.misses:
        log(f"targets missed: {'; '.join(run.misses)}")
        return 1 if strict else 0
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    plan = _plan_of(args)
    output = Path(args.output) if args.output else BENCH_DIR / ("RESULTS-smoke.md" if plan.quick else "RESULTS.md")
    run = Run(plan=plan, machine=procs.machine())
    logs = Path(tempfile.mkdtemp(prefix="wxwork-bench-"))
    log(f"{'quick' if plan.quick else 'full'} run; server logs in {logs}")
    conf = gunicorn_conf(DATABASE_URL=database.server_url())
    _describe_servers(run, conf)
    name = f"wxwork_bench_{os.getpid()}_{uuidlib.uuid4().hex[:6]}"
    servers = Servers(run, logs)
    try:
        app_url = database.create(name)
        old_url = database.create(f"{name}_old")
        database.prepare_app_database(app_url)
        sim = _start_simulator(servers)
        floors = _start_floors(servers, app_url, conf)
        database_pids = procs.pids_named("mariadbd") or procs.pids_named("mysqld")
        stage = Stage(run, servers, conf, set(args.only.split(",")), app_url, old_url, sim, floors, database_pids)
        for scenario in plan.scenarios:
            if scenario.key in args.tables.split(","):
                _bench_scenario(stage, scenario)
        if "monitor" in stage.only:
            bench_monitor(run, sim, app_url)
        if "send-more" in stage.only:
            bench_send_more(run, servers, sim, app_url)
    except Exception as exc:  # what was measured so far is still written, with the error
        run.check(False, f"the run stopped: {type(exc).__name__}: {exc}")
        raise
    finally:
        servers.stop_all()
        database.drop(name)
        database.drop(f"{name}_old")
        output.write_text(render(run))
    log(f"wrote {output}")
    return _exit_status(run, args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
