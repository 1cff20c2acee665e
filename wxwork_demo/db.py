"""The database engine and the per-unit-of-work session.

A request, a CLI command or one scheduled job run each get their own session: one per app context (the
`scoped_session` is keyed by the context, not the thread), removed when that context ends, so nothing reads a
stale snapshot and a context pushed inside another (a job run from a command) never shares its transaction.

Commits are visible: the service function that owns a unit of work commits it once, at its end. An upstream
call's outcome is a unit of its own, committed right after the call (services/upstream_calls.py:
`record_outcome`); an event that must outlive its unit of work is written by services/events.py: `record_event`
in a short transaction of its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from flask.globals import app_ctx
from sqlalchemy import Connection, CursorResult, Engine, Result, create_engine, event, inspect, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection, DBAPICursor, ExecutionContext
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, SessionTransaction, scoped_session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection, PoolResetState

from wxwork_demo.config import Settings, default_sqlite_path, settings_of, sqlite_folder

EXTENSION_KEY = "wxwork_db"
# PyMySQL waits forever, by default, on a server that took the TCP connection but does not answer (frozen,
# overloaded, or behind a network that drops packets): every request would hang. Bounded, such a request
# fails within about 2 × MYSQL_READ_TIMEOUT_S (the ping, then one new connection) and answers 503.
MYSQL_CONNECT_TIMEOUT_S = 5
MYSQL_READ_TIMEOUT_S = 10
MYSQL_WRITE_TIMEOUT_S = 10
# A pooled connection is pinged on checkout only when it sat unused this long (see _ping_when_idle).
PING_AFTER_IDLE_S = 1.0


@dataclass
class Database:
    engine: Engine
    sessions: scoped_session[Session]


def make_engine(url: str, pool_size: int = 10, max_overflow: int = 20) -> Engine:
    """An engine with the options each backend needs to be safe under threads and restarts."""
    if url.startswith("sqlite"):
        # hide_parameters (both backends): errors are logged, and their values are payloads and secrets.
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
            # WAL lets the callback intake write while the console reads.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        _track_writes(engine)
        return engine
    engine = create_engine(
        url,
        connect_args={
            "connect_timeout": MYSQL_CONNECT_TIMEOUT_S,
            "read_timeout": MYSQL_READ_TIMEOUT_S,
            "write_timeout": MYSQL_WRITE_TIMEOUT_S,
            **mysql_tls_args(url),
        },
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_recycle=3600,
        hide_parameters=True,
        # Each statement sees what others committed: the monitor and the callback intake share rows.
        isolation_level="READ COMMITTED",
        # Rolled back on return only when a statement ran since the last commit (see below).
        pool_reset_on_return=None,
    )
    _roll_back_only_what_is_open(engine)
    _track_writes(engine)
    _ping_when_idle(engine)
    return engine


def mysql_tls_args(url: str) -> dict[str, bool]:
    """`ssl_disabled` for a server on the loopback (or a unix socket) when the URL says nothing of TLS.

    PyMySQL 1.2 prefers TLS by default and builds a TLS context for every new connection, loading the system's
    certificate authorities: about 24 ms of CPU per connection, against 0.35 ms without (measured on the
    local MariaDB, which offers no TLS at all). Under gevent that CPU blocks the whole worker, so a burst of
    new connections held callbacks for seconds. On the loopback TLS protects nothing; elsewhere PyMySQL's
    default stands, and any ssl option in the URL is the user's choice.
    """
    parsed = make_url(url)
    if any(name.startswith("ssl") for name in parsed.query):
        return {}
    loopback = parsed.host in (None, "", "localhost", "127.0.0.1", "::1") or "unix_socket" in parsed.query
    return {"ssl_disabled": True} if loopback else {}


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection on checkout when it sat unused for PING_AFTER_IDLE_S or more.

    A connection back in the pool a moment ago was working a moment ago: pinging it (a round trip on every
    checkout, as `pool_pre_ping` does) is what busy request paths would pay most. One that sat idle may
    have been dropped (server restart, wait_timeout): a failed ping discards it and the pool connects
    again. A connection lost within the last second fails its statement instead (503), and SQLAlchemy
    then discards every connection of the pool, so the next request connects afresh.
    """
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _idle_since(_dbapi_connection: DBAPIConnection | None, record: ConnectionPoolEntry | None) -> None:
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection) -> None:
        since = record.info.get("idle_since")
        if since is not None and time.monotonic() - since < PING_AFTER_IDLE_S:
            return
        try:
            alive = dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("the pooled connection did not answer a ping") from exc
        if not alive:
            raise DisconnectionError("the pooled connection did not answer a ping")


