"""Apply the Alembic migrations in `migrations/` to the app's database."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, pool

from wxwork_demo.db import ensure_sqlite_folder
from wxwork_demo.paths import bundled

MIGRATIONS = bundled("migrations")  # the clone's migrations/, or the installed package's copy


def alembic_config(database_url: str) -> Config:
    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = database_url
    config.attributes["skip_logging"] = True
    return config


def upgrade_database(database_url: str, revision: str = "head", app_key: str = "") -> None:
    """Create or bring the tables up to `revision` (idempotent). `app_key` is the key stored proxies are
    sealed under (revision 0007 seals them again); by default the one the settings give."""
    ensure_sqlite_folder(database_url)
    config = alembic_config(database_url)
    config.attributes["app_key"] = app_key
    command.upgrade(config, revision)


def downgrade_database(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def current_revision(database_url: str) -> str | None:
    engine = create_engine(database_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
