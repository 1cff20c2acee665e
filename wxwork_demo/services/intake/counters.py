"""Named counters in the database (e.g. rejected callbacks), the same for every worker."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from wxwork_demo.db import db_session
from wxwork_demo.models import Counter


def increment(name: str, by: int = 1) -> None:
    session = db_session()
    result = session.execute(update(Counter).where(Counter.name == name).values(value=Counter.value + by))
    if result.rowcount == 0:
        session.add(Counter(name=name, value=by))
        try:
            session.commit()
            return
        except IntegrityError:  # created by another worker meanwhile
            session.rollback()
            session.execute(update(Counter).where(Counter.name == name).values(value=Counter.value + by))
    session.commit()


def all_counters() -> dict[str, int]:
    return {row.name: row.value for row in db_session().scalars(select(Counter))}
