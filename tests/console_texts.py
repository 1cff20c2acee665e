"""The console's Chinese texts, as written in templates/*.html and wxwork_demo/static/*.js.

`python -m tests.console_texts` lists them (file:line and the text). The browser test hands every one to
static/i18n-en.js and fails on any that stays Chinese in English, so a text added without its English is caught.

A JavaScript template literal is listed with each `${...}` replaced by SAMPLE, the way it is rendered with a
number or a name in it: i18n-en.js's rules must match it. Regular-expression literals are skipped (they read the
server's words, they are not shown).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHINESE = re.compile(r"[\u3400-\u9fff]")
SAMPLE = "7"
# Texts shown as they are in both languages: the switch's own label.
EXCEPTIONS = frozenset({"中文"})


@dataclass(frozen=True)
class Text:
    where: str
    text: str


def _normalise(text: str) -> str:
    return " ".join(text.split())


def js_literals(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string and template literal of a script; `${...}` becomes SAMPLE."""
    found: list[tuple[int, str]] = []
    i, n = 0, len(source)
    last = ""  # the last significant character outside strings and comments, to tell a regex from a division

    def line_at(pos: int) -> int:
        return source.count("\n", 0, pos) + 1

    def skip_expression(pos: int) -> int:
        """From inside `${`, the index just after its closing brace (strings inside are collected too)."""
        depth = 1
        while pos < n:
            c = source[pos]
            if c in "'\"`":
                pos = read_string(pos)
                continue
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    return pos + 1
            pos += 1
        return pos

    def read_string(pos: int) -> int:
        quote = source[pos]
        start = pos
        pos += 1
        parts: list[str] = []
        while pos < n and source[pos] != quote:
            c = source[pos]
            if c == "\\":
                parts.append(source[pos : pos + 2])
                pos += 2
                continue
            if quote == "`" and source.startswith("${", pos):
                pos = skip_expression(pos + 2)
                parts.append(SAMPLE)
                continue
            parts.append(c)
            pos += 1
        text = "".join(parts)
        if CHINESE.search(text):
            found.append((line_at(start), text))
        return pos + 1

    while i < n:
        c = source[i]
        if source.startswith("//", i):
            i = source.find("\n", i)
            i = n if i < 0 else i
            continue
        if source.startswith("/*", i):
            i = source.find("*/", i) + 2
            continue
        if c in "'\"`":
            i = read_string(i)
            last = "a"
            continue
        if c == "/" and (last in "(,=:[!&|?{};+-*%<>~^" or last == ""):
            i += 1
            in_class = False
            while i < n and (source[i] != "/" or in_class):
                if source[i] == "\\":
                    i += 1
                elif source[i] == "[":
                    in_class = True
                elif source[i] == "]":
                    in_class = False
                i += 1
            i += 1
            last = "a"
            continue
        if not c.isspace():
            # `return /x/` and `typeof` never appear with a regex here; a word ends like a value.
            last = c if not (c.isalnum() or c in "_$)]") else "a"
        i += 1
    return found


class _TemplateTexts(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []

    def handle_data(self, data: str) -> None:
        for piece in data.split("\x00"):
            if CHINESE.search(piece):
                self.found.append((self.getpos()[0], _normalise(piece)))

    def handle_starttag(self, tag, attrs) -> None:
        for _name, value in attrs:
            if value and CHINESE.search(value):
                self.found.append((self.getpos()[0], _normalise(value)))


def template_texts(source: str) -> list[tuple[int, str]]:
    """(line, text) of a Jinja template's text nodes, attributes and the string literals of its expressions."""
    found: list[tuple[int, str]] = []
    source = re.sub(r"\{#.*?#\}", lambda m: "\n" * m.group().count("\n"), source, flags=re.S)

    def jinja(match: re.Match) -> str:
        line = source.count("\n", 0, match.start()) + 1
        for literal in re.findall(r'"([^"]*)"|\'([^\']*)\'', match.group()):
            text = literal[0] or literal[1]
            if CHINESE.search(text):
                found.append((line, text))
        return "\x00" + "\n" * match.group().count("\n")

    markup = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", jinja, source, flags=re.S)
    parser = _TemplateTexts()
    parser.feed(markup)
    parser.close()
    return found + parser.found


def console_texts() -> list[Text]:
    texts: list[Text] = []
    for path in sorted((ROOT / "templates").glob("*.html")):
        texts += [Text(f"{path.relative_to(ROOT)}:{line}", t) for line, t in template_texts(path.read_text())]
    for path in sorted((ROOT / "wxwork_demo" / "static").glob("*.js")):
        if path.name == "i18n-en.js":
            continue
        texts += [Text(f"{path.relative_to(ROOT)}:{line}", t) for line, t in js_literals(path.read_text())]
    return [t for t in texts if t.text not in EXCEPTIONS]


if __name__ == "__main__":
    for item in console_texts():
        sys.stdout.write(f"{item.where}\t{item.text}\n")
