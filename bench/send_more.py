"""Issue 15's figures: what the app adds to sending an image by URL and to listing 500 rooms, and how exactly it
paces one account's sends when four workers send at once.

- image: `POST /api/send-image {url}` through the app (pacing off) against the two calls it hides, made
  straight to the simulator on one keep-alive connection (CdnUploadImgLink, then SendCDNImgMsg with the
  upload's fields), alternating, after a warm-up. Added latency = app percentile − direct percentile; the app
  also fetches the link itself first (the check that answers a bad link with a 400) and records the sent
  message and two events. The image is a ~60 KB PNG served by a small server in this process.
- rooms: an account with 500 rooms (bench/sim_app.py). Bare: GetSessionRoomList page after page (100 per page,
  by offset, until an empty page: 6 calls) on one keep-alive connection. App: `GET /api/rooms?refresh=true`
  (the same pages, then the list stored) and `GET /api/rooms` (served from the database).
- pacing: the app under gunicorn with 4 workers, SEND_MIN_INTERVAL_MS without jitter, 8 clients sending texts
  of one account at once. Gaps between consecutive sends as the app sent them (`sentAt`) and as the simulator
  received them, against the interval.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from PIL import Image

from bench import procs
from bench.api_latency import logged_in_instance
from bench.intake import CALLBACK_TOKEN
from bench.plan import Run, log, pct

USER_ID = 7881302555913738
WARMUP = 10
# A gap counts as under the interval when it is shorter by more than this (sentAt is in whole milliseconds).
UNDER_MS = 5


class ImageHost:
    """One PNG at /photo.png, served from this process."""

    def __init__(self) -> None:
        buffer = io.BytesIO()
        Image.effect_noise((160, 120), 64).convert("RGB").resize((320, 240)).save(buffer, format="PNG")
        self.png = buffer.getvalue()
        png = self.png

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(png)))
                self.end_headers()
                # The app's check reads the first bytes of a declared length and hangs up.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(png)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/photo.png"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _app(servers, name: str, sim: procs.Server, database_url: str, **env: str) -> procs.Server:
    port = procs.free_port()
    settings = {
        "DATABASE_URL": database_url,
        "BASE_URL": sim.url,
        "CALLBACK_URL": f"http://127.0.0.1:{port}/callback/wxwork",
        "CALLBACK_TOKEN": CALLBACK_TOKEN,
        "MONITOR_AUTOSTART": "false",
        **env,
    }
    return servers.start(procs.gunicorn_server(name, "wsgi:app", port, servers.logs, **settings))


def _timed(call) -> tuple[float, requests.Response]:
    started = time.perf_counter()
    response = call()
    return (time.perf_counter() - started) * 1000, response


def bench_send_more(run: Run, servers, sim: procs.Server, database_url: str) -> None:
    plan = run.plan
    uuid = logged_in_instance(sim, database_url)
    host = ImageHost()
    app = _app(
        servers,
        "app-send-more",
        sim,
        database_url,
        SEND_MIN_INTERVAL_MS="0",
        SEND_JITTER_MS="0",
        SEND_REPEAT_LIMIT="1000000000",
        MEDIA_URL_ALLOW_PRIVATE="1",  # the image host is on loopback, in this process
    )
    try:
        images = _bench_image(run, app, sim, uuid, host.url, 40 if plan.quick else 300)
        rooms = _bench_rooms(run, app, sim, uuid, 10 if plan.quick else 50)
    finally:
        servers.stop(app)
        host.stop()
    interval_ms = 500 if plan.quick else 1000
    paced = _app(
        servers,
        "app-pacing",
        sim,
        database_url,
        WEB_CONCURRENCY="4",
        SEND_MIN_INTERVAL_MS=str(interval_ms),
        SEND_JITTER_MS="0",
        SEND_MAX_WAIT_MS="600000",
        SEND_REPEAT_LIMIT="1000000000",
    )
    try:
        pacing = _bench_pacing(run, paced, sim, uuid, interval_ms, 16 if plan.quick else 40)
    finally:
        servers.stop(paced)
    run.results["send_more"] = {"image": images, "rooms": rooms, "pacing": pacing}


def _bench_image(run: Run, app: procs.Server, sim: procs.Server, uuid: str, url: str, calls: int) -> dict:
    log(f"send-more: send-image by URL through the app vs its two upstream calls, {calls} each")
    direct, through = requests.Session(), requests.Session()
    times: dict[str, list[float]] = {"direct": [], "app": []}
    failures = 0

    def straight() -> requests.Response:
        upload = direct.post(f"{sim.url}/wxwork/CdnUploadImgLink", json={"uuid": uuid, "url": url}, timeout=30)
        fields = upload.json()["data"]
        body = {
            "uuid": uuid,
            "send_userid": USER_ID,
            "kf_id": 0,
            "isRoom": False,
            "cdnkey": fields["cdn_key"],
            "aeskey": fields["aes_key"],
            "md5": fields["md5"],
            "fileSize": fields["size"],
            **{k: fields[k] for k in ("width", "height", "thumb_image_height", "thumb_image_width")},
            **{k: fields[k] for k in ("thumb_file_size", "thumb_file_md5")},
        }
        return direct.post(f"{sim.url}/wxwork/SendCDNImgMsg", json=body, timeout=30)

    def via_app() -> requests.Response:
        body = {"uuid": uuid, "send_userid": USER_ID, "isRoom": False, "url": url}
        return through.post(f"{app.url}/api/send-image", json=body, timeout=30)

    for n in range(WARMUP + calls):
        for name, call in (
            (("direct", straight), ("app", via_app)) if n % 2 == 0 else (("app", via_app), ("direct", straight))
        ):
            elapsed, response = _timed(call)
            ok = response.status_code == 200 and response.json().get("errcode", 0) == 0
            failures += not ok
            if n >= WARMUP:
                times[name].append(elapsed)
    run.check(failures == 0, f"send-more: {failures} image sends failed")
    figures = {name: {"p50": pct(v, 0.5), "p99": pct(v, 0.99)} for name, v in times.items()}
    result = {
        **figures,
        "calls": calls,
        "added_p50": figures["app"]["p50"] - figures["direct"]["p50"],
        "added_p99": figures["app"]["p99"] - figures["direct"]["p99"],
    }
    log(f"  added p50 {result['added_p50']:.2f} ms, p99 {result['added_p99']:.2f} ms")
    return result


def _bench_rooms(run: Run, app: procs.Server, sim: procs.Server, uuid: str, times_each: int) -> dict:
    log(f"send-more: 500 rooms through the app vs the bare pages, {times_each} times each")
    bare_http, app_http = requests.Session(), requests.Session()

    def bare() -> int:
        rooms = 0
        while True:
            body = {"uuid": uuid, "limit": 100, "star_index": rooms}
            page = bare_http.post(f"{sim.url}/wxwork/GetSessionRoomList", json=body, timeout=30).json()["data"]
            if not page["room_list"]:
                return rooms
            rooms += len(page["room_list"])

    timings: dict[str, list[float]] = {"bare": [], "refresh": [], "cached": []}
    counts = set()
    for n in range(times_each + 2):
        started = time.perf_counter()
        counts.add(bare())
        bare_ms = (time.perf_counter() - started) * 1000
        refresh_ms, refreshed = _timed(
            lambda: app_http.get(f"{app.url}/api/rooms?uuid={uuid}&refresh=true", timeout=60)
        )
        cached_ms, cached = _timed(lambda: app_http.get(f"{app.url}/api/rooms?uuid={uuid}", timeout=60))
        counts.add(refreshed.json()["count"])
        run.check(cached.json().get("cached") is True, "send-more: the second room listing was not served cached")
        if n >= 2:
            timings["bare"].append(bare_ms)
            timings["refresh"].append(refresh_ms)
            timings["cached"].append(cached_ms)
    run.check(counts == {500}, f"send-more: room counts {sorted(counts)}, not 500")
    result = {name: {"p50": pct(v, 0.5), "p99": pct(v, 0.99)} for name, v in timings.items()}
    result["times"] = times_each
    log(
        f"  bare {result['bare']['p50']:.1f} ms, refresh {result['refresh']['p50']:.1f} ms, "
        f"cached {result['cached']['p50']:.1f} ms (p50)"
    )
    return result


def _bench_pacing(run: Run, app: procs.Server, sim: procs.Server, uuid: str, interval_ms: int, sends: int) -> dict:
    log(f"send-more: {sends} texts of one account through 4 workers, SEND_MIN_INTERVAL_MS={interval_ms}")
    before = {
        m["msg_id"] for m in requests.get(f"{sim.url}/_sim/sent", params={"uuid": uuid}, timeout=30).json()["messages"]
    }

    def send(n: int) -> requests.Response:
        with requests.Session() as http:
            body = {"uuid": uuid, "send_userid": USER_ID, "isRoom": False, "content": f"paced {n}"}
            return http.post(f"{app.url}/api/send-text", json=body, timeout=120)

    # The workers warm up (first connections, first statements) before the clock starts.
    for _ in range(4):
        send(-1)
    time.sleep(interval_ms / 1000)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(sends)))
    run.check(all(a.status_code == 200 for a in answers), f"send-more: paced sends {[a.status_code for a in answers]}")
    sent_at = sorted(datetime.fromisoformat(a.json()["sentAt"]).timestamp() for a in answers if a.status_code == 200)
    received = sorted(
        m["time"]
        for m in requests.get(f"{sim.url}/_sim/sent", params={"uuid": uuid}, timeout=30).json()["messages"]
        if m["msg_id"] not in before and str(m.get("content", "")).startswith("paced ") and m["content"] != "paced -1"
    )

    def gaps(times: list[float]) -> dict:
        values = [(b - a) * 1000 for a, b in itertools.pairwise(times)]
        return {
            "min": min(values, default=0.0),
            "p50": pct(values, 0.5),
            "max": max(values, default=0.0),
            "under": sum(v < interval_ms - UNDER_MS for v in values),
            "n": len(values),
        }

    result = {"interval_ms": interval_ms, "sends": sends, "sent": gaps(sent_at), "received": gaps(received)}
    log(
        f"  gaps as sent: min {result['sent']['min']:.1f}, p50 {result['sent']['p50']:.1f} ms; as received: "
        f"min {result['received']['min']:.1f}, p50 {result['received']['p50']:.1f} ms"
    )
    run.command(
        ["POST /api/send-text × " + str(sends)], {"WEB_CONCURRENCY": "4", "SEND_MIN_INTERVAL_MS": str(interval_ms)}
    )
    return result


def report(run: Run) -> list[str]:
    """The report's section (bench/report.py)."""
    figures = run.results.get("send_more")
    if not figures:
        return []
    image, rooms, pacing = figures["image"], figures["rooms"], figures["pacing"]
    sent, received = pacing["sent"], pacing["received"]
    return [
        "## Sending more than text (issue 15)",
        "",
        "| | p50 ms | p99 ms | |",
        "|---|---|---|---|",
        f"| send-image by URL, two direct calls | {image['direct']['p50']:.2f} | {image['direct']['p99']:.2f} | "
        f"{image['calls']} calls |",
        f"| send-image by URL, through the app | {image['app']['p50']:.2f} | {image['app']['p99']:.2f} | "
        f"added: p50 {image['added_p50']:.2f}, p99 {image['added_p99']:.2f} (target ≤ 5 / 15) |",
        f"| 500 rooms, bare pages (6 calls) | {rooms['bare']['p50']:.1f} | {rooms['bare']['p99']:.1f} | "
        f"{rooms['times']} times |",
        f"| 500 rooms, app refresh=true | {rooms['refresh']['p50']:.1f} | {rooms['refresh']['p99']:.1f} | "
        "the same pages, sequential on keep-alive, then stored |",
        f"| 500 rooms, app cached | {rooms['cached']['p50']:.1f} | {rooms['cached']['p99']:.1f} | from the database |",
        "",
        f"Pacing: {pacing['sends']} texts of one account from 8 clients through 4 gunicorn workers, "
        f"SEND_MIN_INTERVAL_MS={pacing['interval_ms']}, no jitter. Gaps between consecutive sends as the app sent "
        f"them: min {sent['min']:.1f} ms, p50 {sent['p50']:.1f} ms, max {sent['max']:.1f} ms, {sent['under']} of "
        f"{sent['n']} more than {UNDER_MS} ms under the interval; as the simulator received them: min "
        f"{received['min']:.1f} ms, p50 {received['p50']:.1f} ms, max {received['max']:.1f} ms, "
        f"{received['under']} under.",
        "",
    ]
