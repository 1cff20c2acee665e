"""The kinds of value the API accepts, each written once: how it is read (a validator) and how it is
documented (its JSON schema), with the limit shared by both.

Every reader takes what the old demo's clients send (ids as numbers or digit strings, booleans as
"true"/"false"/1/0, `null` meaning "not given") and raises `bad_input(...)` with the reason; the edge
(`blueprints/edge.py`) turns the first one into the 400 body, prefixed with the name of the field.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

MAX_ID = 2**64 - 1  # upstream ids are unsigned 64-bit
MAX_EVENT_ID = 2**63 - 1  # the events table's signed BIGINT
MAX_TEXT = 10_000
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
ID_DIGITS = 20
ID_PATTERN = re.compile(r"^[0-9]{1,20}$")  # ASCII digits only: "²" is a digit to str.isdigit()
CODE_PATTERN = re.compile(r"^[0-9]{6}$")
# Lone surrogates cannot be encoded (UTF-8, the upstream, the database): refused wherever a string is read.
SURROGATE = re.compile(r"[\ud800-\udfff]")
# Short single-line values (ids, names, hosts, keys) hold no control characters; message text may hold
# newlines and tabs, never NUL.
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
NUL = re.compile(r"\x00")
# The same rules as JSON-schema patterns (ECMA-262 and Python `re` read them alike).
LINE_CHARACTER = "[^\\u0000-\\u001f\\u007f\\ud800-\\udfff]"
LINE_PATTERN = f"^{LINE_CHARACTER}*$"
FILLED_LINE_PATTERN = f"^{LINE_CHARACTER}*[^\\s\\ud800-\\udfff]{LINE_CHARACTER}*$"
CONTENT_PATTERN = "^[^\\u0000\\ud800-\\udfff]*\\S[^\\u0000\\ud800-\\udfff]*$"


def bad_input(reason: str, field: str | None = None) -> PydanticCustomError:
    """A refusal of the value; the message is `<field> <reason>`. `field` overrides the field's name."""
    return PydanticCustomError("bad_input", reason, {"field": field} if field else None)


@dataclass(frozen=True)
class Reader:
    """How one kind of value is read and documented: `Annotated[int, upstream_id("...")]` in a model."""

    read: Callable[[Any], Any]
    schema: dict[str, Any]

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(self.read)

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return dict(self.schema)


def check_unicode(value: str, *, single_line: bool) -> str:
    """`value` if it holds no lone surrogate (nor control characters on one line, nor NUL anywhere)."""
    if SURROGATE.search(value):
        raise bad_input("must be valid Unicode text (it holds a lone surrogate)")
    if (CONTROL if single_line else NUL).search(value):
        raise bad_input("must not hold control characters" if single_line else "must not hold NUL characters")
    return value


def read_text(value: Any, max_length: int, *, default: str = "", required: bool = False) -> str:
    """The reader of `text(...)`: a trimmed string, `default` when absent, null or blank."""
    if value is None:
        value = default
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise bad_input("must be a string")
    value = check_unicode(str(value).strip(), single_line=True)
    if len(value) > max_length:
        raise bad_input(f"must be at most {max_length} characters")
    if required and value == "":
        raise bad_input("is required")
    return value or default


def text(max_length: int, description: str = "", *, default: str = "", required: bool = False) -> Reader:
    """A short text: a string (trimmed) or a number; null or absent means `default` (or "is required")."""
    schema: dict[str, Any] = {"type": ["string", "integer", "null"], "maxLength": max_length, "pattern": LINE_PATTERN}
    if required:
        schema = {"type": ["string", "integer"], "minLength": 1, "maxLength": max_length}
        schema["pattern"] = FILLED_LINE_PATTERN
    if description:
        schema["description"] = description
    return Reader(lambda value: read_text(value, max_length, default=default, required=required), schema)


def upstream_id(description: str, *, required: bool = False) -> Reader:
    """A 64-bit upstream id: a JSON integer or a decimal string; absent means 0 (or "is required")."""

    def read(value: Any) -> int:
        if value is None or value == "":
            if required:
                raise bad_input("is required")
            return 0
        if isinstance(value, bool):
            raise bad_input("must be a numeric id")
        if isinstance(value, str) and ID_PATTERN.match(value.strip()):
            value = int(value.strip())
        if isinstance(value, int) and 0 <= value <= MAX_ID:
            return value
        raise bad_input(f"must be a numeric id (digits only, at most {MAX_ID})")

    return Reader(
        read,
        {
            "type": ["integer", "string"] if required else ["integer", "string", "null"],
            "minimum": 0,
            "maximum": MAX_ID,
            "pattern": "^[0-9]{1,19}$" if required else "^([0-9]{1,19})?$",
            "description": description,
        },
    )


