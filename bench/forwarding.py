"""Inbox and forwarding benchmarks: `python -m bench.forwarding` (`--quick`, or BENCH_QUICK=1, for CI).

Against MariaDB (the server of bench/run.py: BENCH_MYSQL_URL, else TEST_MYSQL_URL, else root@127.0.0.1),
the app under gunicorn (`gunicorn.conf.py`), the delivery worker as `flask forward run`, and a local
receiver in this process that verifies every signature. Ratios are taken within one run:

1. intake     callbacks/s with FORWARD_URL set (each message's outbox row rides in the same batch) vs unset,
              alternating rounds; target at least 0.9x;
2. delivery   the backlog of (1) drained by one `flask forward run`: deliveries/s vs the intake rate;
              then intake and delivery together: callback → receiver latency p50/p99 and the backlog left;
3. outage     the receiver down for OUTAGE_S under load, then up: every message delivered, the time to
              drain, none in flight twice at the same moment;
4. reads      GET /api/messages (newest page, a page further back, one conversation) p50/p99 with 1,000,000
              messages stored (quick: 100,000).

Writes bench/RESULTS-forwarding.md (quick: bench/RESULTS-forwarding-smoke.md) and puts its summary in
bench/RESULTS.md (quick: RESULTS-smoke.md), between markers, after bench/run.py has written that report.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid as uuidlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

from bench import procs
from bench.database import connect, scalar, server_url
from bench.intake import CALLBACK_TOKEN
from bench.plan import log, pct

BENCH_DIR = Path(__file__).resolve().parent
SECRET = "bench-forward-secret-0123456789"
# The account whose inbox the reads benchmark fills and pages through.
ACCOUNT = "1688853790599424"
CONNECTIONS = 16


@dataclass(frozen=True)
class Plan:
    quick: bool
    # Intake on vs off: many short rounds against the same two servers, the order turning each round, so that
    # whatever else runs on a shared machine weighs on both about equally; the median of per-round ratios.
    rounds: int = 12
    seconds: float = 4.0
    warmup: float = 1.0
    # The other parts: one stretch of load each.
    load_s: float = 10.0
    outage_s: float = 30.0
    stored: int = 1_000_000
    reads: int = 300

    @classmethod
    def make(cls, quick: bool) -> Plan:
        return (
            cls(quick=True, rounds=6, seconds=3.0, warmup=1.0, load_s=4.0, outage_s=5.0, stored=100_000, reads=100)
            if quick
            else cls(quick=False)
        )


# ----- the receiver ---------------------------------------------------------------------------------


@dataclass
class Receiver:
    """A forwarding target that checks each signature and notes when each message arrived."""

    up: bool = True
    arrivals: dict[int, float] = field(default_factory=dict)  # message id -> first arrival (wall clock)
    received_at: dict[int, str] = field(default_factory=dict)  # message id -> its receivedAt
    requests: int = 0
    bad_signatures: int = 0
    overlaps: int = 0
    in_flight: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Receiver:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                owner.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        raw = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        now = time.time()
        delivery = request.headers.get("X-Wxwork-Delivery", "")
        stamp = request.headers.get("X-Wxwork-Timestamp", "")
        expected = "sha256=" + hmac.new(SECRET.encode(), f"{stamp}.".encode() + raw, hashlib.sha256).hexdigest()
        good = hmac.compare_digest(expected, request.headers.get("X-Wxwork-Signature", ""))
        with self.lock:
            self.requests += 1
            self.in_flight[delivery] = self.in_flight.get(delivery, 0) + 1
            self.overlaps += self.in_flight[delivery] > 1
            up = self.up
            if not good:
                self.bad_signatures += 1
            elif up:
                body = json.loads(raw)
                self.arrivals.setdefault(body["id"], now)
                self.received_at.setdefault(body["id"], body["receivedAt"])
        try:
            status = 204 if up and good else 503
            request.send_response(status)
            request.send_header("Content-Length", "0")
            request.end_headers()
        finally:
            with self.lock:
                self.in_flight[delivery] -= 1

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)

    def latencies_ms(self, ids: set[int] | None = None) -> list[float]:
        with self.lock:
            pairs = [(self.arrivals[i], self.received_at[i]) for i in self.arrivals if ids is None or i in ids]
        return sorted(max(0.0, (arrived - _epoch(at)) * 1000) for arrived, at in pairs)


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


# ----- helpers --------------------------------------------------------------------------------------


def loadgen(url: str, seconds: float, warmup: float, id_base: int) -> dict:
    argv = [sys.executable, "-m", "bench.loadgen", "--url", url, "--connections", str(CONNECTIONS)]
    argv += ["--duration", str(seconds), "--warmup", str(warmup), "--id-base", str(id_base)]
    out = subprocess.run(argv, cwd=procs.PROJECT_ROOT, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def wait_for(check, timeout: float, interval: float = 0.2) -> float:
    """Seconds until `check()` is true (raises after `timeout`)."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"not done within {timeout} s")
        time.sleep(interval)
    return time.monotonic() - started


