"""bench/RESULTS.md from what a run found (bench/run.py): the targets first, then each benchmark's details
and the commands that reproduce it."""

from __future__ import annotations

import time

from bench.intake import LIMIT, OLD_DEMO
from bench.monitor_scale import PASS_LIMIT_S
from bench.plan import LARGE_TABLE, SMALL_TABLE, Run, ratio
from bench.send_more import report as send_more_report

INTAKE_VS_OLD = 2.0  # target 2: at least 2× the old demo
INTAKE_P99_MS = 20.0
ADDED_P50_MS, ADDED_P99_MS = 3.0, 15.0  # target 3
SLOW_PEERS_P99 = 2.0  # target 4: within 2× of the unloaded figure
WORKER_RSS_MB, MONITOR_RSS_MB = 80.0, 120.0  # target 6
LINEAR = 1.25  # target 7: ms per account at the largest size at most this much of the smallest's


def render(run: Run) -> str:
    plan = run.plan
    lines = [
        "# Benchmark results",
        "",
        f"Mode: **{'quick (BENCH_QUICK=1)' if plan.quick else 'full'}**, run "
        f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime(run.started))} UTC, {time.time() - run.started:.0f} s. "
        "Written by `bench/run.py` (`make bench`); every figure is compared with baselines measured in the same "
        "run, on the same machine, at the same time. Issue 16 lists the targets.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in run.machine.items()],
        "",
        "## Targets",
        "",
        "| # | benchmark | app (default server) | baselines (same run) | ratio | target | |",
        "|---|---|---|---|---|---|---|",
        *_target_rows(run),
        "",
        *_server_choice(run),
        *_intake_section(run),
        *_details(run),
        *send_more_report(run),
        "## Commands",
        "",
        "```sh",
        "make bench        # or: make bench-smoke (BENCH_QUICK=1); python -m bench.run --help for subsets",
        *run.commands,
        "```",
        "",
    ]
    if run.failures or run.misses:
        lines += ["## Not met", ""]
        lines += [f"- FAILED: {f}" for f in run.failures]
        lines += [f"- missed: {m}" for m in run.misses]
        lines.append("")
    return "\n".join(lines)


def _default(figures: dict) -> dict | None:
    return next((f for f in figures.values() if f["default"]), None)