def flag(description: str, *, required: bool = False, default: bool = False) -> Reader:
    """A JSON bool, or the strings "true"/"false", or 1/0."""

    def read(value: Any) -> bool:
        if value is None:
            if required:
                raise bad_input("is required (true or false)")
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
            return value.strip().lower() in ("true", "1")
        raise bad_input('must be a boolean (true/false, "true"/"false", 1/0)')

    return Reader(read, {"enum": [True, False, 1, 0, "true", "false", "1", "0"], "description": description})


def positive_int(description: str, *, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT) -> Reader:
    """A page size: 1..maximum as a JSON integer or a decimal string; absent or "" means `default`."""

    def read(value: Any) -> int:
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            raise bad_input("must be a positive integer")
        if isinstance(value, str) and value.strip().isdecimal() and value.strip().isascii():
            value = int(value.strip()) if len(value.strip()) <= 18 else maximum + 1  # too long is too big
        if not isinstance(value, int) or value < 1:
            raise bad_input("must be a positive integer")
        if value > maximum:
            raise bad_input(f"must be at most {maximum}")
        return value

    return Reader(
        read,
        {
            "type": ["integer", "string", "null"],
            "minimum": 1,
            "maximum": maximum,
            "pattern": f"^(0*({_one_to(maximum)}))?$",
            "description": f"{description} 1..{maximum} (default {default}).",
        },
    )


def _one_to(maximum: int) -> str:
    """A regular expression of the decimal numbers 1..maximum (no leading zeros)."""
    digits = str(maximum)
    width = len(digits)
    shorter = [f"[1-9][0-9]{{0,{width - 2}}}"] if width > 1 else []
    same_width = []
    for index, digit in enumerate(int(d) for d in digits):
        low = 1 if index == 0 else 0
        last = index == width - 1
        high = digit if last else digit - 1
        if high >= low:
            rest = "" if last else f"[0-9]{{{width - index - 1}}}"
            same_width.append(f"{digits[:index]}[{low}-{high}]{rest}")
    return "|".join(shorter + same_width)


def cursor(description: str, *, maximum: int = MAX_ID, reason: str = "", field: str | None = None) -> Reader:
    """A numeric cursor: a non-negative JSON integer or digit string; absent or "" means 0."""
    reason = reason or f"must be a non-negative integer cursor (at most {maximum})"

    def read(value: Any) -> int:
        if value is None or value == "":
            return 0
        if isinstance(value, str) and ID_PATTERN.match(value.strip()):
            value = int(value.strip())
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= maximum:
            return value
        raise bad_input(reason, field)

    return Reader(
        read,
        {
            "type": ["integer", "string", "null"],
            "minimum": 0,
            "maximum": maximum,
            "pattern": f"^([0-9]{{1,{len(str(maximum)) - 1}}})?$",
            "description": description,
        },
    )


def string_cursor(description: str, *, max_length: int = 512) -> Reader:
    """An opaque string cursor as the upstream gave it ("" for the first page)."""

    def read(value: Any) -> str:
        if not isinstance(value, str):  # null too: the old demo's clients never sent one
            raise bad_input("must be a string cursor")
        if len(value) > max_length:
            raise bad_input(f"must be at most {max_length} characters")
        return check_unicode(value, single_line=True)

    return Reader(
        read, {"type": "string", "maxLength": max_length, "pattern": LINE_PATTERN, "description": description}
    )


def message_text(description: str, *, max_length: int = MAX_TEXT) -> Reader:
    """The text of a message: required, not blank, at most `max_length` characters, newlines allowed."""

    def read(value: Any) -> str:
        if not isinstance(value, str) or value.strip() == "":
            raise bad_input("is required (a non-empty string)")
        if len(value) > max_length:
            raise bad_input(f"must be at most {max_length} characters")
        return check_unicode(value, single_line=False)

    return Reader(
        read,
        {
            "type": "string",
            "minLength": 1,
            "maxLength": max_length,
            "pattern": CONTENT_PATTERN,
            "description": description,
        },
    )


def six_digit_code(description: str) -> Reader:
    """The verification code: exactly six digits, as a string or a number."""

    def read(value: Any) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not CODE_PATTERN.match(value.strip()):
            raise bad_input("must be exactly 6 digits")
        return value.strip()

    return Reader(
        read,
        {
            "anyOf": [
                {"type": "string", "pattern": "^[0-9]{6}$"},
                {"type": "integer", "minimum": 100000, "maximum": 999999},
            ],
            "description": description,
        },
    )