@dataclass
class Bench:
    plan: Plan
    database_url: str
    logs: Path
    receiver: Receiver
    database_pids: list[int] = field(default_factory=list)
    results: dict = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)

    def app(self, name: str, forwarding: bool) -> procs.Server:
        port = procs.free_port()
        env = {
            "DATABASE_URL": self.database_url,
            "BASE_URL": "http://127.0.0.1:9",
            "CALLBACK_URL": f"http://127.0.0.1:{port}/callback/wxwork",
            "CALLBACK_TOKEN": CALLBACK_TOKEN,
            "MONITOR_AUTOSTART": "false",
            "MAX_EVENTS": "100",
        }
        if forwarding:
            env.update(FORWARD_URL=self.receiver.url, FORWARD_SECRET=SECRET)
        server = procs.gunicorn_server(name, "wsgi:app", port, self.logs, **env).start()
        requests.post(
            f"{server.url}/callback/wxwork?token={CALLBACK_TOKEN}", json={"uuid": "warm", "type": 1}, timeout=30
        )
        return server

    def forward_worker(self) -> subprocess.Popen:
        env = procs.clean_env(
            DATABASE_URL=self.database_url,
            FORWARD_URL=self.receiver.url,
            FORWARD_SECRET=SECRET,
            FORWARD_BACKOFF_S="0.5",
            FORWARD_BACKOFF_MAX_S="2",
            FORWARD_MAX_ATTEMPTS="1000",
            MONITOR_AUTOSTART="false",
        )
        argv = [sys.executable, "-m", "flask", "--app", "wsgi", "forward", "run"]
        self.commands.append(" ".join(argv))
        with open(self.logs / "forward.log", "ab") as out:
            return subprocess.Popen(argv, cwd=procs.PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)

    def count(self, table: str) -> int:
        return scalar(self.database_url, f"SELECT COUNT(*) FROM {table}")

    def delivered(self) -> int:
        return scalar(self.database_url, "SELECT COUNT(*) FROM deliveries WHERE status = 'delivered'")

    def pending(self) -> int:
        return scalar(self.database_url, "SELECT COUNT(*) FROM deliveries WHERE status = 'pending'")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


# ----- 1 and 2: intake on vs off, then delivery -------------------------------------------------------


def intake_round(bench: Bench, app: procs.Server, id_base: int) -> dict:
    """One stretch of callbacks at `app`: its load generator summary, plus what was stored and the CPU spent
    per callback by the app's workers and by the database server."""
    plan = bench.plan
    workers = app.workers()
    messages, deliveries = bench.count("messages"), bench.count("deliveries")
    cpu = procs.cpu_seconds(workers), procs.cpu_seconds(bench.database_pids)
    found = loadgen(f"{app.url}/callback/wxwork?token={CALLBACK_TOKEN}", plan.seconds, plan.warmup, id_base)
    done = max(found["requests"], 1)
    found["worker_cpu_ms"] = (procs.cpu_seconds(workers) - cpu[0]) / done * 1000
    found["db_cpu_ms"] = (procs.cpu_seconds(bench.database_pids) - cpu[1]) / done * 1000
    found["messages"] = bench.count("messages") - messages
    found["deliveries"] = bench.count("deliveries") - deliveries
    return found


