"""Short tables for the terminal: columns padded by display width, so Chinese names (two cells each) line up."""

from __future__ import annotations

import unicodedata


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in ("W", "F") else 1 for char in text)


def clip(text: str, width: int) -> str:
    """`text` cut to at most `width` cells, with … when something was cut."""
    if display_width(text) <= width:
        return text
    kept = ""
    for char in text:
        if display_width(kept + char) > width - 1:
            break
        kept += char
    return kept + "…"


def render_table(headers: list[str], rows: list[list[str]]) -> str:
    """Left-aligned columns, two spaces apart, headers first; trailing spaces dropped."""
    widths = [max(display_width(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    lines = []
    for row in (headers, *rows):
        cells = [str(cell) + " " * (width - display_width(str(cell))) for cell, width in zip(row, widths, strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def render_fields(pairs: list[tuple[str, str]]) -> str:
    """`name  value` lines, the names padded to one width."""
    width = max(display_width(name) for name, _ in pairs)
    return "\n".join(f"{name}{' ' * (width - display_width(name))}  {value}" for name, value in pairs)