def _target_rows(run: Run) -> list[str]:
    res, rows = run.results, []
    for key, scenario in res.get("intake", {}).items():
        figures = scenario["figures"]
        app, old, limit = _default(figures), figures[OLD_DEMO], figures[LIMIT]
        if app is None:
            continue
        rounds = ", ".join(f"{x:.2f}" for x in app["to_old_rounds"])
        fast = run.target(app["to_old"] >= INTAKE_VS_OLD, f"intake below {INTAKE_VS_OLD}× the old demo ({key})")
        quick = run.target(app["p99"] <= INTAKE_P99_MS, f"intake p99 above {INTAKE_P99_MS:.0f} ms ({key})")
        rows += [
            f"| 1, 2 | intake, {plan_connections(run)} connections, {scenario['title']} | "
            f"{app['rps']:.0f} callbacks/s ({app['label']}) | old demo {old['rps']:.0f}/s; "
            f"limit {limit['rps']:.0f}/s | **{app['to_old']:.2f}× the old demo** (rounds {rounds}); "
            f"{app['to_limit']:.2f}× the limit | ≥ {INTAKE_VS_OLD:.1f}× the old demo | {fast} |",
            f"| 2 | intake p99, {key} table | {app['p99']:.1f} ms (p50 {app['p50']:.1f}) | "
            f"old demo {old['p99']:.1f} ms; limit {limit['p99']:.1f} ms | "
            f"{ratio(app['p99'], old['p99']):.2f}× the old demo | ≤ {INTAKE_P99_MS:.0f} ms | {quick} |",
            f"| 2 | zero loss, {key} table (every app server) | "
            f"{_app_sum(figures, 'stored')} stored / {_app_sum(figures, 'ok')} answered 2xx | | | every 2xx stored | "
            f"{'met' if _app_sum(figures, 'stored') >= _app_sum(figures, 'ok') else '**FAILED**'} |",
        ]
    if "api" in res:
        a = res["api"]
        ok = a["added_p50"] <= ADDED_P50_MS and a["added_p99"] <= ADDED_P99_MS
        rows.append(
            f"| 3 | `/api/send-text` under {plan_connections(run)} connections of callbacks, p50 / p99 | "
            f"{a['app']['p50']:.2f} / {a['app']['p99']:.2f} ms | SendTextMsg direct {a['direct']['p50']:.2f} / "
            f"{a['direct']['p99']:.2f} ms{_unloaded_added(a)} | "
            f"added **+{a['added_p50']:.2f} / +{a['added_p99']:.2f} ms** | "
            f"added ≤ {ADDED_P50_MS:.0f} / ≤ {ADDED_P99_MS:.0f} ms, zero 5xx | "
            f"{run.target(ok, 'send-text added latency under load above 3/15 ms')} |"
        )
    s = next((s for s in res.get("slow_peers", {}).values() if s["default"]), None)
    if s:
        worst = max(s["callbacks_p99_ratio"], s["health_p99_ratio"])
        rows += [
            f"| 4 | p99 with {s['stalled']} stalled connections: callbacks / `/api/health` | "
            f"{s['loaded']['callbacks_p99']:.1f} / {s['loaded']['health_p99']:.2f} ms | without: "
            f"{s['alone']['callbacks_p99']:.1f} / {s['alone']['health_p99']:.2f} ms | "
            f"**{s['callbacks_p99_ratio']:.2f}× / {s['health_p99_ratio']:.2f}×** | ≤ {SLOW_PEERS_P99:.0f}× | "
            f"{run.target(worst <= SLOW_PEERS_P99, 'p99 with stalled connections above 2x')} |",
            f"| 4 | stalled connections closed by the server | {s['closed']} / {s['stalled']}, the last after "
            f"{s['closed_max_s']:.1f} s | {s['setting']} | | all, within the setting | "
            f"{run.target(s['closed'] == s['stalled'], 'stalled connections left open')} |",
        ]
    rows.append(
        "| 5 | forwarding and the inbox | measured by `bench/forwarding.py`, which `make bench` runs next: "
        "bench/RESULTS-forwarding.md | | | | see there |"
    )
    if "memory" in res:
        worst = max((v for each in res["memory"].values() for v in each), default=0.0)
        rows.append(
            f"| 6 | worker RSS after the runs | {worst:.1f} MB (largest worker) | | | ≤ {WORKER_RSS_MB:.0f} MB | "
            f"{run.target(worst <= WORKER_RSS_MB, 'worker RSS above 80 MB')} |"
        )
    monitors = res.get("monitor", [])
    if monitors:
        peak = max(m["peak_rss_mb"] for m in monitors)
        rows.append(
            f"| 6 | monitor process peak RSS ({monitors[-1]['sessions']} accounts) | {peak:.1f} MB | | | "
            f"≤ {MONITOR_RSS_MB:.0f} MB | {run.target(peak <= MONITOR_RSS_MB, 'monitor RSS above 120 MB')} |"
        )
        first = monitors[0]
        default = "" if run.plan.monitor_concurrency else " (default)"
        for m in monitors:
            n = m["sessions"]
            per = m["pass"] / n * 1000
            linear = ratio(per, first["pass"] / first["sessions"] * 1000)
            checks = [f"ms/account {linear:.2f}× the {first['sessions']}'s (≤ {LINEAR}×)"]
            ok = linear <= LINEAR
            if n >= 20_000:
                checks.append(f"≤ {PASS_LIMIT_S:.0f} s")
                ok = ok and m["pass"] <= PASS_LIMIT_S
            rows.append(
                f"| 7 | monitor pass, {n} accounts, concurrency {m['concurrency']}{default} | {m['pass']:.1f} s "
                f"({per:.2f} ms/account) | bare calls {m['bare']:.1f} s; ideal {m['ideal']:.1f} s | "
                f"**{ratio(m['pass'], m['bare']):.2f}×** the bare calls | {'; '.join(checks)} | "
                f"{run.target(ok, f'monitor pass over {n} accounts not linear or too slow')} |"
            )
    if "retention" in res:
        r = res["retention"]
        rows += [
            f"| — | events table during {r['callbacks']} callbacks, MAX_EVENTS={r['max_events']} | max "
            f"{r['max_rows']} rows ({r['samples']} samples) | | | ≤ {r['bound']} rows | "
            f"{'met' if r['max_rows'] <= r['bound'] else '**FAILED**'} |",
            f"| — | retention: rate and CPU per callback, last 10% vs first 10% | {r['flat']:.2f}× / "
            f"{r['cpu_flat']:.2f}× | | | ≥ 0.90× / ≤ 1.10× (flat) | "
            f"{run.target(r['flat'] >= 0.9 and r['cpu_flat'] <= 1.1, 'retention not flat')} |",
        ]
    return rows


