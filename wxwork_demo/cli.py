"""`flask` commands, grouped by topic: db, login, monitor, simulator, serve.

Run them as `flask --app wsgi <group> <command>`; they call the same services as the views.
"""

from __future__ import annotations

import json
import signal
import threading
import time

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from wxwork_demo.config import current_settings, settings_of
from wxwork_demo.contract.common import InstanceInfo
from wxwork_demo.db import db_session, get_db, missing_tables
from wxwork_demo.errors import AppError
from wxwork_demo.services.instances.registry import all_instances, find_instance, instance_info, instance_to_dict
from wxwork_demo.services.instances.state import ONLINE, WAITING_CODE
from wxwork_demo.services.login import flow as login
from wxwork_demo.services.monitor import runtime as monitor
from wxwork_demo.terminal_qr import render_qr_image
from wxwork_demo.upstream import UpstreamError

db_cli = AppGroup("db", help="Create and upgrade the database tables (Alembic migrations).")
login_cli = AppGroup("login", help="Log an account in from the terminal.")
monitor_cli = AppGroup("monitor", help="Check sessions and reconnect dropped accounts.")
simulator_cli = AppGroup("simulator", help="The bundled upstream simulator.")


def _fail(message: str) -> None:
    raise click.ClickException(message)


# --- db -------------------------------------------------------------------------------------------


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Create the tables, or bring them up to REVISION (default: head)."""
    from wxwork_demo import schema  # Alembic only here: it would cost every web worker 12 MB

    schema.upgrade_database(current_settings().database_url, revision)
    click.echo(f"database at revision {schema.current_revision(current_settings().database_url)}")


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Go back to REVISION ("base" drops every table)."""
    from wxwork_demo import schema  # Alembic only here: it would cost every web worker 12 MB

    schema.downgrade_database(current_settings().database_url, revision)
    click.echo(f"database at revision {schema.current_revision(current_settings().database_url)}")


@db_cli.command("current")
def db_current() -> None:
    """Show the revision the database is at, and any missing table."""
    from wxwork_demo import schema  # Alembic only here: it would cost every web worker 12 MB

    click.echo(schema.current_revision(current_settings().database_url) or "empty database (no revision)")
    missing = missing_tables(get_db().engine)
    if missing:
        click.echo(f"missing tables: {', '.join(missing)}; run `flask --app wsgi db upgrade`")


# --- login ----------------------------------------------------------------------------------------


def _print_qr(qrcode: str) -> None:
    data = login.qrcode_image(qrcode)
    drawing = render_qr_image(data) if data else None
    if drawing:
        click.echo(drawing)
    if qrcode.startswith("http"):
        click.echo(f"QR image: {qrcode}")
    elif not drawing:
        click.echo("(this QR image cannot be drawn in the terminal; open the console page to see it)")


def _wait_for_login(uuid: str, code: str | None, timeout: float, poll: float = 1.0) -> InstanceInfo:
    """Follow the session row (callbacks update it) until login succeeds, asking for the code when needed."""
    deadline = time.monotonic() + timeout
    asked = False
    last_check = 0.0
    while time.monotonic() < deadline:
        db_session().expire_all()
        row = find_instance(uuid)
        if row is None:
            _fail(f"session {uuid} disappeared")
        if row.state == ONLINE:
            return instance_info(row)
        if row.state == WAITING_CODE and not asked:
            asked = True
            typed = code or click.prompt("Enter the 6-digit code shown on the phone", type=str)
            result = _call(lambda typed=typed: login.check_code(uuid, typed.strip()))
            click.echo(f"code accepted: {json.dumps(result.raw, ensure_ascii=False)}")
        if time.monotonic() - last_check > 5:
            # Callbacks may not reach us (CALLBACK_URL not served): ask the upstream directly too.
            last_check = time.monotonic()
            try:
                if login.logged_in_upstream(uuid):
                    login.refresh_run_client(uuid)
                    continue
            except (UpstreamError, AppError):
                pass
        time.sleep(poll)
    _fail(f"no login within {timeout:.0f} s")
    return InstanceInfo()


def _call(action):
    try:
        return action()
    except AppError as exc:
        _fail(exc.message)
    except UpstreamError as exc:
        _fail(exc.message)