def bench_intake_and_delivery(bench: Bench) -> None:
    """Intake with forwarding on vs off, then the outbox the 'on' rounds left drained by one worker.

    Both servers run side by side for the whole comparison (the same gunicorn.conf.py, the same settings but
    FORWARD_URL/FORWARD_SECRET, the same database), and take turns: several short rounds, the order turning
    each round. Only the one under load works; the other is idle. The figure is the median of the per-round
    ratios, and their spread says how far to trust it. CPU per callback (workers, database) is measured too:
    on a shared machine it moves much less than the rate does.
    """
    plan = bench.plan
    apps = {"off": bench.app("app-off", False), "on": bench.app("app-on", True)}
    rounds = []
    try:
        for number in range(plan.rounds):
            found = {}
            for key in ("off", "on") if number % 2 == 0 else ("on", "off"):
                base = (number * 2 + (key == "on") + 1) * 10_000_000
                found[key] = each = intake_round(bench, apps[key], base)
                # Every callback answered 2xx is a stored message, and with forwarding on it has its outbox row.
                if each["messages"] < each["ok_total"]:
                    bench.failures.append(f"intake {key}: {each['ok_total']} 2xx but {each['messages']} stored")
                wanted = each["messages"] if key == "on" else 0
                if each["deliveries"] != wanted:
                    bench.failures.append(f"intake {key}: {each['messages']} stored, {each['deliveries']} outbox rows")
            rounds.append(found)
            log(
                f"intake round {number + 1}: off {found['off']['rps']:.0f}/s ({found['off']['worker_cpu_ms']:.2f} ms"
                f" CPU), on {found['on']['rps']:.0f}/s ({found['on']['worker_cpu_ms']:.2f} ms CPU): "
                f"{found['on']['rps'] / found['off']['rps']:.2f}x"
            )
    finally:
        for app in apps.values():
            app.stop()
    ratios = [r["on"]["rps"] / r["off"]["rps"] for r in rounds]
    cpu_ratios = [r["on"]["worker_cpu_ms"] / r["off"]["worker_cpu_ms"] for r in rounds]

    def median(key: str, side: str) -> float:
        return statistics.median(r[side][key] for r in rounds)

    backlog = bench.pending()
    # The backlog of every "on" round, drained by one worker with nothing else running.
    worker = bench.forward_worker()
    cpu = procs.cpu_seconds([worker.pid]), time.process_time(), procs.cpu_seconds(bench.database_pids)
    try:
        drained_s = wait_for(lambda: bench.pending() == 0, timeout=1800, interval=0.5)
        worker_cpu, receiver_cpu = procs.cpu_seconds([worker.pid]) - cpu[0], time.process_time() - cpu[1]
        db_cpu = procs.cpu_seconds(bench.database_pids) - cpu[2]
    finally:
        stop(worker)
    per_delivery = 1000 / max(backlog, 1)
    bench.results["intake"] = {
        "ratio": statistics.median(ratios),
        "ratios": ratios,
        "quartiles": statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3,
        "cpu_ratio": statistics.median(cpu_ratios),
        "cpu_ratios": cpu_ratios,
        **{f"{side}_{name}": median(key, side) for side in ("off", "on") for name, key in FIGURES.items()},
        "backlog": backlog,
        "drain_s": drained_s,
        "delivery_rps": backlog / drained_s if drained_s else 0.0,
        "delivery_cpu_ms": {
            "worker": worker_cpu * per_delivery,
            "receiver": receiver_cpu * per_delivery,
            "database": db_cpu * per_delivery,
        },
    }
    log(
        f"intake on/off: median {statistics.median(ratios):.2f}x (rounds {min(ratios):.2f}-{max(ratios):.2f}), "
        f"worker CPU per callback on/off {statistics.median(cpu_ratios):.2f}x"
    )
    log(f"drained {backlog} deliveries in {drained_s:.1f} s: {backlog / max(drained_s, 0.001):.0f}/s")
    if bench.receiver.bad_signatures:
        bench.failures.append(f"{bench.receiver.bad_signatures} deliveries failed the signature check")


# Per side of the intake comparison: the figure's name in the results, the load generator's or intake_round's key.
FIGURES = {"rps": "rps", "p50": "p50_ms", "p99": "p99_ms", "cpu_ms": "worker_cpu_ms", "db_cpu_ms": "db_cpu_ms"}


