"""One monitor pass, timed against the same upstream calls made bare (run as a subprocess by
bench/monitor_scale.py).

    python -m bench.monitor_pass DATABASE_URL BASE_URL [ROUNDS [CONCURRENCY]]

`check_pass(app)` of the app at its MONITOR_CONCURRENCY (the default unless CONCURRENCY is given).
Baseline: GetRunClientByUuid for every online session with a plain requests.Session and a thread pool of
the same size, no database. Prints one JSON object: the times of each round, the pass summary, the
concurrency, and this process's peak memory.
"""

from __future__ import annotations

import json
import resource
import sys
import time

import requests
from requests.adapters import HTTPAdapter
from sqlalchemy import select

from wxwork_demo import create_app
from wxwork_demo.config import settings_of
from wxwork_demo.db import db_session
from wxwork_demo.models import Instance
from wxwork_demo.services.monitor.runtime import check_pass, each_at_most
from wxwork_demo.upstream import is_logged_in


def bare_calls(base_url: str, uuids: list[str], concurrency: int) -> tuple[float, int]:
    """Seconds to ask the upstream about every uuid, `concurrency` at a time; and how many said online."""
    http = requests.Session()
    http.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=concurrency))

    def ask(index: int) -> str:
        reply = http.post(f"{base_url}/wxwork/GetRunClientByUuid", json={"uuid": uuids[index]}, timeout=(5, 15))
        return "online" if is_logged_in(reply.json().get("data")) else "offline"

    started = time.perf_counter()
    # Scheduled as the pass schedules its accounts (a thread takes the next when it is done with one).
    online = each_at_most(concurrency, ask, range(len(uuids)))["online"]
    elapsed = time.perf_counter() - started
    http.close()
    return elapsed, online


def main(argv: list[str]) -> int:
    database_url, base_url = argv[0], argv[1].rstrip("/")
    rounds = int(argv[2]) if len(argv) > 2 else 1
    settings = {
        "DATABASE_URL": database_url,
        "BASE_URL": base_url,
        "MONITOR_AUTOSTART": False,
        "CALLBACK_TOKEN": "bench-callback-token-0123456789",
    }
    if len(argv) > 3:
        settings["MONITOR_CONCURRENCY"] = int(argv[3])
    app = create_app(settings)
    concurrency = settings_of(app).monitor_concurrency
    with app.app_context():
        uuids = list(db_session().scalars(select(Instance.uuid).where(Instance.state == "online")))
    result: dict = {"sessions": len(uuids), "concurrency": concurrency, "bare_s": [], "pass_s": [], "summaries": []}
    for _ in range(rounds):
        bare_s, online = bare_calls(base_url, uuids, concurrency)
        result["bare_s"].append(bare_s)
        result["bare_online"] = online
        with app.app_context():
            started = time.perf_counter()
            summary = check_pass(app)
            result["pass_s"].append(time.perf_counter() - started)
        result["summaries"].append(summary)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    app.extensions["wxwork_db"].engine.dispose()
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
