"""A small web server on loopback serving the files the send tests link to (images, a page, big and broken
answers), the way an image host on the Internet or an intranet would."""

from __future__ import annotations

import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image


def png_bytes(width: int = 120, height: int = 80, colour: tuple[int, int, int] = (200, 40, 90)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


class MediaHost:
    """Paths: /pic.png, /photo.jpg (no Content-Length, chunked), /report.pdf, /page.html, /big.bin
    (`big_bytes`), /missing (404), and the paths of `redirects` (a 302 to their Location). It listens on
    `address` (another loopback address, 127.0.0.2, stands for a second host) and `port` (0: a free one)."""

    def __init__(self, big_bytes: int = 3 * 1024 * 1024, address: str = "127.0.0.1", port: int = 0) -> None:
        jpeg = io.BytesIO()
        Image.new("RGB", (64, 48), (10, 120, 200)).save(jpeg, format="JPEG")
        self.files: dict[str, tuple[bytes, str, bool]] = {
            "/pic.png": (png_bytes(), "image/png", True),
            "/photo.jpg": (jpeg.getvalue(), "image/jpeg", False),
            "/report.pdf": (b"%PDF-1.4\n" + b"0123456789" * 300, "application/pdf", True),
            "/page.html": (b"<!doctype html><title>not an image</title>", "image/png", True),
            "/big.bin": (b"\x89PNG\r\n\x1a\n" + b"\0" * big_bytes, "image/png", True),
        }
        self.redirects: dict[str, str] = {}
        self.requests: list[str] = []
        self.connections = 0
        host = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def handle(self) -> None:  # once per connection, for each of its requests
                host.connections += 1
                super().handle()

            def do_GET(self) -> None:
                host.requests.append(self.path)
                if self.path in host.redirects:
                    self.send_response(302)
                    self.send_header("Location", host.redirects[self.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                found = host.files.get(self.path)
                if found is None:
                    body = b"not found"
                    self.send_response(404)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                data, content_type, declared = found
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                if declared:
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for start in range(0, len(data), 4096):
                    chunk = data[start : start + 4096]
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")

        self.server = ThreadingHTTPServer((address, port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_port
        self.url = f"http://{address}:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    def start(self) -> MediaHost:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def link(self, path: str) -> str:
        return f"{self.url}{path}"
