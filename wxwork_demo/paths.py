"""Where the app finds its files, in a clone and after `pip install .`.

- Bundled folders (templates/, migrations/): at the top of a clone; inside the package once installed
  (setup.py puts them there).
- The working folder (.env, instance/ with the default SQLite file): the clone when the code runs from one
  (`make run`, `flask --app wsgi`, an editable install), else the current directory, so an installed
  `wxwork` keeps its data where the operator runs it, never inside site-packages.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent


def running_from_clone() -> bool:
    return (PROJECT_ROOT / "pyproject.toml").is_file() and (PROJECT_ROOT / "wsgi.py").is_file()


def bundled(name: str) -> Path:
    """The folder `name` (templates, migrations) of this installation."""
    inside = PACKAGE_DIR / name
    return inside if inside.is_dir() else PROJECT_ROOT / name


def working_folder() -> Path:
    return PROJECT_ROOT if running_from_clone() else Path.cwd()
