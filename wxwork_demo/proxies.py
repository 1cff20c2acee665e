"""The objects behind Flask's context proxies (`current_app`, `session`).

Work handed to another thread needs the app itself, not the proxy (which only resolves inside this context),
and a check of the session's class needs the session itself.
"""

from __future__ import annotations

from typing import TypeVar, cast

from werkzeug.local import LocalProxy

T = TypeVar("T")


def unproxied(proxy: T) -> T:
    """The object `proxy` stands for in the current context."""
    # Flask types its proxies as what they stand for (current_app: Flask); at run time each is a LocalProxy.
    return cast("LocalProxy[T]", proxy)._get_current_object()
