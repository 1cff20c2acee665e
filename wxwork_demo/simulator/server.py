"""`SimulatorServer`: the simulator on a real socket in a background thread, for tests and benchmarks."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from .app import create_simulator_app
from .runtime import Simulator, simulator_of

log = logging.getLogger("wxwork_demo.simulator.http")
Settings = Mapping[str, Any]


class _SimulatorRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler, quieter, and closing the connection when a fault refused the request."""

    def connection_dropped(self, error: BaseException, environ: Any = None) -> None:
        # RefuseMiddleware raises a ConnectionError after shutting the socket; without this the
        # keep-alive loop would try to read a next request from a socket nobody answers on.
        self.close_connection = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # One line per request would flood a benchmark's output; keep it for debug logging only.
        if log.isEnabledFor(logging.DEBUG):
            log.debug('%s "%s" %s %s', self.address_string(), self.requestline, code, size)

    def log(self, type: str, message: str, *args: Any) -> None:
        level = logging.WARNING if type == "error" else logging.DEBUG
        log.log(level, "%s - %s", self.address_string(), message % args if args else message)


class _SimulatorWSGIServer(ThreadedWSGIServer):
    # A benchmark opens hundreds of connections at once; the default backlog of 128 would refuse some.
    request_queue_size = 1024


class SimulatorServer:
    """Serves a simulator app on `host:port` (port 0 = any free port) from a daemon thread.

    Use as a context manager, or call `start()` and `stop()`. One server is good for one start/stop.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, settings: Settings | None = None) -> None:
        self.host = host
        self.port = port
        self.app = create_simulator_app(settings)
        self.simulator: Simulator = simulator_of(self.app)
        self._server: _SimulatorWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False

    @property
    def url(self) -> str:
        """Base URL clients should use, e.g. "http://127.0.0.1:9952" (the real port once started)."""
        host = self.host
        if host in ("", "0.0.0.0"):  # noqa: S104 (a comparison: the wildcard maps to loopback)
            host = "127.0.0.1"
        elif host == "::":
            host = "[::1]"
        elif ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def start(self) -> SimulatorServer:
        """Bind the socket and start serving; returns self."""
        if self._server is not None:
            return self
        if self._stopped:
            # stop() ended the simulator's background threads; a restarted server would lose callbacks.
            raise RuntimeError("a SimulatorServer cannot be restarted; create a new one")
        try:
            server = _SimulatorWSGIServer(self.host, self.port, self.app, handler=_SimulatorRequestHandler)
        except SystemExit:
            # werkzeug prints the reason and calls sys.exit on bind errors; a library must raise instead.
            raise OSError(f"cannot listen on {self.host}:{self.port}") from None
        self.port = server.port
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="sim-http", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release hung requests, stop background threads and close the socket."""
        self._stopped = True
        self.simulator.shutdown()
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(5)

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
