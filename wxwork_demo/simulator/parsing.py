"""Lenient readers for request fields: upstream clients send ids as ints or strings, bools in many forms."""

from __future__ import annotations

from typing import Any


class FieldError(ValueError):
    """A request field has a value that cannot mean anything."""

    def __init__(self, field: str) -> None:
        super().__init__(f"{field} must be a number")
        self.field = field


def parse_id(value: Any, name: str) -> int | None:
    """A 64-bit id from an int, a decimal string or an integral float; None for missing/empty/0-like."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise FieldError(name)
    if isinstance(value, int):
        return value or None
    if isinstance(value, float) and value.is_integer():
        return int(value) or None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip()) or None
    raise FieldError(name)


def parse_int(value: Any, name: str, default: int) -> int:
    """An int from an int or numeric string; `default` when missing or empty."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise FieldError(name)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise FieldError(name) from None


def parse_bool(value: Any) -> bool:
    """True for true/1/"true"/"1"/"yes"; everything else is False."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)
