"""Readers of request fields: each returns a clean value or raises `BadInput` naming the field."""

from __future__ import annotations

import re
from typing import Any

from wxwork_demo.errors import BadInput

CODE_PATTERN = re.compile(r"^\d{6}$")
ID_PATTERN = re.compile(r"^\d{1,20}$")
MAX_ID = 2**64 - 1
MAX_TEXT = 10_000


def first_present(body: dict, *names: str) -> tuple[str, Any]:
    """The first of `names` present in `body` (aliases such as `send_userid`/`sendUserid`)."""
    for name in names:
        if name in body and body[name] is not None:
            return name, body[name]
    return names[0], None


def optional_str(body: dict, *names: str, default: str = "", max_length: int = 255) -> str:
    name, value = first_present(body, *names)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise BadInput(name, f"{name} must be a string")
    value = str(value).strip()
    if len(value) > max_length:
        raise BadInput(name, f"{name} must be at most {max_length} characters")
    return value


def required_str(body: dict, *names: str, max_length: int = 255) -> str:
    value = optional_str(body, *names, max_length=max_length)
    if value == "":
        raise BadInput(names[0], f"{names[0]} is required")
    return value


def parse_bool(body: dict, name: str, *, required: bool, default: bool = False) -> bool:
    """A JSON bool, or the strings "true"/"false", or 1/0."""
    value = body.get(name)
    if value is None:
        if required:
            raise BadInput(name, f"{name} is required (true or false)")
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    raise BadInput(name, f'{name} must be a boolean (true/false, "true"/"false", 1/0)')


def parse_id(body: dict, *names: str, required: bool, default: int = 0) -> int:
    """A 64-bit upstream id given as a JSON integer or a decimal string."""
    name, value = first_present(body, *names)
    if value is None or value == "":
        if required:
            raise BadInput(name, f"{name} is required")
        return default
    if isinstance(value, bool):
        raise BadInput(name, f"{name} must be a numeric id")
    if isinstance(value, str) and ID_PATTERN.match(value.strip()):
        value = int(value.strip())
    if isinstance(value, int) and 0 <= value <= MAX_ID:
        return value
    raise BadInput(name, f"{name} must be a numeric id (digits only, at most {MAX_ID})")


def parse_positive_int(value: Any, name: str, *, default: int, maximum: int = 1000) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise BadInput(name, f"{name} must be a positive integer")
    if isinstance(value, str) and value.strip().isdecimal():
        # isdecimal, not isdigit: "²" is a digit that int() refuses; very long strings are simply too big.
        value = int(value.strip()) if len(value.strip()) <= 18 else maximum + 1
    if not isinstance(value, int) or value < 1:
        raise BadInput(name, f"{name} must be a positive integer")
    if value > maximum:
        raise BadInput(name, f"{name} must be at most {maximum}")
    return value


def parse_code(body: dict) -> str:
    value = body.get("code")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not CODE_PATTERN.match(value.strip()):
        raise BadInput("code", "code must be exactly 6 digits")
    return value.strip()