def _unloaded_added(api: dict) -> str:
    u = api.get("unloaded")
    return f"; with no load the app adds +{u['added_p50']:.2f} / +{u['added_p99']:.2f} ms" if u else ""


def plan_connections(run: Run) -> int:
    return run.plan.connections


def _app_sum(figures: dict, key: str) -> int:
    return sum(f[key] for f in figures.values() if f["is_app"])


def _server_choice(run: Run) -> list[str]:
    """The figures the default server was chosen by, one line per candidate."""
    intake, slow = run.results.get("intake", {}), run.results.get("slow_peers", {})
    candidates = [k for k, f in next(iter(intake.values()), {}).get("figures", {}).items() if f["is_app"]]
    if not candidates:
        return []
    lines = [
        "## The server",
        "",
        "The app under each candidate, same code and settings, same rounds (details below). The default "
        "(`gunicorn.conf.py`) is marked.",
        "",
        "| server | × old demo, small / large table | CPU per callback ms, small / large | with 64 stalled "
        "connections: callbacks / health p99 | stalled connections closed |",
        "|---|---|---|---|---|",
    ]
    for key in candidates:
        figures = [intake[t]["figures"][key] for t in (SMALL_TABLE, LARGE_TABLE) if t in intake]
        label = figures[0]["label"] + (" **(default)**" if figures[0]["default"] else "")
        s = slow.get(key)
        stalled = (
            f"{s['callbacks_p99_ratio']:.2f}× / {s['health_p99_ratio']:.2f}×"
            + (f", unanswered: {s['loaded']['callback_errors']}" if s["loaded"]["callback_errors"] else "")
            if s
            else "not run"
        )
        closed = f"{s['closed']} / {s['stalled']}" if s else ""
        to_old = " / ".join(f"{f['to_old']:.2f}×" for f in figures)
        cpu = " / ".join(f"{f['cpu_ms']:.2f}" for f in figures)
        lines.append(f"| {label} | {to_old} | {cpu} | {stalled} | {closed} |")
    lines.append("")
    return lines


def _intake_section(run: Run) -> list[str]:
    intake = run.results.get("intake", {})
    if not intake:
        return []
    plan = run.plan
    lines = [
        "## Intake: every contender, ratios to the old demo and to the limit",
        "",
        f"Closed loop: each of the {plan.connections} keep-alive connections posts a distinct message callback "
        f"(type 102000, unique msg_id) as soon as the previous one is answered; {plan.intake_warmup:.0f} s "
        f"warm-up, then {plan.intake_seconds:.0f} s measured, per contender and round; {plan.intake_rounds} "
        "round(s), the order turning by one each round; each ratio is taken within a round, and the median "
        "of the rounds is shown. The old demo (`bench/node/old_demo.js`) does per callback what the Node demo "
        "of the seed README did: INSERT into its `events`, SELECT of the latest session row twice, INSERT … ON "
        "DUPLICATE KEY UPDATE of that row, autocommitted, on a mysql2 pool of 10; COUNT(*) and a trimming "
        "DELETE every 60 s; one Node process. The limit (`bench/node/limit.js`) is bare Node http + one "
        "INSERT. CPU per callback is the server processes' user + system time over the run divided by the "
        "requests; the database server's is shared with whatever else the machine runs.",
        "",
    ]
    for key in (SMALL_TABLE, LARGE_TABLE):
        if key not in intake:
            continue
        scenario = intake[key]
        lines += [
            f"**{scenario['title']}**",
            "",
            "| contender | callbacks/s | × old demo | × limit | p50 / p99 ms | CPU per callback: server / db ms |",
            "|---|---|---|---|---|---|",
        ]
        for f in scenario["figures"].values():
            name = f"**{f['label']}** (default)" if f["default"] else f["label"]
            lines.append(
                f"| {name} | {f['rps']:.0f} | {f['to_old']:.2f}× | {f['to_limit']:.2f}× | {f['p50']:.1f} / "
                f"{f['p99']:.1f} | {f['cpu_ms']:.2f} / {f['db_cpu_ms']:.2f} |"
            )
        lines += [
            "",
            "| round | " + " | ".join(scenario["figures"]) + " |",
            "|---" * (len(scenario["figures"]) + 1) + "|",
        ]
        for n, r in enumerate(scenario["rounds"], 1):
            lines.append(
                f"| {n} | "
                + " | ".join(f"{r[k]['rps']:.0f}/s, p99 {r[k]['p99']:.1f}" for k in scenario["figures"])
                + " |"
            )
        lines.append("")
        lines += _cpu_budget(scenario, _cores(run))
    return lines


