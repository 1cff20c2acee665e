"""`flask` commands, grouped by topic: db, login, monitor, simulator, forward, messages; and the `wxwork` command

Run them as `wxwork <group> <command>` (or `flask --app wsgi <group> <command>`); they call the same services as
the views. What they print is for people (short tables); `--json` prints the same facts for scripts. A database
that cannot be used is one line naming it (password masked) and the likely fix.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click
from flask import Flask, current_app
from flask.cli import AppGroup, ScriptInfo
from sqlalchemy.exc import SQLAlchemyError

from wxwork_demo.config import current_settings, settings_of
from wxwork_demo.database_check import explain, head_revision, masked, upgrade_command
from wxwork_demo.db import get_db, missing_tables
from wxwork_demo.errors import AppError
from wxwork_demo.proxies import unproxied
from wxwork_demo.services.forwarding.outbox import shown_target
from wxwork_demo.services.instances.closing import delete_instance
from wxwork_demo.services.instances.registry import all_instances, find_instance, instance_to_dict, reread_instance
from wxwork_demo.services.instances.state import ONLINE, WAITING_CODE
from wxwork_demo.services.login import flow as login
from wxwork_demo.services.login.callback_reach import instance_hint, settings_hint
from wxwork_demo.services.monitor import runtime as monitor
from wxwork_demo.terminal_qr import render_qr_image
from wxwork_demo.terminal_table import clip, render_fields, render_table
from wxwork_demo.upstream import UpstreamError

if TYPE_CHECKING:
    from wxwork_demo.services.inbox.queries import MessageRow

T = TypeVar("T")


class CommandGroup(AppGroup):
    """A group whose commands report an unusable database in one line instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SQLAlchemyError as exc:
            url = settings_of(ctx.ensure_object(ScriptInfo).load_app()).database_url
            raise click.ClickException(explain(url, exc)) from None


db_cli = CommandGroup("db", help="Create and upgrade the database tables (Alembic migrations).")
login_cli = CommandGroup("login", help="Log an account in from the terminal.")
monitor_cli = CommandGroup("monitor", help="Check sessions and reconnect dropped accounts.")
simulator_cli = AppGroup("simulator", help="The bundled upstream simulator.")
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts instead of a table.")
forward_cli = CommandGroup("forward", help="Deliver stored messages to FORWARD_URL (signed, retried).")
messages_cli = CommandGroup("messages", help="The inbox: messages stored as they arrive.")


def _fail(message: str) -> NoReturn:
    raise click.ClickException(message)


# --- db -------------------------------------------------------------------------------------------


def _migration_report(url: str) -> dict[str, Any]:
    """Where the database at `url` stands: its migration, the one this version needs, its missing tables."""
    from wxwork_demo import schema  # Alembic only here: it would cost every web worker 12 MB

    revision, head = schema.current_revision(url), head_revision()
    return {
        "database": masked(url),
        "revision": revision,
        "head": head,
        "upToDate": revision is not None and revision == head,
        "missingTables": missing_tables(get_db().engine),
    }


def _echo_migration(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report))
        return
    revision, head = report["revision"], report["head"]
    if report["upToDate"]:
        migration = f"{revision} (the current one)"
    elif revision is None:
        migration = f"none (empty database); run {upgrade_command()}"
    else:
        migration = f"{revision}; this version needs {head}: run {upgrade_command()}"
    missing = report["missingTables"]
    tables = f"missing: {', '.join(missing)}" if missing else "all present"
    click.echo(render_fields([("database", report["database"]), ("migration", migration), ("tables", tables)]))


@db_cli.command("upgrade")
@click.argument("revision", default="head")
@JSON_OPTION
def db_upgrade(revision: str, as_json: bool) -> None:
    """Create the tables, or bring them up to REVISION (default: head)."""
    from wxwork_demo import schema  # Alembic only here: it would cost every web worker 12 MB

    url = current_settings().database_url
    key = current_app.secret_key  # a str (services/secrets.py); "" lets the migration read the settings'
    schema.upgrade_database(url, revision, app_key=key if isinstance(key, str) else "")
    _echo_migration(_migration_report(url), as_json)


@db_cli.command("downgrade")
@click.argument("revision")
@JSON_OPTION
def db_downgrade(revision: str, as_json: bool) -> None:
    """Go back to REVISION ("base" drops every table)."""
    from wxwork_demo import schema  # Alembic only here: it would cost every web worker 12 MB

    url = current_settings().database_url
    schema.downgrade_database(url, revision)
    _echo_migration(_migration_report(url), as_json)


@db_cli.command("current")
@JSON_OPTION
def db_current(as_json: bool) -> None:
    """Show the migration the database is at, the one this version needs, and any missing table."""
    _echo_migration(_migration_report(current_settings().database_url), as_json)