def _roll_back_only_what_is_open(engine: Engine) -> None:
    """Skip the pool's ROLLBACK of a connection whose last act was a COMMIT or a ROLLBACK.

    The pool rolls every returned connection back, even one whose transaction was just committed: a round
    trip per unit of work that does nothing. A statement run since the last commit or rollback marks the
    connection; only a marked connection is rolled back when it returns (as before: a read-only request
    still ends its transaction there). A failed rollback invalidates the connection, as the pool's own does.
    """

    @event.listens_for(engine, "before_cursor_execute")
    def _mark_open(
        conn: Connection,
        _cursor: DBAPICursor,
        _statement: str,
        _parameters: object,
        _context: ExecutionContext | None,
        _executemany: bool,
    ) -> None:
        conn.connection.info["open"] = True

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _mark_closed(conn: Connection) -> None:
        # An invalidated connection (lost server) has no DBAPI connection to mark: asking for it would raise
        # PendingRollbackError in place of the error that invalidated it, and the request would answer 500.
        if not conn.invalidated:
            conn.connection.info["open"] = False

    @event.listens_for(engine, "reset")
    def _reset(
        dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry | None, reset_state: PoolResetState
    ) -> None:
        if record is not None and not record.info.get("open", True):
            return
        dbapi_connection.rollback()
        if record is not None:
            record.info["open"] = False


_WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _track_writes(engine: Engine) -> None:
    """Mark a connection that wrote in its open transaction (cleared by its commit or rollback), so that
    `holds_uncommitted_writes` can tell a unit of work that still holds row locks, or SQLite's write lock."""

    @event.listens_for(engine, "before_cursor_execute")
    def _mark_write(
        conn: Connection,
        _cursor: DBAPICursor,
        statement: str,
        _parameters: object,
        _context: ExecutionContext | None,
        _executemany: bool,
    ) -> None:
        # On every statement, the intake's many-row INSERTs too: only its first characters are looked at.
        if statement[:12].lstrip().upper().startswith(_WRITE_VERBS):
            conn.connection.info["wrote"] = True

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _clear(conn: Connection) -> None:
        if not conn.invalidated:  # see _roll_back_only_what_is_open
            conn.connection.info["wrote"] = False

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: DBAPIConnection | None, record: ConnectionPoolEntry | None) -> None:
        if record is not None:  # the pool rolls back what was left open: nothing of it is held any more
            record.info["wrote"] = False


def holds_uncommitted_writes(session: Session) -> bool:
    """Whether `session` has changed rows it has not committed: objects not yet flushed, or statements that
    wrote in its open transaction (marked on the connection by `_track_writes`)."""
    if session.new or session.deleted or any(session.is_modified(row) for row in session.dirty):
        return True
    if not session.in_transaction():
        return False
    return bool(session.connection().connection.info.get("wrote"))


AFTER_COMMIT, COMMITTED = "after_commit", "after_commit:committed"


