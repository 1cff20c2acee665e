"""The OpenAPI document: valid OpenAPI 3, served openly, and describing exactly the app's routes."""

from __future__ import annotations

import re
import shutil

import pytest
from openapi_spec_validator import validate

from tests.conftest import make_test_app
from wxwork_demo.openapi import build_spec

API_TOKEN = "openapi-test-token-0123456789"
DOCUMENTED_PREFIXES = ("/api/", "/callback/")
IGNORED_METHODS = {"HEAD", "OPTIONS"}


@pytest.fixture
def app(sqlite_template, tmp_path):
    path = tmp_path / "openapi.sqlite3"
    shutil.copy(sqlite_template, path)
    app = make_test_app(f"sqlite:///{path}", API_TOKEN=API_TOKEN)
    yield app
    app.extensions["wxwork_db"].engine.dispose()


def _openapi_path(rule: str) -> str:
    """Flask's `/a/<int:x>` as OpenAPI's `/a/{x}`."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def _app_operations(app) -> set[tuple[str, str]]:
    return {
        (_openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(DOCUMENTED_PREFIXES)
        for method in (rule.methods or set()) - IGNORED_METHODS
    }


def _spec_operations(spec: dict) -> set[tuple[str, str]]:
    return {(path, method) for path, item in spec["paths"].items() for method in item if method != "parameters"}


def test_the_document_is_valid_openapi_3(app):
    spec = build_spec(app)
    validate(spec)
    assert spec["openapi"].startswith("3.")


def test_every_route_is_described_and_nothing_else(app):
    in_app, in_spec = _app_operations(app), _spec_operations(build_spec(app))
    assert in_app - in_spec == set(), "routes without a contract in the document"
    assert in_spec - in_app == set(), "the document describes routes the app does not have"


def test_served_without_credentials(app):
    client = app.test_client()
    assert client.get("/api/state").status_code == 401  # the API itself is closed ...
    response = client.get("/api/openapi.json")  # ... its description is not
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == build_spec(app)


def test_every_operation_documents_its_errors(app):
    SPEC = build_spec(app)
    for path, method in _spec_operations(SPEC):
        operation = SPEC["paths"][path][method]
        responses = operation["responses"]
        assert "200" in responses, (path, method)
        for code, response in responses.items():
            if code != "200":
                assert response == {"$ref": f"#/components/responses/{code}"}, (path, method, code)
        secured = operation.get("security", SPEC["security"]) != []
        assert ("401" in responses) == secured, (path, method)
        if method == "post":
            assert {"400", "413", "415", "503"} <= set(responses), (path, method)
            content = operation["requestBody"]["content"].keys()
            uploads = path in ("/api/send-image", "/api/send-file")
            assert content == ({"application/json", "multipart/form-data"} if uploads else {"application/json"}), path
    error = SPEC["components"]["schemas"]["Error"]
    assert error["required"] == ["ok", "message", "code"] and error["properties"]["ok"] == {"const": False}
    assert SPEC["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "API_TOKEN",
    }