def http_url(description: str, *, max_length: int = 512, field: str = "url") -> Reader:
    """An http(s) URL with a host, or "" (not given). Refusals name `field` whichever alias was sent."""
    from urllib.parse import urlsplit

    def read(value: Any) -> str:
        url = read_text(value, max_length)
        if url and not url.startswith(("http://", "https://")):
            raise bad_input("must be an http(s) URL", field)
        if url:
            try:
                host = urlsplit(url).netloc
            except ValueError:  # e.g. "http://[" (an unclosed IPv6 bracket)
                host = ""
            if not host:
                raise bad_input("must be an http(s) URL with a host", field)
        return url

    return Reader(
        read,
        {
            "type": ["string", "null"],
            "maxLength": max_length,
            "pattern": "^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[!-~]*)?$",
            "description": description,
        },
    )


def one_of(values: tuple[int, ...], description: str, *, default: int) -> Reader:
    """An integer among `values`, also as its digit string; absent, null or "" means `default`."""

    def read(value: Any) -> int:
        if isinstance(value, str) and value.strip() in {str(v) for v in values}:
            value = int(value)
        if value in ("", None):
            value = default
        if isinstance(value, bool) or value not in values:
            raise bad_input(f"must be {' or '.join(str(v) for v in values)}")
        return int(value)

    choices: list[Any] = [*values, *(str(v) for v in values), "", None]
    return Reader(read, {"enum": choices, "description": description})


def query_text(description: str, *, max_length: int = 255) -> Reader:
    """A filter given in the query string ("" when absent)."""
    return Reader(
        lambda value: read_text(value, max_length),
        {"type": "string", "maxLength": max_length, "pattern": LINE_PATTERN, "description": description},
    )


def row_id(description: str, *, maximum: int = MAX_EVENT_ID, noun: str = "an event id") -> Reader:
    """A database row id given in the query string: ASCII digits, at most `maximum`; absent means 0."""

    def read(value: Any) -> int:
        if value is None:
            return 0
        if isinstance(value, str) and ID_PATTERN.match(value) and int(value) <= maximum:
            return int(value)
        raise bad_input(f"must be {noun} (digits)")

    return Reader(read, {"type": "string", "pattern": "^[0-9]{1,18}$", "description": description})


def id_list(description: str, *, max_items: int = 100) -> Reader:
    """A list of 64-bit upstream ids (JSON integers or decimal strings); absent or null means []."""
    read_id = upstream_id("", required=True).read

    def read(value: Any) -> list[int]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise bad_input("must be a list of numeric ids")
        if len(value) > max_items:
            raise bad_input(f"must hold at most {max_items} ids")
        return list(dict.fromkeys(read_id(item) for item in value))

    item = {"type": ["integer", "string"], "minimum": 0, "maximum": MAX_ID, "pattern": "^[0-9]{1,19}$"}
    return Reader(read, {"type": ["array", "null"], "items": item, "maxItems": max_items, "description": description})


def file_name(description: str, *, max_length: int = 255) -> Reader:
    """A file name as the recipient sees it: one line, no path separators; absent means "" (taken elsewhere)."""

    def read(value: Any) -> str:
        name = read_text(value, max_length)
        if "/" in name or "\\" in name:
            raise bad_input("must be a file name, without / or \\")
        return name

    return Reader(
        read,
        {
            "type": ["string", "null"],
            "maxLength": max_length,
            "pattern": "^[^\\u0000-\\u001f\\u007f\\ud800-\\udfff/\\\\]*$",
            "description": description,
        },
    )


def query_code(description: str) -> Reader:
    """A type code given in the query string (digits, at most 9); absent or "" means no filter (None)."""

    def read(value: Any) -> int | None:
        if value is None or value == "":
            return None
        if isinstance(value, str) and re.fullmatch(r"[0-9]{1,9}", value):
            return int(value)
        raise bad_input("must be a type code (digits)")

    return Reader(read, {"type": "string", "pattern": "^([0-9]{1,9})?$", "description": description})


def choice(values: tuple[str, ...], description: str) -> Reader:
    """One of `values`; absent, null or "" means none (None)."""

    def read(value: Any) -> str | None:
        if value is None or value == "":
            return None
        if isinstance(value, str) and value in values:
            return value
        raise bad_input(f"must be one of {', '.join(values)}")

    return Reader(read, {"enum": [*values, "", None], "description": description})