def _cores(run: Run) -> int:
    return int(run.machine["nproc"])  # procs.machine(): the cores this process may run on


def _cpu_budget(scenario: dict, cores: int) -> list[str]:
    """What target 2 asks of the server on this machine, from the run's own CPU figures: at twice the old demo's
    rate, the CPU each callback may take in all (every process on the machine together), less what the load
    generator and the database take of it, against what each contender's server takes."""
    figures = scenario["figures"]
    app, old = _default(figures), figures[OLD_DEMO]
    if app is None or not old["rps"] or "generator_cpu_ms" not in app:
        return []
    needed = INTAKE_VS_OLD * old["rps"]
    budget = cores * 1000 / needed
    generator = app["generator_cpu_ms"]
    left = budget - app["db_cpu_ms"] - generator
    lines = [
        f"CPU budget of target 2, {scenario['title']}: {INTAKE_VS_OLD:.1f}× the old demo is {needed:.0f} "
        f"callbacks/s; the machine's {cores} cores then give {budget:.2f} ms of CPU per callback to every "
        f"process together. The load generator takes {generator:.2f} ms of it and the database {app['db_cpu_ms']:.2f} "
        f"ms (the app's callbacks), which leaves **{left:.2f} ms for the server**. The ceiling of each contender "
        "here, were CPU all it needed, is cores / (server + database + load generator CPU per callback), and one "
        "core for the server of a single Node process:",
        "",
        "| contender | server CPU ms per callback | fits the budget | ceiling, callbacks/s | ceiling × old demo |",
        "|---|---|---|---|---|",
    ]
    for key, f in figures.items():
        total = f["cpu_ms"] + f["db_cpu_ms"] + f.get("generator_cpu_ms", generator)
        ceiling = cores * 1000 / total if total > 0 else 0.0
        if key in (OLD_DEMO, LIMIT) and f["cpu_ms"] > 0:  # one Node process: one core at most
            ceiling = min(ceiling, 1000 / f["cpu_ms"])
        lines.append(
            f"| {f['label']} | {f['cpu_ms']:.2f} | {'yes' if f['cpu_ms'] <= left else 'no'} | {ceiling:.0f} | "
            f"{ratio(ceiling, old['rps']):.2f}× |"
        )
    lines.append("")
    return lines


