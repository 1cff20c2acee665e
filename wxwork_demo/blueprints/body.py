"""The JSON body of the current request, or a 400 that says what is wrong with it."""

from __future__ import annotations

import json
from typing import Any

from flask import request

from wxwork_demo.errors import BadInput


def json_body(*, allow_empty: bool = True) -> dict[str, Any]:
    """The body as a dict; an empty body counts as `{}` when `allow_empty`."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if allow_empty:
            return {}
        raise BadInput("body", "a JSON object body is required")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # also a body that is not UTF-8, or nested too deep
        raise BadInput("body", "body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadInput("body", "body must be a JSON object")
    return body
