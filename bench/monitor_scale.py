"""Target 7: one monitor pass over 1,000 / 5,000 / 20,000 online accounts with 100 ms of upstream latency,
at the default MONITOR_CONCURRENCY; each against the same upstream calls made bare (bench/monitor_pass.py,
a process of its own, whose peak memory is target 6's monitor figure).
"""

from __future__ import annotations

import json
import subprocess
import sys

import requests

from bench import database, procs
from bench.plan import Run, log

PASS_LIMIT_S = 180.0  # 20,000 accounts in one pass at most 3 minutes


def bench_monitor(run: Run, sim: procs.Server, database_url: str) -> None:
    plan = run.plan
    run.results["monitor"] = []
    for size in plan.monitor_sizes:
        log(f"monitor: {size} online accounts, {plan.monitor_latency_ms} ms upstream latency")
        requests.post(f"{sim.url}/_sim/reset", timeout=30).raise_for_status()
        reply = requests.post(f"{sim.url}/_sim/bulk-login", json={"count": size}, timeout=120)
        instances = reply.json()["instances"]
        connection = database.connect(database_url)
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
        # A running monitor keeps its connections: the second pass is its steady state. At 20,000 accounts one
        # pass (with its first connections in it) is long enough to tell.
        rounds = 1 if size >= 20_000 else 2
        argv = [sys.executable, "-m", "bench.monitor_pass", database_url, sim.url, str(rounds)]
        if plan.monitor_concurrency:
            argv.append(str(plan.monitor_concurrency))
        run.command(argv)
        try:
            out = subprocess.run(
                argv, cwd=procs.PROJECT_ROOT, env=procs.clean_env(), check=True, capture_output=True, text=True
            )
        finally:
            requests.delete(f"{sim.url}/_sim/faults", timeout=30)
        found = json.loads(out.stdout)
        for summary in found["summaries"]:
            run.check(
                summary["checked"] == size and summary["offline"] == 0 and summary["unknown"] == 0,
                f"monitor pass over {size} accounts: {summary}",
            )
        found["pass"], found["bare"], found["first_pass"] = found["pass_s"][-1], found["bare_s"][-1], found["pass_s"][0]
        found["ideal"] = -(-size // found["concurrency"]) * plan.monitor_latency_ms / 1000
        run.results["monitor"].append(found)
        log(
            f"  pass {found['pass']:.2f} s, bare calls {found['bare']:.2f} s, ideal {found['ideal']:.2f} s "
            f"(concurrency {found['concurrency']}), peak RSS {found['peak_rss_mb']:.1f} MB"
        )
    requests.post(f"{sim.url}/_sim/reset", timeout=30)
