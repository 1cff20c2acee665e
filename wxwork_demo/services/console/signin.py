"""Console sign-ins kept in the database, so that every worker agrees on them.

- A sign-in is a row holding a random nonce; the signed session cookie carries the nonce. Logout deletes the row:
  the cookie, replayed later or by someone who copied it, no longer opens anything. A sign-in lasts LIFETIME.
- Every try of the password is a row too, by client address: more than MAX_ATTEMPTS within ATTEMPT_WINDOW and the
  client waits. The try is written and committed before it is counted, so tries racing in parallel (in one worker
  or several) all see each other: at most MAX_ATTEMPTS of them reach the password check.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete, select

from wxwork_demo.db import db_session
from wxwork_demo.models import ConsoleLogin, SigninAttempt, utcnow

LIFETIME = timedelta(hours=24)
MAX_ATTEMPTS = 10
ATTEMPT_WINDOW = timedelta(minutes=15)


def try_allowed(client: str) -> float:
    """Count one try of the password by `client`: 0 when it may go on, else the seconds until it may try again."""
    session = db_session()
    now = utcnow()
    since = now - ATTEMPT_WINDOW
    session.execute(delete(SigninAttempt).where(SigninAttempt.created_at < since))
    session.add(SigninAttempt(client=client[:64], created_at=now))
    session.commit()
    tries = session.scalars(
        select(SigninAttempt.created_at)
        .where(SigninAttempt.client == client[:64], SigninAttempt.created_at >= since)
        .order_by(SigninAttempt.created_at)
    ).all()
    session.commit()
    if len(tries) <= MAX_ATTEMPTS:
        return 0.0
    # Free again once enough of the tries in the window have aged out of it.
    frees_at = tries[len(tries) - MAX_ATTEMPTS - 1] + ATTEMPT_WINDOW
    return max(1.0, (frees_at - now).total_seconds())


def sign_in(client: str) -> str:
    """Record a sign-in (the client's tries are forgiven) and return the nonce its cookie carries."""
    session = db_session()
    nonce = secrets.token_urlsafe(32)
    now = utcnow()
    session.execute(delete(SigninAttempt).where(SigninAttempt.client == client[:64]))
    session.execute(delete(ConsoleLogin).where(ConsoleLogin.created_at < now - LIFETIME))
    session.add(ConsoleLogin(nonce=nonce, created_at=now))
    session.commit()
    return nonce


def is_signed_in(nonce: str) -> bool:
    """Whether the sign-in of `nonce` exists (not logged out) and is younger than LIFETIME."""
    if not nonce:
        return False
    row = db_session().get(ConsoleLogin, nonce)
    return row is not None and row.created_at > utcnow() - LIFETIME


def sign_out(nonce: str) -> None:
    """Revoke the sign-in of `nonce`: its cookie opens nothing any more, in any worker."""
    if nonce:
        session = db_session()
        session.execute(delete(ConsoleLogin).where(ConsoleLogin.nonce == nonce))
        session.commit()