def _details(run: Run) -> list[str]:
    res, lines = run.results, []
    if "api" in res:
        a = res["api"]
        lines += [
            f"**3. Send-text under webhook load.** {a['calls']} calls each through the app ({a['server']}) and "
            "straight to the simulator, one keep-alive connection each, alternating, after 50 warm-up calls, "
            f"while bench/loadgen.py posted callbacks on {run.plan.connections} connections "
            f"({a['webhook_rps']:.0f}/s, p99 {a['webhook_p99']:.1f} ms, statuses {a['webhook_statuses']}). "
            "Added latency = app percentile − direct percentile; the app looks the session up, calls the "
            "simulator and records the call in `events` (its own commit). Statuses: "
            f"{a['statuses']}.",
            "",
        ]
        u = a.get("unloaded")
        if u:
            lines += [
                f"Without the load ({u['calls']} calls each, the same way, just before): app {u['app']['p50']:.2f} / "
                f"{u['app']['p99']:.2f} ms, direct {u['direct']['p50']:.2f} / {u['direct']['p99']:.2f} ms: the app "
                f"adds **+{u['added_p50']:.2f} / +{u['added_p99']:.2f} ms** on an idle machine, the floor of what "
                f"it adds under load; its workers spend {u['worker_cpu_ms']:.2f} ms of CPU per send-text.",
                "",
            ]
    if res.get("slow_peers"):
        lines += [
            f"**4. Slow peers.** Each app server in turn: callbacks on {run.plan.connections} connections and "
            f"`/api/health` call after call for {run.plan.stall_seconds:.0f} s, first alone, then with "
            f"{run.plan.stalled_connections} connections that sent `POST /callback/wxwork HTTP/1.1` and two header "
            "lines, then nothing. A callback or health call not answered within 10 s counts at 10 s and as a "
            "failure.",
            "",
            "| server | callbacks/s alone / stalled | callbacks p99 ms alone / stalled | health p99 ms alone / "
            "stalled | stalled connections closed by the server | unanswered |",
            "|---|---|---|---|---|---|",
        ]
        for s in res["slow_peers"].values():
            a, b = s["alone"], s["loaded"]
            unanswered = {**b["callback_errors"], **{k: v for k, v in b["health_statuses"].items() if k != "200"}}
            lines.append(
                f"| {s['server']} | {a['callbacks_rps']:.0f} / {b['callbacks_rps']:.0f} | {a['callbacks_p99']:.1f} / "
                f"{b['callbacks_p99']:.1f} ({s['callbacks_p99_ratio']:.2f}×) | {a['health_p99']:.2f} / "
                f"{b['health_p99']:.2f} ({s['health_p99_ratio']:.2f}×) | {s['closed']} / {s['stalled']}, last after "
                f"{s['closed_max_s']:.1f} s ({s['setting']}) | {unanswered or 'none'} |"
            )
        lines.append("")
    if "memory" in res:
        shown = "; ".join(
            f"{key} table: {', '.join(f'{v:.1f}' for v in each)} MB" for key, each in res["memory"].items()
        )
        lines += [f"**6. Memory.** VmRSS of the default server's workers after each table's runs: {shown}.", ""]
    if res.get("monitor"):
        plan = run.plan
        concurrency = plan.monitor_concurrency
        lines += [
            "**7. Monitor.** `check_pass(app)` in a process of its own (`bench/monitor_pass.py`) at "
            + (f"MONITOR_CONCURRENCY={concurrency}" if concurrency else "the app's default MONITOR_CONCURRENCY")
            + f", simulator latency fault of {plan.monitor_latency_ms} ms on "
            "GetRunClientByUuid. Baseline: the same GetRunClientByUuid calls with a bare requests.Session and a "
            "thread pool of the same size, no database. Ideal = ceil(N / concurrency) × latency. Up to 5,000 "
            "accounts two rounds of (bare calls, pass), the second shown (a running monitor keeps its connections; "
            "the first pass opens them); at 20,000 one round.",
            "",
            "| accounts | pass s | first pass s | bare s | ideal s | ms / account | checked / offline / unknown "
            "| peak RSS MB |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for m in res["monitor"]:
            s = m["summaries"][-1]
            lines.append(
                f"| {m['sessions']} | {m['pass']:.2f} | {m['first_pass']:.2f} | {m['bare']:.2f} | {m['ideal']:.2f} | "
                f"{m['pass'] / m['sessions'] * 1000:.2f} | {s['checked']} / {s['offline']} / {s['unknown']} | "
                f"{m['peak_rss_mb']:.1f} |"
            )
        lines.append("")
    if "retention" in res:
        r = res["retention"]
        lines += [
            f"**Retention.** {r['callbacks']} callbacks on {run.plan.connections} connections to {r['server']} at "
            f"{r['rps']:.0f}/s (p99 {r['p99_ms']:.1f} ms); `SELECT COUNT(*) FROM events` sampled every 50 ms from "
            "another connection. Rate per tenth of the run: "
            f"{', '.join(f'{d:.0f}' for d in r['deciles'])} /s; worker CPU per callback: "
            f"{', '.join(f'{c:.2f}' for c in r['cpu_ms'])} ms.",
            "",
        ]
    return lines
