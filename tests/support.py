"""Small builders and readers shared by the tests."""

from __future__ import annotations

import json

from sqlalchemy import select

from wxwork_demo.db import get_db
from wxwork_demo.models import Event, LoginSession

# Where the upstream posts: the registered callback URL carries the token.
CALLBACK_PATH = "/callback/wxwork?token=test-callback-token-0123456789"


def envelope(data=None, errcode=0, errmsg="ok", **extra) -> dict:
    return {"data": data, "errcode": errcode, "errmsg": errmsg, **extra}


def sent_json(call) -> dict:
    return json.loads(call.request.body)


def add_session(app, uuid="u-1", **fields) -> None:
    """Put a session row in the database, as init would have."""
    with app.app_context():
        database = get_db().sessions()
        database.add(LoginSession(uuid=uuid, **fields))
        database.commit()


def events_of(app, **filters) -> list[Event]:
    with app.app_context():
        query = select(Event).order_by(Event.id)
        for name, value in filters.items():
            query = query.where(getattr(Event, name) == value)
        return list(get_db().sessions().scalars(query))


def session_row(app, uuid) -> LoginSession | None:
    with app.app_context():
        return get_db().sessions().scalars(select(LoginSession).where(LoginSession.uuid == uuid)).first()
