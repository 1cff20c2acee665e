"""The Chinese README stays beside the English one: linked both ways, with the same commands."""

import re

from tests.e2e.live import PROJECT_ROOT

ENGLISH = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
CHINESE = (PROJECT_ROOT / "README.zh-CN.md").read_text(encoding="utf-8")


def commands(text: str) -> set[str]:
    """Every command line of the bash blocks, without its comment."""
    found = set()
    for block in re.findall(r"```bash\n(.*?)```", text, re.DOTALL):
        for line in block.splitlines():
            command = re.split(r"\s+#", line, maxsplit=1)[0].strip()
            if command:
                found.add(command)
    return found


def test_each_readme_links_the_other():
    assert "(README.zh-CN.md)" in ENGLISH
    assert "(README.md)" in CHINESE


def test_the_chinese_readme_gives_the_english_commands():
    chinese = commands(CHINESE)
    assert chinese, "no commands in README.zh-CN.md"
    assert chinese <= commands(ENGLISH), chinese - commands(ENGLISH)
    for essential in ("make run", ".venv/bin/pip install .", ".venv/bin/wxwork run", ".venv/bin/wxwork db upgrade"):
        assert essential in chinese
