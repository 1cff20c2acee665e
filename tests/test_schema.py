"""The migration creates the seed's tables exactly, on SQLite and on MySQL, and runs both ways."""

import pytest
from sqlalchemy import create_engine, inspect, pool, text

from wxwork_demo.schema import current_revision, downgrade_database, upgrade_database


def test_tables_columns_and_indexes_match_the_seed(database_url):
    engine = create_engine(database_url)
    inspector = inspect(engine)
    columns = {c["name"]: c for c in inspector.get_columns("sessions")}
    assert list(columns)[:9] == [
        "id", "uuid", "vid", "is_login", "qrcode", "qrcode_key", "last_event", "last_error", "updated_at",
    ]  # fmt: skip
    # Migration 0002 (keeping accounts online) adds its columns after the seed's.
    assert {"state", "reconnect_attempts", "next_action", "next_action_at", "alerted_at"} <= set(columns)
    assert "monitor_lease" in inspector.get_table_names()
    assert columns["uuid"]["type"].length == 64 and columns["uuid"]["nullable"] is False
    assert columns["qrcode_key"]["type"].length == 128 and columns["last_event"]["type"].length == 255
    assert columns["updated_at"]["nullable"] is False
    event_columns = [c["name"] for c in inspector.get_columns("events")]
    assert event_columns == ["id", "session_uuid", "stage", "event_type", "payload", "created_at"]
    session_indexes = {i["name"]: (i["column_names"], bool(i["unique"])) for i in inspector.get_indexes("sessions")}
    assert session_indexes["uk_uuid"] == (["uuid"], True)
    assert session_indexes["idx_updated_at"] == (["updated_at"], False)
    event_indexes = {i["name"]: i["column_names"] for i in inspector.get_indexes("events")}
    assert event_indexes["idx_created_at"] == ["created_at"] and event_indexes["idx_session_uuid"] == ["session_uuid"]
    engine.dispose()


def test_mysql_ddl_is_the_seeds(database_url):
    if not database_url.startswith("mysql"):
        pytest.skip("MySQL DDL only")
    engine = create_engine(database_url)
    with engine.connect() as connection:
        ddl = connection.execute(text("SHOW CREATE TABLE sessions")).one()[1]
        events_ddl = connection.execute(text("SHOW CREATE TABLE events")).one()[1]
    engine.dispose()
    for fragment in (
        "`id` bigint(20) NOT NULL AUTO_INCREMENT",
        "`uuid` varchar(64) NOT NULL",
        "`vid` varchar(64) DEFAULT ''",
        "`is_login` tinyint(1) NOT NULL DEFAULT 0",
        "`qrcode` longtext",
        "`qrcode_key` varchar(128) DEFAULT ''",
        "`last_error` text",
        "`updated_at` datetime NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp()",
        "UNIQUE KEY `uk_uuid` (`uuid`)",
        "KEY `idx_updated_at` (`updated_at`)",
        "ENGINE=InnoDB",
        "CHARSET=utf8mb4",
    ):
        assert fragment in ddl, fragment
    for fragment in (
        "`payload` longtext",
        "json_valid(`payload`)",
        "`created_at` datetime NOT NULL DEFAULT current_timestamp()",
    ):
        assert fragment in events_ddl, fragment


def test_downgrade_and_upgrade_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    upgrade_database(url)
    assert current_revision(url) is not None
    downgrade_database(url, "base")
    engine = create_engine(url)
    assert inspect(engine).get_table_names() == ["alembic_version"]
    engine.dispose()
    upgrade_database(url)
    upgrade_database(url)  # idempotent
    engine = create_engine(url)
    assert {"sessions", "events"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_a_sqlite_database_is_in_wal_mode_from_its_creation(tmp_path):
    """The migration leaves a SQLite file in WAL mode (kept in the file's header, byte 18 = 2): the app's first
    connections never switch it while others write. The switch, made by whichever connection came first,
    left a window in rollback-journal mode where two writers can deadlock, and SQLite then fails one at once
    without waiting ("database is locked"): a callback answered 503 (tests/test_events_trim.py in CI)."""
    path = tmp_path / "fresh.sqlite3"
    upgrade_database(f"sqlite:///{path}")
    assert path.read_bytes()[18:20] == bytes([2, 2])
    assert not (tmp_path / "fresh.sqlite3-wal").exists()  # checkpointed: the file alone is the whole database


def test_migration_0005_gives_existing_events_the_old_demos_stages(database_url):
    """Dashboards filter `events.stage` by the old demo's names (local-api.md, "Event stages")."""
    downgrade_database(database_url, "0004")
    before = [
        ("check-code", "CheckCode"),
        ("check-code", "CheckCode:refused"),
        ("send-text", "SendTextMsg:timeout"),
        ("refresh-run-client", "GetRunClientByUuid:refused"),
        ("refresh-run-client", "GetRunClient"),
        ("contacts", "GetInnerContacts"),
        ("reconnect", "automaticLogin"),
        ("reconnect", "init:unreachable"),
        ("reconnect", "new-instance"),
        ("monitor", "callback-refreshed"),
        ("monitor", "GetRunClientByUuid:http_error"),
        ("callback", "104001"),
        ("state", "online->offline"),
    ]
    engine = create_engine(database_url, poolclass=pool.NullPool)
    try:
        with engine.begin() as connection:
            for stage, event_type in before:
                connection.execute(
                    text("INSERT INTO events (session_uuid, stage, event_type, created_at) VALUES ('U', :s, :t, :c)"),
                    {"s": stage, "t": event_type, "c": "2026-11-30 00:00:00"},
                )
        upgrade_database(database_url)
        with engine.connect() as connection:
            after = [tuple(r) for r in connection.execute(text("SELECT stage, event_type FROM events ORDER BY id"))]
        assert [stage for stage, _ in after] == [
            "check_code",
            "check_code_error",
            "send_text_error",
            "get_run_client_error",
            "refresh_status",
            "get_contacts",
            "reconnect_automatic_login",
            "reconnect_error",
            "reconnect",
            "monitor_set_callback",
            "monitor_check_error",
            "callback",
            "state",
        ]
        downgrade_database(database_url, "0004")
        with engine.connect() as connection:
            back = [tuple(r) for r in connection.execute(text("SELECT stage, event_type FROM events ORDER BY id"))]
        assert back == before
        upgrade_database(database_url)
    finally:
        engine.dispose()
