"""Which files `pip install .` puts in the package (the metadata is in pyproject.toml).

templates/ and migrations/ stay at the top of the clone (the house layout) and are installed inside the
package, as wxwork_demo/templates and wxwork_demo/migrations: wxwork_demo/paths.py finds them in either place.
"""

from setuptools import find_packages, setup

setup(
    packages=[
        *find_packages(include=["wxwork_demo", "wxwork_demo.*"]),
        "wxwork_demo.templates",
        "wxwork_demo.migrations",
        "wxwork_demo.migrations.versions",
    ],
    package_dir={
        "wxwork_demo.templates": "templates",
        "wxwork_demo.migrations": "migrations",
        "wxwork_demo.migrations.versions": "migrations/versions",
    },
    package_data={
        "wxwork_demo": ["static/*", "static/console/*"],
        "wxwork_demo.simulator": ["templates/*.html"],
        "wxwork_demo.templates": ["*.html"],
        "wxwork_demo.migrations": ["alembic.ini", "script.py.mako"],
    },
    include_package_data=False,
)
