"""A forwarding target for the tests: a real HTTP server that verifies every delivery as the contract says.

Written from local-api.md alone (the receiver a user would write): the signature is
`sha256=` + hex HMAC-SHA256(secret, timestamp + "." + raw body). It answers as told (`mode`): 2xx, any
status, a redirect, a delay longer than the sender's timeout, or a connection closed without an answer.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    delivery: str
    timestamp: str
    verified: bool
    body: dict
    at: float


@dataclass
class Receiver:
    secret: str
    mode: str = "ok"  # ok | status | redirect | slow (an answer too late to count) | hang-up
    delay_s: float = 0.0  # every answer waits this long
    status: int = 200
    received: list[Received] = field(default_factory=list)
    attempts: list[tuple[str, str]] = field(default_factory=list)  # (delivery id, mode) of every request
    in_flight: dict[str, int] = field(default_factory=dict)
    overlaps: list[str] = field(default_factory=list)  # delivery ids received twice at the same time
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, port: int = 0) -> Receiver:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the sender expects

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                owner._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def verify(self, timestamp: str, raw: bytes, signature: str) -> bool:
        expected = (
            "sha256=" + hmac.new(self.secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()
        )
        return hmac.compare_digest(expected, signature)

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        raw = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        delivery = request.headers.get("X-Wxwork-Delivery", "")
        timestamp = request.headers.get("X-Wxwork-Timestamp", "")
        verified = self.verify(timestamp, raw, request.headers.get("X-Wxwork-Signature", ""))
        with self.lock:
            mode = self.mode
            self.attempts.append((delivery, mode))
            self.in_flight[delivery] = self.in_flight.get(delivery, 0) + 1
            if self.in_flight[delivery] > 1:
                self.overlaps.append(delivery)
        try:
            if mode == "hang-up":
                request.close_connection = True
                request.connection.close()
                return
            if self.delay_s:
                time.sleep(self.delay_s)
            status = {"ok": 200, "status": self.status, "redirect": 302, "slow": 200}[mode]
            # A slow answer came after the sender gave up: not a delivery (it is sent again).
            if 200 <= status < 300 and verified and mode != "slow":
                with self.lock:
                    self.received.append(Received(delivery, timestamp, verified, json.loads(raw), time.time()))
            body = b'{"ok":true}'
            try:
                request.send_response(status)
                if status == 302:
                    request.send_header("Location", self.url + "/elsewhere")
                request.send_header("Content-Type", "application/json")
                request.send_header("Content-Length", str(len(body)))
                request.end_headers()
                request.wfile.write(body)
            except OSError:  # the sender gave up (timeout) and closed the connection
                request.close_connection = True
        finally:
            with self.lock:
                self.in_flight[delivery] -= 1

    def delivered_message_ids(self) -> list:
        with self.lock:
            return [item.body["id"] for item in self.received if item.body.get("type") != 0]

    def deliveries(self) -> list[Received]:
        with self.lock:
            return list(self.received)
