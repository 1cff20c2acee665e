"""The database engine and the per-unit-of-work session.

A request, a CLI command or one scheduled job run each get their own session (thread-local through
`scoped_session`), removed when the app context ends, so nothing reads a stale snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.orm import Session, scoped_session, sessionmaker

EXTENSION_KEY = "wxwork_db"


@dataclass
class Database:
    engine: Engine
    sessions: scoped_session[Session]


def make_engine(url: str) -> Engine:
    """An engine with the options each backend needs to be safe under threads and restarts."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # WAL lets the callback intake write while the console reads.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        pool_recycle=3600,
        # Each statement sees what others committed: the monitor and the callback intake share rows.
        isolation_level="READ COMMITTED",
    )


def init_db(app: Flask) -> None:
    """Create the engine for the app's DATABASE_URL and remove the session after each app context."""
    url = app.config["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        from pathlib import Path

        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    database = Database(engine=engine, sessions=scoped_session(sessionmaker(bind=engine, expire_on_commit=False)))
    app.extensions[EXTENSION_KEY] = database

    @app.teardown_appcontext
    def _remove_session(_exc):
        database.sessions.remove()


def get_db() -> Database:
    return current_app.extensions[EXTENSION_KEY]


def db_session() -> Session:
    """The session of the current unit of work."""
    return get_db().sessions()


def missing_tables(engine: Engine) -> list[str]:
    """Names of the app's tables that the database does not have yet."""
    from wxwork_demo.models import Base

    existing = set(inspect(engine).get_table_names())
    return sorted(name for name in Base.metadata.tables if name not in existing)