@login_cli.command("first")
@click.option("--vid", default="", help="Account id to reuse a device (leave empty for a new device).")
@click.option("--code", default=None, help="The 6-digit code, if you already know it (else you are asked).")
@click.option("--callback-url", default="", help="Overrides CALLBACK_URL.")
@click.option("--timeout", default=600.0, show_default=True, help="Seconds to wait for the scan.")
def login_first(vid: str, code: str | None, callback_url: str, timeout: float) -> None:
    """init → SetCallbackUrl → getQrCode, draw the QR, wait for the scan, ask for the code."""
    fields = {"vid": int(vid) if vid.isdigit() else ""}
    started = _call(lambda: login.start_login(fields, callback_url))
    click.echo(f"instance {started.uuid} — scan this QR code with WeChat Work on the phone:")
    _print_qr(started.qrcode)
    instance = _wait_for_login(started.uuid, code, timeout)
    click.echo(f"logged in: uuid={instance.uuid} vid={instance.vid} (use `flask login auto --vid {instance.vid}`)")


@login_cli.command("auto")
@click.option("--vid", required=True, help="The account id (user_id from the first login).")
@click.option("--callback-url", default="", help="Overrides CALLBACK_URL.")
@click.option("--timeout", default=600.0, show_default=True, help="Seconds to wait for a scan if one is needed.")
def login_auto(vid: str, callback_url: str, timeout: float) -> None:
    """init(vid) → SetCallbackUrl → automaticLogin; falls back to a QR code."""
    started = _call(lambda: login.init_instance({"vid": int(vid) if vid.isdigit() else vid}))
    uuid = started.uuid
    _call(lambda: login.register_callback(uuid, callback_url))
    try:
        login.automatic_login(uuid)
        click.echo(f"logged in automatically: uuid={uuid} vid={vid}")
        return
    except (AppError, UpstreamError) as exc:
        click.echo(f"automatic login failed ({getattr(exc, 'message', exc)}); falling back to a QR code")
    qr = _call(lambda: login.fetch_qrcode(uuid))
    _print_qr(qr.qrcode)
    instance = _wait_for_login(uuid, None, timeout)
    click.echo(f"logged in: uuid={instance.uuid} vid={instance.vid}")


@login_cli.command("status")
def login_status() -> None:
    """Refresh and print the login state of the active session."""
    click.echo(json.dumps(_call(lambda: login.refresh_run_client("")).to_json(), ensure_ascii=False, indent=2))


# --- monitor --------------------------------------------------------------------------------------


@monitor_cli.command("check")
def monitor_check() -> None:
    """Run one check pass now, then the reconnects it scheduled, and print what happened."""
    app = current_app._get_current_object()
    summary = monitor.check_pass(app)
    if summary["offline"]:
        time.sleep(settings_of(app).reconnect_debounce_s)
    summary["actions"] = monitor.run_due_actions(app)
    click.echo(json.dumps(summary))


@monitor_cli.command("status")
def monitor_status() -> None:
    """Print the monitor's switch and owner, and every session's state."""
    click.echo(json.dumps(monitor.monitor_status()))
    for row in all_instances():
        click.echo(json.dumps(instance_to_dict(row), ensure_ascii=False))


@monitor_cli.command("run")
def monitor_run() -> None:
    """Run the monitor in this process until interrupted: the deployment's dedicated monitor."""
    app = current_app._get_current_object()
    status = monitor.start_monitor(app)
    click.echo(f"monitor running every {status['intervalMs']} ms; Ctrl-C to stop")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(1):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        monitor.shutdown_monitor(app)


# --- simulator ------------------------------------------------------------------------------------


@simulator_cli.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=9952, show_default=True)
def simulator_run(host: str, port: int) -> None:
    """Serve the upstream simulator (control page at /_sim/)."""
    from wxwork_demo.simulator import SimulatorServer

    with SimulatorServer(host=host, port=port) as server:
        click.echo(f"upstream simulator at {server.url} (control page {server.url}/_sim/)")
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass


def register_commands(app: Flask) -> None:
    for group in (db_cli, login_cli, monitor_cli, simulator_cli):
        app.cli.add_command(group)