def bench_together(bench: Bench) -> None:
    """Intake and delivery at once: latency callback → receiver, and what the outbox holds at the end."""
    plan = bench.plan
    app = bench.app("app-together", True)
    worker = bench.forward_worker()
    try:
        time.sleep(1.0)
        first_id = scalar(bench.database_url, "SELECT COALESCE(MAX(id), 0) FROM messages")
        result = loadgen(f"{app.url}/callback/wxwork?token={CALLBACK_TOKEN}", plan.load_s, 0.0, 900_000_000)
        left = bench.pending()
        drain_s = wait_for(lambda: bench.pending() == 0, timeout=600)
        ids = {row for row in range(first_id + 1, first_id + 1 + result["ok_total"])}
        latencies = bench.receiver.latencies_ms(ids)
    finally:
        stop(worker)
        app.stop()
    bench.results["together"] = {
        "rps": result["rps"],
        "left": left,
        "drain_s": drain_s,
        "latency_p50": pct(latencies, 0.50),
        "latency_p99": pct(latencies, 0.99),
        "latency_n": len(latencies),
    }
    log(f"together: {result['rps']:.0f}/s, backlog at the end {left}, latency p50 {pct(latencies, 0.5):.0f} ms")


# ----- 3: the receiver down under load ----------------------------------------------------------------


def bench_outage(bench: Bench) -> None:
    plan = bench.plan
    receiver = bench.receiver
    app = bench.app("app-outage", True)
    worker = bench.forward_worker()
    try:
        before = bench.delivered()
        first_id = scalar(bench.database_url, "SELECT COALESCE(MAX(id), 0) FROM messages")
        with receiver.lock:
            receiver.up = False
        result = loadgen(f"{app.url}/callback/wxwork?token={CALLBACK_TOKEN}", plan.outage_s, 0.0, 950_000_000)
        with receiver.lock:
            receiver.up = True
        up_at = time.monotonic()
        stored = scalar(bench.database_url, f"SELECT COUNT(*) FROM messages WHERE id > {first_id}")
        drain_s = wait_for(lambda: bench.delivered() - before >= stored, timeout=1800, interval=0.5)
        with receiver.lock:
            missing = [i for i in range(first_id + 1, first_id + 1 + stored) if i not in receiver.arrivals]
    finally:
        stop(worker)
        app.stop()
    if missing:
        bench.failures.append(f"outage: {len(missing)} stored messages never reached the receiver")
    if receiver.overlaps:
        bench.failures.append(f"outage: {receiver.overlaps} deliveries were in flight twice at the same time")
    bench.results["outage"] = {
        "rps": result["rps"],
        "stored": stored,
        "acked": result["ok_total"],
        "drain_s": drain_s,
        "after_up_s": time.monotonic() - up_at,
        "missing": len(missing),
        "overlaps": receiver.overlaps,
    }
    log(f"outage: {stored} messages, all delivered {drain_s:.1f} s after the receiver came back")


# ----- 4: reads on a large inbox ------------------------------------------------------------------------


