"""Keys out of the database: stored proxies sealed again under the app key, the stored keys deleted.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

Up to 0006, without SECRET_KEY, proxy settings were sealed under a key kept in `app_secrets` (`proxy_key`),
and console cookies were signed with another one kept there (`session_key`), which a worker that had
handled a cookie also sealed proxies with. A dump of the database opened both. From here on the app key
is SECRET_KEY or the instance key file (wxwork_demo/services/secrets.py), never the database: each stored
proxy is opened with whichever key sealed it and sealed again under the app key, then both stored keys
are deleted (console users log in again). A proxy that no key opens is left as it is: the monitor reports
it, with an alert, when it needs it.

Downgrading keeps the proxies sealed under the app key: run the older version with SECRET_KEY set to the
content of the key file so that it still opens them.
"""

import base64
import hashlib

import sqlalchemy as sa
from alembic import context, op
from cryptography.fernet import Fernet, InvalidToken

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

LEGACY_KEYS = ("proxy_key", "session_key")
app_secrets = sa.table("app_secrets", sa.column("name", sa.String), sa.column("value", sa.String))
sessions = sa.table("sessions", sa.column("id", sa.BigInteger), sa.column("proxy_sealed", sa.Text))


def _vault(secret: str) -> Fernet:
    # The derivation of wxwork_demo/services/instances/proxy_vault.py, as it is at this revision.
    digest = hashlib.sha256(f"wxwork-proxy-vault:{secret}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _app_key() -> str:
    """The key the app will use: given by `flask db upgrade`, else read from the settings like the app does."""
    given = context.config.attributes.get("app_key")
    if given:
        return given
    from wxwork_demo.config import load_settings
    from wxwork_demo.services.secrets import app_key

    return app_key(load_settings())


def upgrade() -> None:
    bind = op.get_bind()
    legacy = list(bind.scalars(sa.select(app_secrets.c.value).where(app_secrets.c.name.in_(LEGACY_KEYS))))
    sealed = bind.execute(
        sa.select(sessions.c.id, sessions.c.proxy_sealed).where(sessions.c.proxy_sealed.is_not(None))
    ).all()
    if sealed and legacy:
        key = _app_key()
        for row_id, token in sealed:
            for candidate in (key, *legacy):
                try:
                    plain = _vault(candidate).decrypt(token.encode())
                except InvalidToken:
                    continue
                if candidate != key:
                    resealed = _vault(key).encrypt(plain).decode()
                    bind.execute(sessions.update().where(sessions.c.id == row_id).values(proxy_sealed=resealed))
                break
    bind.execute(app_secrets.delete().where(app_secrets.c.name.in_(LEGACY_KEYS)))


def downgrade() -> None:
    pass  # see the module docstring: SECRET_KEY set to the key file's content opens the proxies
