"""GET /api/messages/<id>/media: the file of a stored message, downloaded once (storage.py) and served from
MEDIA_DIR after that; files older than MEDIA_RETENTION_DAYS are removed by a chore.

May call: inbox (to find the message), instances (the account's current instance), media.storage.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from wxwork_demo.chores import chore
from wxwork_demo.config import current_settings
from wxwork_demo.db import db_session
from wxwork_demo.models import Instance
from wxwork_demo.services.inbox.queries import get_message
from wxwork_demo.services.media.storage import StoredMedia, fetch_media, remove_older_than, stored_media

# The retention chore runs at most this often (seconds), in the process that served media.
FORGET_EVERY_S = 600.0


def message_media(message_id: int) -> StoredMedia:
    """The file of message `message_id`: from storage, else downloaded now through the account's current
    instance (its uuid changes with reconnects; the message keeps the one it came through).

    404 for an unknown message or one without a file; 413 for a file over MEDIA_MAX_BYTES; the upstream's failure
    (502, 504) when the download fails. Then nothing is stored: the next request tries again.
    """
    row = get_message(message_id)
    settings = current_settings()
    root = Path(settings.media_dir)
    account, key = row.account or row.uuid, str(row.id)
    kept = stored_media(root, account, key)
    if kept is None:
        kept = fetch_media(
            _current_uuid(row.account, row.uuid), account, key, row.payload or {}, root, settings.media_max_bytes
        )
    chore(
        "forget-old-media",
        lambda: remove_older_than(root, settings.media_retention_days * 86400.0),
        delay=FORGET_EVERY_S,
    ).request()
    return kept


def _current_uuid(account: str, fallback: str) -> str:
    if not account:
        return fallback
    query = select(Instance.uuid).where(Instance.vid == account).order_by(Instance.updated_at.desc()).limit(1)
    return db_session().scalar(query) or fallback
