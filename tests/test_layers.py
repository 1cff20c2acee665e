"""The layers the code promises (README "How the code is laid out"), checked on the source itself.

- Settings come from config.py alone: no other module of the app reads an environment variable.
- Views and commands call services: blueprints/ and cli.py use neither the ORM, nor the models, nor the
  upstream client.
- Data flows one way: no service imports a view, a command, or access.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "wxwork_demo"


def _modules(*parts: str) -> list[Path]:
    root = PACKAGE.joinpath(*parts)
    return [root] if root.suffix == ".py" else sorted(root.rglob("*.py"))


def _imports(path: Path) -> set[str]:
    """Every module and `module.name` imported by `path`."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _environment_reads(path: Path) -> list[int]:
    """Lines reading a variable: os.environ.get(...), os.environ[...], os.getenv(...), load_dotenv."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text())):
        call = isinstance(node, ast.Call) and ast.unparse(node.func) in ("os.environ.get", "os.getenv")
        item = isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ"
        bare = isinstance(node, ast.Name) and node.id in ("getenv", "load_dotenv")
        if call or item or bare:
            lines.append(node.lineno)
    return lines


def test_only_config_reads_the_environment():
    readers = {
        str(path.relative_to(PACKAGE)): lines
        for path in _modules()
        if path.name != "config.py" and (lines := _environment_reads(path))
    }
    assert readers == {}


def test_data_flows_one_way():
    """View or command → service → models and the upstream client; never the other way round (the
    services → access.py arrow of issue 12 was already gone: same_secret lives in services/secrets.py)."""
    forbidden = (
        "sqlalchemy.select",
        "sqlalchemy.orm",
        "wxwork_demo.models",
        "wxwork_demo.db.db_session",
        "wxwork_demo.upstream.get_client",
        "wxwork_demo.services.upstream_calls.client",
        "requests",
    )
    found = {}
    for path in [*_modules("blueprints"), *_modules("cli.py")]:
        used = sorted(name for name in _imports(path) if name.startswith(forbidden))
        source = path.read_text()
        if ".http." in source or "db_session()" in source:
            used.append("raw client or ORM session use")
        if used:
            found[str(path.relative_to(PACKAGE))] = used
    upward = ("wxwork_demo.access", "wxwork_demo.blueprints", "wxwork_demo.cli", "flask.request")
    for path in _modules("services"):
        used = sorted(name for name in _imports(path) if name.startswith(upward))
        if used:
            found[str(path.relative_to(PACKAGE))] = used
    assert found == {}
