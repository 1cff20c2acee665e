"""Callback payloads as every database stores them: what a JSON column refuses is kept as text, flagged.

MariaDB's JSON column (LONGTEXT CHECK JSON_VALID) refuses NaN and Infinity, nesting deeper than JSON_DEPTH 32,
and a lone surrogate (escaped by the serialiser; unescaped, no driver could even encode it). SQLite stores
them, and the API would then answer invalid JSON. Such a payload is replaced, before it reaches a batch, by

    {"storedAsText": true, "reason": "...", "text": "<the payload as JSON text: ASCII, NaN and escapes kept>"}

so one bad callback never fails the others of its batch, and a sender retrying it is answered 200 like any.
"""

from __future__ import annotations

import json
import math
from typing import Any

# MariaDB's limit: JSON_DEPTH('[[1]]') is 3 (a scalar counts as a level); deeper documents fail JSON_VALID.
MAX_DEPTH = 32
TOO_DEEP_FOR_TEXT = "<nested too deeply to be written out>"


def storable_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """`payload` itself when a JSON column takes it, else its text stand-in (see the module's docstring)."""
    reason = _refusal(payload)
    if not reason:
        return payload
    try:
        text = json.dumps(payload, ensure_ascii=True, allow_nan=True)
    except (RecursionError, ValueError):
        text = TOO_DEEP_FOR_TEXT
    return {"storedAsText": True, "reason": reason, "text": text}


def storable_text(value: str) -> str:
    """A string column's value: lone surrogates written as `\\udXXX` escapes (no driver encodes them)."""
    return value if _encodable(value) else value.encode("utf-8", "backslashreplace").decode("utf-8")


def _refusal(payload: Any) -> str:
    """Why a JSON column would refuse `payload`, or "" (an iterative walk: no depth is too deep for it)."""
    stack: list[tuple[Any, int]] = [(payload, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"nested deeper than {MAX_DEPTH} levels"
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and not _encodable(key):
                    return "a lone surrogate in a key"
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, float) and not math.isfinite(value):
            return "NaN or Infinity"
        elif isinstance(value, str) and not _encodable(value):
            return "a lone surrogate in a string"
    return ""


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