def after_commit(session: Session, action: Callable[[], object]) -> None:
    """Run `action` once `session`'s unit of work has committed (and its transaction has ended); at once when
    it holds no uncommitted writes. Forgotten if the unit of work is rolled back.

    For what must not happen while the unit of work holds its locks, such as asking for a chore (the first
    request starts its thread). Under gevent, starting a thread lets other requests run; one of them waiting for
    SQLite's write lock, held by this unit of work, blocks the whole worker (SQLite's busy wait does not yield
    to gevent) for up to its busy_timeout, 30 s: the lock's holder cannot run to commit it.
    """
    if holds_uncommitted_writes(session):
        session.info.setdefault(AFTER_COMMIT, []).append(action)
    else:
        action()


def _committed(session: Session) -> None:
    if AFTER_COMMIT in session.info:
        session.info[COMMITTED] = session.info.pop(AFTER_COMMIT)


def _rolled_back(session: Session) -> None:
    session.info.pop(AFTER_COMMIT, None)


def _transaction_ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        for action in session.info.pop(COMMITTED, []):
            action()


def pool_size_for(settings: Settings) -> tuple[int, int]:
    """(pool_size, max_overflow) from what may use a connection at once in one process.

    Request threads: GUNICORN_THREADS (gunicorn.conf.py). The monitor, in the process holding its lease:
    MONITOR_CONCURRENCY checks, each holding a connection across its upstream call, as many due actions, and
    three scheduler jobs. The larger of the two steady users is kept in the pool (a pass over many accounts
    would otherwise open and close its overflow connections check after check); the rest may overflow.
    """
    threads, monitor = settings.gunicorn_threads, settings.monitor_concurrency
    return max(threads, monitor), threads + monitor + 3


def init_db(app: Flask) -> None:
    """Create the engine for the app's DATABASE_URL and remove the session after each app context."""
    settings = settings_of(app)
    url = settings.database_url
    ensure_sqlite_folder(url)
    pool_size, max_overflow = pool_size_for(settings)
    engine = make_engine(url, pool_size=pool_size, max_overflow=max_overflow)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    event.listen(factory, "after_commit", _committed)
    event.listen(factory, "after_rollback", _rolled_back)
    event.listen(factory, "after_transaction_end", _transaction_ended)
    database = Database(engine=engine, sessions=scoped_session(factory, scopefunc=_app_context_id))
    app.extensions[EXTENSION_KEY] = database

    @app.teardown_appcontext
    def _remove_session(_exc: BaseException | None) -> None:
        database.sessions.remove()


def _app_context_id() -> int:
    """The key of the current app context's session (outside a context, Flask raises its usual error)."""
    # app_ctx is a proxy, typed as the context it stands for; the context itself is what identifies the scope.
    return id(app_ctx._get_current_object())  # type: ignore[attr-defined]


def ensure_sqlite_folder(url: str) -> None:
    """SQLite creates the file but not its folder: the default one (instance/, not in a fresh clone) is created
    here; any other must exist (config.py refuses a DATABASE_URL whose folder does not), so a mistyped path never
    becomes new folders."""
    folder = sqlite_folder(url)
    if folder is not None and folder == default_sqlite_path().parent:
        folder.mkdir(parents=True, exist_ok=True)


def get_db() -> Database:
    database = current_app.extensions.get(EXTENSION_KEY)
    if not isinstance(database, Database):
        raise RuntimeError("this Flask app has no database: build it with wxwork_demo.create_app")
    return database


def db_session() -> Session:
    """The session of the current unit of work."""
    return get_db().sessions()


def rows_matched(result: Result[*tuple[Any, ...]]) -> int:
    """The rows an UPDATE or DELETE run through `Session.execute` matched.

    The session types its result as a plain Result whatever the statement; for DML it is a CursorResult,
    which has the count (the connection's execute would type it, but skips the ORM's synchronisation).
    """
    if not isinstance(result, CursorResult):
        raise TypeError(f"rows_matched needs the result of an UPDATE or DELETE, got {type(result).__name__}")
    return result.rowcount


def missing_tables(engine: Engine) -> list[str]:
    """Names of the app's tables that the database does not have yet."""
    from wxwork_demo.models import Base

    existing = set(inspect(engine).get_table_names())
    return sorted(name for name in Base.metadata.tables if name not in existing)