def fill_messages(database_url: str, total: int) -> None:
    """`total` messages of one account in 200 conversations, written in multi-row INSERTs.

    Every value is a placeholder: PyMySQL's executemany makes one multi-row INSERT only of a VALUES clause of
    placeholders alone (with a literal in it, it ran one autocommitted INSERT per row, ~800 rows/s)."""
    connection = connect(database_url)
    have = scalar(database_url, "SELECT COUNT(*) FROM messages")
    sql = (
        "INSERT INTO messages (account, uuid, message_key, type, msgtype, conversation, is_room, sender, receiver,"
        " content, msg_id, server_id, send_time, received_at, is_sync, at_list, media, payload)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    )
    now = datetime.now(UTC).replace(tzinfo=None)
    try:
        with connection.cursor() as cursor:
            for start in range(have, total, 5000):
                rows = []
                for n in range(start, min(total, start + 5000)):
                    peer = str(7881302555900000 + n % 200)
                    payload = json.dumps({"content": f"message {n}", "sender": peer, "server_id": 10**12 + n})
                    rows.append(
                        (
                            ACCOUNT,
                            "bench-reads",
                            f"s:{10**12 + n}",
                            102000,
                            2,
                            peer,
                            0,
                            peer,
                            ACCOUNT,
                            f"message {n} 你好",
                            str(n),
                            10**12 + n,
                            now.replace(microsecond=0),
                            now,
                            0,
                            "[]",
                            None,
                            payload,
                        )
                    )
                cursor.executemany(sql, rows)
                connection.commit()
    finally:
        connection.close()


def bench_reads(bench: Bench) -> None:
    plan = bench.plan
    started = time.monotonic()
    fill_messages(bench.database_url, plan.stored)
    filled_s = time.monotonic() - started
    total = scalar(bench.database_url, "SELECT COUNT(*) FROM messages")
    # The pages further back stay within the read account's own ids (the earlier benchmarks' messages, of
    # other accounts, come first): every page read holds messages.
    newest = scalar(bench.database_url, "SELECT MAX(id) FROM messages WHERE account = %s", (ACCOUNT,))
    first = scalar(bench.database_url, "SELECT MIN(id) FROM messages WHERE account = %s", (ACCOUNT,))
    span = max(newest - first - 50, 1)
    app = bench.app("app-reads", False)
    timings: dict[str, list[float]] = {"newest page": [], "page further back": [], "one conversation": []}
    try:
        http = requests.Session()
        for n in range(plan.reads):
            for name, params in (
                ("newest page", {"account": ACCOUNT}),
                ("page further back", {"account": ACCOUNT, "before": newest - (n * 997) % span}),
                ("one conversation", {"account": ACCOUNT, "conversation": str(7881302555900000 + n % 200)}),
            ):
                began = time.perf_counter()
                response = http.get(f"{app.url}/api/messages", params={**params, "limit": 50}, timeout=30)
                timings[name].append((time.perf_counter() - began) * 1000)
                if response.status_code != 200 or len(response.json()["messages"]) == 0:
                    bench.failures.append(f"reads: {name} answered {response.status_code}")
                    break
    finally:
        app.stop()
    bench.results["reads"] = {
        "stored": total,
        "fill_s": filled_s,
        "by_kind": {name: (pct(sorted(v), 0.5), pct(sorted(v), 0.99)) for name, v in timings.items()},
    }
    log(
        f"reads on {total} messages: " + ", ".join(f"{k} p99 {pct(sorted(v), 0.99):.1f} ms" for k, v in timings.items())
    )


# ----- the report -----------------------------------------------------------------------------------


def render(bench: Bench, machine: dict) -> str:
    r = bench.results
    lines = [
        f"# Inbox and forwarding benchmarks ({'quick' if bench.plan.quick else 'full'} run)",
        "",
        f"`python -m bench.forwarding{' --quick' if bench.plan.quick else ''}` on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        "Machine: " + "; ".join(f"{k}: {v}" for k, v in machine.items()),
        "",
    ]
    if "intake" in r:
        i = r["intake"]
        verdict = "met" if i["ratio"] >= 0.9 else "MISSED"
        low, _, high = i["quartiles"]
        delivery = i["delivery_cpu_ms"]
        lines += [
            "## Intake with forwarding on vs off",
            "",
            f"{CONNECTIONS} connections; the two servers (same `gunicorn.conf.py`, same settings but FORWARD_URL and "
            "FORWARD_SECRET, same database) run side by side and take turns: "
            f"{bench.plan.rounds} rounds of {bench.plan.seconds:g} s (+{bench.plan.warmup:g} s warm-up), the order "
            "turning each round. No delivery worker runs during the rounds (the outbox rows are written, nothing "
            "is sent). CPU: the app's workers' and the database server's CPU time per callback.",
            "",
            "| | callbacks/s | p50 ms | p99 ms | worker CPU ms/callback | database CPU ms/callback |",
            "|---|---|---|---|---|---|",
            *[
                f"| forwarding {side} | {i[f'{side}_rps']:.0f} | {i[f'{side}_p50']:.1f} | {i[f'{side}_p99']:.1f} | "
                f"{i[f'{side}_cpu_ms']:.3f} | {i[f'{side}_db_cpu_ms']:.3f} |"
                for side in ("off", "on")
            ],
            "",
            "(medians over the rounds)",
            "",
            f"Ratio on/off: **{i['ratio']:.2f}x**, the median of the per-round ratios "
            f"({', '.join(f'{x:.2f}' for x in i['ratios'])}): quartiles {low:.2f}-{high:.2f}, range "
            f"{min(i['ratios']):.2f}-{max(i['ratios']):.2f}; target >= 0.9x: {verdict}. Worker CPU per callback "
            f"on/off: {i['cpu_ratio']:.2f}x (per round: {', '.join(f'{x:.2f}' for x in i['cpu_ratios'])}).",
            "",
            "## Delivery throughput",
            "",
            f"The {i['backlog']} deliveries written by the 'on' rounds, drained by one `flask forward run` to the "
            f"local receiver: {i['drain_s']:.1f} s, **{i['delivery_rps']:.0f} deliveries/s** = "
            f"{i['delivery_rps'] / i['on_rps']:.2f}x the intake rate with forwarding on. CPU per delivery: worker "
            f"{delivery['worker']:.2f} ms, receiver {delivery['receiver']:.2f} ms, "
            f"database {delivery['database']:.2f} ms.",
            "",
        ]
    if "together" in r:
        t = r["together"]
        lines += [
            "## Intake and delivery together",
            "",
            f"{bench.plan.load_s:g} s of load at {t['rps']:.0f} callbacks/s with the worker running: "
            f"{t['left']} deliveries pending when the load stopped, drained {t['drain_s']:.1f} s later. "
            f"Callback → receiver latency over {t['latency_n']} messages: **p50 {t['latency_p50']:.0f} ms, "
            f"p99 {t['latency_p99']:.0f} ms**.",
            "",
        ]
    if "outage" in r:
        o = r["outage"]
        lines += [
            "## Receiver down under load",
            "",
            f"The receiver answered 503 for {bench.plan.outage_s:g} s while {o['acked']} callbacks were taken "
            f"({o['rps']:.0f}/s); once it was back every one of the {o['stored']} stored messages arrived within "
            f"{o['drain_s']:.1f} s; missing: {o['missing']}; in flight twice at once: {o['overlaps']}.",
            "",
        ]
    if "reads" in r:
        d = r["reads"]
        lines += [
            f"## GET /api/messages with {d['stored']:,} messages stored",
            "",
            "| query (limit 50) | p50 ms | p99 ms |",
            "|---|---|---|",
            *[f"| {name} | {p50:.1f} | {p99:.1f} |" for name, (p50, p99) in d["by_kind"].items()],
            "",
        ]
    lines += ["## Problems", "", *(f"- {f}" for f in bench.failures or ["none"]), ""]
    return "\n".join(lines)


BEGIN, END = "<!-- forwarding: begin -->", "<!-- forwarding: end -->"


def hook_into(main_report: Path, report: str, name: str) -> None:
    """Put this run's figures in the main benchmark report, replacing those of an earlier run."""
    if not main_report.exists():
        return
    text = main_report.read_text()
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)].rstrip("\n") + "\n" + text[text.index(END) + len(END) :].lstrip("\n")
    body = report.split("\n", 1)[1].replace("\n## ", "\n### ")
    section = f"{BEGIN}\n## Inbox and forwarding (bench/forwarding.py; in full: {name})\n{body.rstrip()}\n{END}\n"
    main_report.write_text(text.rstrip("\n") + "\n\n" + section)
    log(f"summary added to {main_report}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.forwarding", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", default=os.environ.get("BENCH_QUICK", "") == "1")
    parser.add_argument("--only", default="intake,together,outage,reads")
    parser.add_argument("--output")
    args = parser.parse_args(argv)
    plan = Plan.make(args.quick)
    only = set(args.only.split(","))
    output = (
        Path(args.output)
        if args.output
        else BENCH_DIR / ("RESULTS-forwarding-smoke.md" if plan.quick else "RESULTS-forwarding.md")
    )
    from sqlalchemy import create_engine, text

    from wxwork_demo.schema import upgrade_database

    name = f"wxwork_fwd_{os.getpid()}_{uuidlib.uuid4().hex[:6]}"
    server = create_engine(server_url())
    machine = procs.machine()
    with server.connect() as connection:
        machine["database"] = connection.execute(text("SELECT VERSION()")).scalar()
        connection.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    database_url = f"{server_url()}/{name}?charset=utf8mb4"
    receiver = Receiver().start()
    logs = Path(tempfile.mkdtemp(prefix="wxwork-bench-forwarding-"))
    database_pids = procs.pids_named("mariadbd") or procs.pids_named("mysqld")
    bench = Bench(plan=plan, database_url=database_url, logs=logs, receiver=receiver, database_pids=database_pids)
    log(f"{'quick' if plan.quick else 'full'} forwarding run; logs in {logs}")
    try:
        upgrade_database(database_url)
        if "intake" in only:
            bench_intake_and_delivery(bench)
        if "together" in only:
            bench_together(bench)
        if "outage" in only:
            bench_outage(bench)
        if "reads" in only:
            bench_reads(bench)
    finally:
        with server.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        server.dispose()
    report = render(bench, machine)
    output.write_text(report)
    log(f"wrote {output}")
    if not args.output:
        hook_into(BENCH_DIR / ("RESULTS-smoke.md" if plan.quick else "RESULTS.md"), report, output.name)
    if bench.failures:
        log("; ".join(bench.failures))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
