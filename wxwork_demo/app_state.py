"""Objects an app keeps for itself, one per app and process (made on first use: gunicorn forks before)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import current_app

T = TypeVar("T")


def app_owned(key: str, kind: type[T], make: Callable[[], T]) -> T:
    """`app.extensions[key]`, made by `make()` the first time (two threads racing keep the first one stored)."""
    extensions = current_app.extensions
    found = extensions.get(key)
    if found is None:
        found = extensions.setdefault(key, make())
    if not isinstance(found, kind):
        raise RuntimeError(f"app.extensions[{key!r}] holds a {type(found).__name__}")
    return found