# --- login ----------------------------------------------------------------------------------------


def _print_qr(qrcode: str) -> None:
    data = login.qrcode_image(qrcode)  # None when it cannot be had: the URL is printed below either way
    drawing = render_qr_image(data) if data else None
    if drawing:
        click.echo(drawing)
    if qrcode.startswith("http"):
        click.echo(f"QR image: {qrcode}")
    elif not drawing:
        click.echo("(this QR image cannot be drawn in the terminal; open the console page to see it)")


def _wait_for_login(uuid: str, code: str | None, timeout: float, poll: float = 1.0) -> dict[str, Any]:
    """Follow the session row (callbacks update it) until login succeeds, asking for the code when needed."""
    deadline = time.monotonic() + timeout
    asked = False
    last_check = 0.0
    hinted = False
    while time.monotonic() < deadline:
        row = reread_instance(uuid)
        if row is None:
            _fail(f"session {uuid} disappeared")
        if row.state == ONLINE:
            return instance_to_dict(row)
        hint = instance_hint(row)
        if hint is not None and hint.code == "callback_silent" and not hinted:
            hinted = True
            click.echo(f"warning: {hint.message}", err=True)
        if row.state == WAITING_CODE and not asked:
            asked = True
            _enter_code(uuid, code)
        if time.monotonic() - last_check > 5:
            # Callbacks may not reach us (CALLBACK_URL not served): ask the upstream directly too.
            last_check = time.monotonic()
            try:
                if login.logged_in_upstream(uuid):
                    refreshed = login.refresh_run_client(uuid)
                    if refreshed.warning:
                        click.echo(f"warning: {refreshed.warning}", err=True)
                    continue
            except (UpstreamError, AppError):
                pass
        time.sleep(poll)
    _fail(f"no login within {timeout:.0f} s")


CODE_TRIES = 3


def _enter_code(uuid: str, code: str | None) -> None:
    """Submit the code (asked for unless given), and ask again when the upstream refuses it, up to CODE_TRIES
    times; giving up (an empty answer) deletes the instance, so no login is left waiting for a code."""
    typed = code or click.prompt("Enter the 6-digit code shown on the phone", type=str)
    for attempt in range(1, CODE_TRIES + 1):
        try:
            result = login.check_code(uuid, typed.strip())
        except AppError as exc:
            if exc.status != 400 or attempt == CODE_TRIES:
                _fail(exc.message)
            click.echo(f"{exc.message}; try again (attempt {attempt + 1} of {CODE_TRIES})")
            typed = click.prompt("Code (empty to give up)", type=str, default="", show_default=False)
            if not typed.strip():
                _give_up(uuid)
            continue
        except UpstreamError as exc:
            _fail(exc.message)
        click.echo(f"code accepted: {json.dumps(result.raw, ensure_ascii=False)}")
        return


def _give_up(uuid: str) -> None:
    deleted = delete_instance(uuid, force=True, by="cli")
    _fail(f"gave up: instance {uuid} deleted ({_close_words(deleted.upstream_close, deleted.warning)})")


def _close_words(upstream_close: str, warning: str | None) -> str:
    if upstream_close == "closed":
        return "closed upstream"
    return warning or upstream_close


def _say_upstream() -> None:
    """Which upstream this command talks to, said before it does (every upstream error names its URL too)."""
    settings = current_settings()
    note = ""
    if settings.base_url_is_default:
        note = (
            " (BASE_URL not set: the bundled simulator, as for `wxwork run`, which starts it; alone it is"
            " `wxwork simulator run`)"
        )
    click.echo(f"upstream: {settings.base_url}{note}", err=True)


def _warn_unreachable_callback(callback_url: str) -> None:
    hint = settings_hint(callback_url)
    if hint is not None:
        click.echo(f"warning: {hint.message}", err=True)


def _call(action: Callable[[], T]) -> T:
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
    _say_upstream()
    _warn_unreachable_callback(callback_url)
    started = _call(lambda: login.start_login(fields, callback_url))
    click.echo(f"instance {started.uuid} — scan this QR code with WeChat Work on the phone:")
    _print_qr(started.qrcode)
    session = _wait_for_login(started.uuid, code, timeout)
    click.echo(
        f"logged in: uuid={session['uuid']} vid={session['vid']} "
        f"(next time: `wxwork login auto --vid {session['vid']}`)"
    )


@login_cli.command("auto")
@click.option("--vid", required=True, help="The account id (user_id from the first login).")
@click.option("--callback-url", default="", help="Overrides CALLBACK_URL.")
@click.option("--timeout", default=600.0, show_default=True, help="Seconds to wait for a scan if one is needed.")
def login_auto(vid: str, callback_url: str, timeout: float) -> None:
    """init(vid) → SetCallbackUrl → automaticLogin; falls back to a QR code."""
    _say_upstream()
    _warn_unreachable_callback(callback_url)
    started = _call(lambda: login.init_instance({"vid": int(vid) if vid.isdigit() else vid}))
    if started.warning:
        click.echo(f"warning: {started.warning}", err=True)
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
    session = _wait_for_login(uuid, None, timeout)
    click.echo(f"logged in: uuid={session['uuid']} vid={session['vid']}")


