"""A multi-row INSERT run by the database driver itself, for the one path where SQLAlchemy's cost shows.

The callback intake writes a batch of dedup keys and a batch of events per transaction (services/intake/callbacks.py).
Through `Connection.execute` each of those costs more in SQLAlchemy's execution machinery than in PyMySQL,
which turns `executemany` into one `INSERT ... VALUES (...), (...)` statement. Here the statement is compiled
once for the engine's dialect, the values go through the same bind processors SQLAlchemy would apply (JSON
columns serialised, SQLite datetimes as text), and the driver's cursor runs it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Connection, Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError


class BulkInsert:
    """`INSERT INTO table (columns) VALUES ...` for rows given as dicts of those columns."""

    def __init__(self, table: Table, columns: Iterable[str], dialect: Dialect) -> None:
        names = list(columns)
        self.table = table
        compiled = insert(table).compile(dialect=dialect, column_keys=names)
        self.sql = str(compiled)
        # Positional drivers (sqlite3: qmark) take tuples in the statement's order; named ones take dicts.
        self._order: list[str] | None = list(compiled.positiontup or ()) if compiled.positional else None
        self._processors: list[tuple[str, Callable[[Any], Any] | None]] = [
            (name, table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in names
        ]

    def parameters(self, rows: Iterable[dict[str, Any]]) -> list[tuple[Any, ...]] | list[dict[str, Any]]:
        order = self._order
        if order is not None:
            return [tuple(values[name] for name in order) for values in map(self._bound, rows)]
        return [self._bound(row) for row in rows]

    def _bound(self, row: dict[str, Any]) -> dict[str, Any]:
        """The row's values as the driver takes them."""
        return {name: (process(row[name]) if process else row[name]) for name, process in self._processors}


def insert_and_commit(
    connection: Connection,
    work: list[tuple[BulkInsert, list[dict[str, Any]]]],
    then: Callable[[Any], None] | None = None,
) -> list[int | None]:
    """Run each insert with its rows, then `then(cursor)` if given, and commit: one transaction on the
    connection's driver connection.

    Returns, per insert, the id of its first row when the driver reports it (PyMySQL: the statement's
    LAST_INSERT_ID(), the first of the rows' consecutive AUTO_INCREMENT ids), else None (sqlite3).

    Failures come out as SQLAlchemy's exceptions, as from `Connection.execute` (IntegrityError for a duplicate
    key, OperationalError for a lost server...); the transaction is rolled back, and a connection found dead
    is invalidated so that the pool does not hand it out again.
    """
    dialect = connection.dialect
    proxied = connection.connection
    driver_connection = proxied.dbapi_connection
    if driver_connection is None:
        raise RuntimeError("the connection was closed or invalidated before the batch was written")
    cursor = driver_connection.cursor()
    statement = ""
    first_ids: list[int | None] = []
    try:
        for bulk, rows in work:
            statement = bulk.sql
            cursor.executemany(statement, bulk.parameters(rows))
            first_ids.append(cursor.lastrowid or None)
        if then is not None:
            statement = "(statements after the inserts)"
            then(cursor)
        statement = "COMMIT"
        dialect.do_commit(proxied)
    except BaseException as exc:  # nothing of it may stay in the transaction of a pooled connection
        driver_error = exc if isinstance(exc, dialect.loaded_dbapi.Error) else None
        lost = driver_error is not None and dialect.is_disconnect(driver_error, driver_connection, cursor)
        if lost:
            connection.invalidate(exc)
        else:
            _roll_back(connection, exc)
        if driver_error is None:
            raise
        raise DBAPIError.instance(
            statement, None, exc, dialect.loaded_dbapi.Error, hide_parameters=True, connection_invalidated=lost
        ) from exc
    finally:
        cursor.close()
    return first_ids


def _roll_back(connection: Connection, cause: BaseException) -> None:
    try:
        connection.dialect.do_rollback(connection.connection)
    except Exception:  # unusable: never back into the pool
        connection.invalidate(cause)
