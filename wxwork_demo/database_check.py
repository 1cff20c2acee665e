"""Database problems said in one line: what is wrong, the URL (password masked) and the likely fix.

Used where a person or an operator starts something (`make run`, `wxwork db …`, gunicorn's start) instead of a
traceback, and by the start-up check that says what is missing (no tables yet, tables behind the code's
migrations). Imports no Alembic: the head revision is read from the migration files themselves.
"""

from __future__ import annotations

import re

from sqlalchemy import create_engine, inspect, pool, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from wxwork_demo.paths import bundled, running_from_clone

_REVISION_LINE = re.compile(r'^(down_revision|revision)\s*=\s*(?:"([^"]*)"|None)\s*$', re.MULTILINE)
# PyMySQL / MariaDB error numbers and what a person should do about each.
_MYSQL_FIXES = {
    1044: ("the user may not use this database", "GRANT ALL ON <database>.* TO the user, or use another user"),
    1045: ("the server refused the user or password", "check the user and password (DATABASE_URL or MYSQL_*)"),
    1698: ("the server refused the user or password", "check the user and password (DATABASE_URL or MYSQL_*)"),
    1049: (
        "the database does not exist",
        "create it: CREATE DATABASE {database} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;",
    ),
    2003: (
        "nothing answers at {host}:{port}",
        "start the database server, or correct the host and port (DATABASE_URL or MYSQL_HOST/MYSQL_PORT)",
    ),
    2005: ("the host {host} is unknown", "correct the host (DATABASE_URL or MYSQL_HOST)"),
    2013: ("the server dropped the connection", "check that {host}:{port} is a MySQL/MariaDB server and is healthy"),
}


def upgrade_command() -> str:
    """How to create or upgrade the tables here: `make db` in a clone, `wxwork db upgrade` once installed."""
    return "`make db` (or `.venv/bin/wxwork db upgrade`)" if running_from_clone() else "`wxwork db upgrade`"


def masked(url: str) -> str:
    """The URL with its password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def explain(url: str, exc: BaseException) -> str:
    """One line for a failure to reach or use the database at `url`."""
    cause, fix = _cause_and_fix(url, exc)
    return f"database {masked(url)}: {cause}; {fix}"


def _cause_and_fix(url: str, exc: BaseException) -> tuple[str, str]:
    parts = _url_parts(url)
    orig: BaseException = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    number = orig.args[0] if getattr(orig, "args", None) and isinstance(orig.args[0], int) else None
    message = str(orig.args[1] if number is not None and len(orig.args) > 1 else orig).splitlines()[0][:200]
    if number == 2003 and "Name or service not known" in message:
        number = 2005
    if number in _MYSQL_FIXES:
        cause, fix = _MYSQL_FIXES[number]
        return cause.format(**parts), fix.format(**parts)
    if _is_missing_table(message):
        return "the tables are missing", f"run {upgrade_command()}"
    if (url.startswith("sqlite") and isinstance(orig, OSError)) or "unable to open database" in message:
        return (
            f"cannot open the SQLite file ({message})",
            "check the path in DATABASE_URL and that its folder exists and is writable",
        )
    return f"{type(orig).__name__}: {message}", "check DATABASE_URL (or MYSQL_*) and the server's log"


def _is_missing_table(message: str) -> bool:
    text_ = message.lower()
    return "no such table" in text_ or "doesn't exist" in text_


def _url_parts(url: str) -> dict[str, str]:
    try:
        parsed = make_url(url)
    except ArgumentError:
        return {"host": "?", "port": "?", "database": "?"}
    return {
        "host": parsed.host or "localhost",
        "port": str(parsed.port or 3306),
        "database": f"`{parsed.database}`" if parsed.database else "<database>",
    }


def head_revision() -> str | None:
    """The newest migration in migrations/versions (the one no other migration comes after)."""
    revisions, parents = set(), set()
    for path in (bundled("migrations") / "versions").glob("*.py"):
        found = dict((name, value) for name, value in _REVISION_LINE.findall(path.read_text(encoding="utf-8")) if value)
        if "revision" in found:
            revisions.add(found["revision"])
        if "down_revision" in found:
            parents.add(found["down_revision"])
    heads = sorted(revisions - parents)
    return heads[-1] if heads else None


def startup_problem(url: str) -> str | None:
    """What keeps the database at `url` from serving the app, in one line, or None when it is ready."""
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            current = None
            if "alembic_version" in tables:
                current = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except (SQLAlchemyError, OSError) as exc:
        return explain(url, exc)
    finally:
        engine.dispose()
    head = head_revision()
    if current is None:
        return f"database {masked(url)} has no tables yet; run {upgrade_command()}"
    if head and current != head:
        return f"database {masked(url)} is at migration {current}, this version needs {head}; run {upgrade_command()}"
    return None
