"""The console's Chinese texts, as written in templates/*.html and wxwork_demo/static/**/*.js.

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


# After one of these (or at the start), a "/" opens a regular expression; after a value it divides.
BEFORE_REGEX = "(,=:[!&|?{};+-*%<>~^"


class _ScriptScanner:
    """Walks a script once: comments and regular expressions skipped, string and template literals collected."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.found: list[tuple[int, str]] = []

    def scan(self) -> list[tuple[int, str]]:
        source, pos, last = self.source, 0, ""
        while pos < len(source):
            c = source[pos]
            if source.startswith(("//", "/*"), pos):
                pos = self.skip_comment(pos)
            elif c in "'\"`":
                pos, last = self.read_string(pos), "a"
            elif c == "/" and (last == "" or last in BEFORE_REGEX):
                pos, last = self.skip_regex(pos), "a"
            else:
                if not c.isspace():
                    # `return /x/` never appears here; a word or a closing bracket ends like a value.
                    last = "a" if (c.isalnum() or c in "_$)]") else c
                pos += 1
        return self.found

    def skip_comment(self, pos: int) -> int:
        if self.source.startswith("//", pos):
            end = self.source.find("\n", pos)
            return len(self.source) if end < 0 else end
        return self.source.find("*/", pos) + 2

    def skip_regex(self, pos: int) -> int:
        source, pos, in_class = self.source, pos + 1, False
        while pos < len(source) and (source[pos] != "/" or in_class):
            if source[pos] == "\\":
                pos += 1
            elif source[pos] in "[]":
                in_class = source[pos] == "["
            pos += 1
        return pos + 1

    def skip_expression(self, pos: int) -> int:
        """From inside `${`, the index just after its closing brace (strings inside are collected too)."""
        depth = 1
        while pos < len(self.source):
            c = self.source[pos]
            if c in "'\"`":
                pos = self.read_string(pos)
                continue
            depth += {"{": 1, "}": -1}.get(c, 0)
            pos += 1
            if depth == 0:
                break
        return pos

    def read_string(self, pos: int) -> int:
        source, quote, start = self.source, self.source[pos], pos
        pos += 1
        parts: list[str] = []
        while pos < len(source) and source[pos] != quote:
            if source[pos] == "\\":
                parts.append(source[pos : pos + 2])
                pos += 2
            elif quote == "`" and source.startswith("${", pos):
                pos = self.skip_expression(pos + 2)
                parts.append(SAMPLE)
            else:
                parts.append(source[pos])
                pos += 1
        text = "".join(parts)
        if CHINESE.search(text):
            self.found.append((source.count("\n", 0, start) + 1, text))
        return pos + 1


def js_literals(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string and template literal of a script; `${...}` becomes SAMPLE."""
    return _ScriptScanner(source).scan()


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
    for path in sorted((ROOT / "wxwork_demo" / "static").rglob("*.js")):  # static/console/ holds the modules
        if path.name == "i18n-en.js":
            continue
        texts += [Text(f"{path.relative_to(ROOT)}:{line}", t) for line, t in js_literals(path.read_text())]
    return [t for t in texts if t.text not in EXCEPTIONS]


if __name__ == "__main__":
    for item in console_texts():
        sys.stdout.write(f"{item.where}\t{item.text}\n")
