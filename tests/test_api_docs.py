"""Swagger UI at /docs: the local API's document, every file served by the app itself (no CDN), and behind the
same access control as the API. The page in a real browser is in tests/test_browser.py."""

from __future__ import annotations

import re

from tests.conftest import make_test_app
from tests.support import close_app

PASSWORD = "correct horse battery"
TOKEN = "api-token-0123456789abcdef"


def test_the_page_loads_swagger_ui_and_the_document_from_the_app_only(client):
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert 'data-spec="/api/openapi.json"' in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(source.startswith("/") for source in sources), sources  # nothing from elsewhere
    for source in sources:
        response = client.get(source)
        assert response.status_code == 200, source
    bundle = client.get(next(s for s in sources if "swagger-ui-bundle.js" in s))
    assert bundle.mimetype in ("text/javascript", "application/javascript") and len(bundle.data) > 500_000
    assert b"SwaggerUIBundle" in bundle.data


def test_only_the_files_the_page_needs_are_served(client):
    assert client.get("/docs/assets/swagger-ui.css").status_code == 200
    for name in ("index.html", "swagger-editor-bundle.js", "..%2F__init__.py", "LICENSE"):
        assert client.get(f"/docs/assets/{name}").status_code == 404, name


def test_the_docs_are_behind_the_api_access_control(database_url):
    app = make_test_app(database_url, CONSOLE_PASSWORD=PASSWORD, API_TOKEN=TOKEN)
    client = app.test_client()
    for path in ("/docs", "/docs/assets/swagger-ui-bundle.js"):
        anonymous = client.get(path)
        assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"], path
        assert client.get(path, headers={"Authorization": "Bearer wrong-token-0123456789"}).status_code == 401
        assert client.get(path, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    form = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    assert client.post("/login", data={"password": PASSWORD, "csrf": csrf}).status_code == 302
    page = client.get("/docs")
    assert page.status_code == 200
    # The page carries the session's CSRF token: Swagger UI's requests send it (static/api-docs.js).
    assert re.search(r'<meta name="csrf-token" content="[^"]+">', page.get_data(as_text=True))
    close_app(app)
