"""Run the simulator: `python -m wxwork_demo.simulator --host 127.0.0.1 --port 9952`."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from types import FrameType
from typing import Any

from .server import SimulatorServer
from .settings import SimulatorSettings


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Parse options, serve until Ctrl+C."""
    parser = argparse.ArgumentParser(prog="python -m wxwork_demo.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9952)
    parser.add_argument("--qr-ttl", type=float, help="seconds before an unscanned QR times out (600)")
    parser.add_argument("--callback-retries", type=int, help="retries of a failed callback (0, as documented)")
    parser.add_argument("--inner-people", type=int, help="people in the inner directory (60)")
    parser.add_argument("--external", type=int, help="external contacts per account (300)")
    parser.add_argument("--seed", type=int, help="seed of the generated directory")
    parser.add_argument("--public-url", help="base URL used in QR image links")
    parser.add_argument("--device-store", help="JSON file keeping device knowledge across restarts")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any other setting of wxwork_demo/simulator/settings.py, e.g. --set init_uuid_is_vid=false",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)

    level = logging.DEBUG if args.verbose else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(message)s")
    options = {
        "qr_ttl": args.qr_ttl,
        "callback_retries": args.callback_retries,
        "contacts_inner_people": args.inner_people,
        "contacts_external": args.external,
        "seed": args.seed,
        "public_url": args.public_url,
        "device_store": args.device_store,
    }
    settings: dict[str, Any] = {k: v for k, v in options.items() if v is not None}
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--set expects NAME=VALUE, got {item!r}")
        settings[name.strip()] = value
    try:
        SimulatorSettings.from_mapping(settings)
    except ValueError as exc:
        parser.error(str(exc))
    server = SimulatorServer(args.host, args.port, settings).start()
    print(f"企业微信上游模拟器已启动: {server.url}/wxwork/<Action>")
    print(f"控制台: {server.url}/_sim/", flush=True)
    # SIGTERM (docker stop, kill) shuts down as cleanly as Ctrl+C.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        while not threading.Event().wait(0.5):  # in slices: a wait without timeout can sleep through a signal
            pass
    except KeyboardInterrupt:
        pass
    finally:
        # A second signal (Ctrl+C sends SIGINT to the group while serve.py forwards SIGTERM) must not interrupt
        # the shutdown itself with a KeyboardInterrupt traceback.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
