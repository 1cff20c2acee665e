"""The benchmark's databases on the MariaDB/MySQL server: made, filled, counted and dropped by the runner.

The app and the bare floors share one database (the app's schema, migrated, plus `baseline_callbacks`);
the old demo has one of its own, with the seed README's `sessions` and `events` (bench/node/old_demo.js).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

import pymysql

# The floors' table: bench/baseline_app.py (bare Flask) and bench/node/limit.js (bare Node) write here.
FLOOR_TABLE = "baseline_callbacks"
CREATE_FLOOR_TABLE = f"""
CREATE TABLE IF NOT EXISTS {FLOOR_TABLE} (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    uuid VARCHAR(64) NOT NULL,
    type INT NOT NULL,
    body LONGTEXT NOT NULL,
    created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
"""


def server_url() -> str:
    return (os.environ.get("BENCH_MYSQL_URL") or os.environ.get("TEST_MYSQL_URL") or "").rstrip("/") or (
        "mysql+pymysql://root@127.0.0.1:3306"
    )


def connect_args(url: str) -> dict:
    """PyMySQL keyword arguments for a SQLAlchemy-style MySQL URL (its database, if any).

    No TLS: PyMySQL otherwise builds an SSL context for every connection (it tries TLS when the server offers
    it), 40 ms of CPU that reads the CA files and, under gevent, holds up every other request of the worker.
    """
    parts = urlsplit(url)
    return {
        "ssl_disabled": True,
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""),
        "database": parts.path.lstrip("/") or None,
        "charset": "utf8mb4",
        "autocommit": True,
    }


def connect(url: str) -> pymysql.connections.Connection:
    return pymysql.connect(**connect_args(url))


def execute(url: str, sql: str, args: tuple | list | None = None) -> None:
    connection = connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, args)
    finally:
        connection.close()


def scalar(url: str, sql: str, args: tuple = ()) -> int:
    connection = connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, args)
            return int(cursor.fetchone()[0] or 0)
    finally:
        connection.close()


def create(name: str) -> str:
    """An empty database `name`; returns its URL."""
    execute(server_url(), f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    return f"{server_url()}/{name}?charset=utf8mb4"


def drop(name: str) -> None:
    execute(server_url(), f"DROP DATABASE IF EXISTS `{name}`")


def prepare_app_database(url: str) -> None:
    """The app's schema (migrations) and the floors' table."""
    from wxwork_demo.schema import upgrade_database

    upgrade_database(url)
    execute(url, CREATE_FLOOR_TABLE)


def prefill_events(url: str, rows: int, batch: int = 5000) -> int:
    """Fill `events` (the app's or the old demo's: same columns) up to `rows` rows of message callbacks.

    Multi-row INSERTs of `batch` rows from here (INSERT ... SELECT from the same table would need a temporary
    table on the server, which a shared /tmp can lose). Returns the table's row count.
    """
    payload = json.dumps(
        {
            "msgtype": 2,
            "content": "an older message: 你好, the quick brown fox jumps over the lazy dog",
            "sender": 7881302555913738,
            "receiver": 1688853790599424,
            "msg_id": 1,
            "server_id": 5_000_000_001,
        },
        ensure_ascii=False,
    )
    now = datetime.now(UTC).replace(tzinfo=None)
    connection = connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM events")
            have = int(cursor.fetchone()[0])
            while have < rows:
                count = min(batch, rows - have)
                # Placeholders only: PyMySQL makes one multi-row INSERT of them (with literals, a row per trip).
                cursor.executemany(
                    "INSERT INTO events (session_uuid, stage, event_type, payload, created_at)"
                    " VALUES (%s, %s, %s, %s, %s)",
                    [("prefill", "callback", "102000", payload, now)] * count,
                )
                have += count
            return have
    finally:
        connection.close()


def version(url: str) -> str:
    connection = connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT VERSION()")
            return str(cursor.fetchone()[0])
    finally:
        connection.close()