@login_cli.command("delete")
@click.argument("uuid")
@click.option("--force", is_flag=True, help="Delete the row even when the upstream cannot be asked to close it.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def login_delete(uuid: str, force: bool, yes: bool) -> None:
    """Close instance UUID upstream (CloseConnent) and delete it (see `wxwork login status` for the uuids)."""
    row = find_instance(uuid)
    if row is None:
        _fail(f"no instance {uuid!r} (see `wxwork login status`)")
    who = f"vid {row.vid}" if row.vid else "no account yet"
    if not yes:
        click.confirm(f"close and delete instance {uuid} ({who}, {row.state})?", abort=True)
    try:
        deleted = delete_instance(uuid, force=force, by="cli")
    except UpstreamError as exc:
        _fail(f"{exc.message}; the instance is kept (add --force to delete it anyway)")
    click.echo(f"deleted {uuid}: {_close_words(deleted.upstream_close, deleted.warning)}")


NO_ACCOUNTS = "no accounts yet: log one in at the console (`make run`) or with `wxwork login first`"


def _account_rows() -> list[dict[str, Any]]:
    """Every known instance, the active one first (as the API picks it), without the QR image data."""
    rows = []
    for row in all_instances():
        account = instance_to_dict(row)
        account.pop("qrcode", None)
        rows.append(account)
    return rows


def _accounts_table(accounts: list[dict[str, Any]]) -> str:
    rows = []
    for index, account in enumerate(accounts):
        who = " · ".join(part for part in (account["account"]["name"], account["account"]["corp"]) if part)
        state = account["state"] + (f" ({account['stateReason']})" if account["stateReason"] else "")
        rows.append(
            [
                "*" if index == 0 else "",
                account["uuid"],
                str(account["vid"] or "-"),
                clip(who, 24) or "-",
                clip(state, 40),
                account["updatedAt"].replace("T", " ")[:19] or "-",
            ]
        )
    return render_table(["", "UUID", "VID", "ACCOUNT", "STATE", "UPDATED (UTC)"], rows)


@login_cli.command("status")
@click.option("--uuid", default="", help="The instance to refresh (default: the active one, marked *).")
@JSON_OPTION
def login_status(uuid: str, as_json: bool) -> None:
    """Ask the upstream whether the active account (or --uuid) is logged in, then list every known account."""
    if not uuid and not all_instances():
        click.echo(json.dumps({"refreshed": None, "accounts": []}) if as_json else NO_ACCOUNTS)
        return
    result = _call(lambda: login.refresh_run_client(uuid))
    refreshed = {"uuid": result.request.uuid, "isLogin": result.is_login}
    accounts = _account_rows()
    if as_json:
        click.echo(json.dumps({"refreshed": refreshed, "accounts": accounts}, ensure_ascii=False))
        return
    click.echo(_accounts_table(accounts))
    verdict = "logged in" if refreshed["isLogin"] else "not logged in"
    click.echo(f"\nrefreshed {refreshed['uuid']} from the upstream: {verdict}")


# --- monitor --------------------------------------------------------------------------------------


@monitor_cli.command("check")
def monitor_check() -> None:
    """Run one check pass now, then the reconnects it scheduled, and print what happened."""
    app = unproxied(current_app)
    summary = monitor.check_pass(app)
    if summary["offline"]:
        time.sleep(settings_of(app).reconnect_debounce_s)
    summary["actions"] = monitor.run_due_actions(app)
    click.echo(json.dumps(summary))


@monitor_cli.command("status")
@JSON_OPTION
def monitor_status(as_json: bool) -> None:
    """Print the monitor's switch and owner, and every account's state."""
    status, accounts = monitor.monitor_status(), _account_rows()
    if as_json:
        click.echo(json.dumps({"monitor": status, "accounts": accounts}, ensure_ascii=False))
        return
    switch = f"on, every {status['intervalMs'] / 1000:g} s" if status["enabled"] else "off"
    click.echo(
        render_fields(
            [
                ("monitor", switch + (" (a pass is running)" if status["running"] else "")),
                ("owner", status["owner"] or "none"),
                ("last check", status["lastCheckAt"].replace("T", " ")[:19] or "never"),
                ("last reconnect", status["lastReconnectAt"].replace("T", " ")[:19] or "never"),
            ]
        )
    )
    click.echo("\n" + (_accounts_table(accounts) if accounts else NO_ACCOUNTS))


@monitor_cli.command("run")
def monitor_run() -> None:
    """Run the monitor in this process until interrupted: the deployment's dedicated monitor."""
    app = unproxied(current_app)
    from wxwork_demo.log_format import log_to_stderr

    log_to_stderr(current_settings().log_format, current_settings().log_level)  # a dedicated monitor says what it does
    status = monitor.start_dedicated_monitor(app)
    click.echo(f"monitor running every {status['intervalMs']} ms against {current_settings().base_url}; Ctrl-C to stop")
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


# --- forward --------------------------------------------------------------------------------------


@forward_cli.command("run")
def forward_run() -> None:
    """Deliver stored messages to FORWARD_URL until Ctrl-C (any number of these may run at once)."""
    from wxwork_demo.services.forwarding.worker import start_worker, stop_worker

    app = unproxied(current_app)
    targets = settings_of(app).forward_url
    if not targets:
        _fail("FORWARD_URL is not set: there is nowhere to deliver to")
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    start_worker(app)
    click.echo(f"delivering to {', '.join(shown_target(url) for url in targets)}; Ctrl-C stops")
    try:
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        stop_worker(app)


@forward_cli.command("test")
def forward_test() -> None:
    """Send a signed test delivery (type 0) to every target and show what each answered."""
    from wxwork_demo.services.forwarding.probe import send_test

    try:
        results = send_test(current_settings())
    except AppError as exc:
        _fail(exc.message)
    for result in results:
        outcome = f"HTTP {result['status']}" if result["status"] else "no answer"
        click.echo(f"{result['url']}: {outcome} in {result['ms']} ms {result['error']}".rstrip())
    if any(result["error"] for result in results):
        raise SystemExit(1)


# --- messages -------------------------------------------------------------------------------------


@messages_cli.command("tail")
@click.option("--account", default="", help="Only this account (vid); default: every account.")
@click.option("--interval", default=1.0, show_default=True, help="Seconds between looks.")
@click.option("--once", is_flag=True, help="Print what arrives in one look, then stop (for scripts and tests).")
@click.option("--last", default=10, show_default=True, help="Start with the newest N messages.")
def messages_tail(account: str, interval: float, once: bool, last: int) -> None:
    """Print new messages as they arrive, one line each: time, conversation, sender, text."""
    from wxwork_demo.services.inbox.queries import messages_since

    rows, _ = messages_since(account, 0, max(1, last))
    newest = 0
    for row in rows:
        click.echo(_message_line(row))
        newest = row.id
    while not once:
        time.sleep(interval)
        more = True
        while more:
            rows, more = messages_since(account, newest, 500)
            for row in rows:
                click.echo(_message_line(row))
                newest = row.id


def _message_line(row: MessageRow) -> str:
    moment = row.received_at.strftime("%Y-%m-%d %H:%M:%S") if row.received_at else ""
    text = (row.content or "").replace("\r", " ").replace("\n", " ")
    where = row.conversation or "-"
    return f"{moment}  {where}  {row.sender or '-'}  {text}"


def register_commands(app: Flask) -> None:
    from wxwork_demo.cli_sending import GROUPS as SENDING_GROUPS

    for group in (db_cli, login_cli, monitor_cli, simulator_cli, forward_cli, messages_cli, *SENDING_GROUPS):
        app.cli.add_command(group)


# --- the `wxwork` command ---------------------------------------------------------------------------


@click.command("run")
def run_command() -> None:
    """The console with everything it needs: migrations, the simulator when BASE_URL is unset, gunicorn."""
    from wxwork_demo.serve import main as serve_main

    raise SystemExit(serve_main())


@click.command("serve")
def serve_command() -> None:
    """gunicorn alone, in this process (for systemd and the like): no migrations, no simulator."""
    from wxwork_demo.serve import exec_gunicorn

    exec_gunicorn()


def main() -> None:
    """`wxwork …` (console script) and `python -m wxwork_demo …`: the flask commands without `--app`."""
    import sys

    from flask.cli import FlaskGroup, routes_command, shell_command

    from wxwork_demo import create_app
    from wxwork_demo.config import ConfigError, load_settings

    try:  # a setting that cannot work: one line, before any command builds the app
        load_settings()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    group = FlaskGroup(
        name="wxwork",
        help="wxwork_demo: `wxwork run` starts the console; the other commands work on its database and accounts.",
        create_app=lambda: create_app(),
        add_default_commands=False,
        add_version_option=False,
        load_dotenv=False,  # the app reads .env itself (config.py)
    )
    # The app and its settings are fixed (environment and .env): no --app, --env-file or --debug.
    group.params = [param for param in group.params if param.name not in ("app", "env_file", "debug")]
    for command in (run_command, serve_command, shell_command, routes_command):
        group.add_command(command)
    group.main(prog_name="wxwork")
