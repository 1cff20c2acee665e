"""The OpenAPI 3.1 document of the local API, served at `GET /api/openapi.json`, built from the app itself.

Every route under /api and /callback declares its contract (`blueprints/edge.py`): the request and reply
models, and the errors it can answer. The document is made from those declarations and the models' JSON
schemas (`wxwork_demo/contract/`), so the limits it states are the ones the edge enforces.
tests/test_openapi.py checks it, tests/test_api_fuzz.py runs schemathesis against the app with it.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from flask import Flask
from pydantic import BaseModel
from pydantic.alias_generators import to_camel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, models_json_schema

from wxwork_demo.access import OPEN_ENDPOINTS
from wxwork_demo.blueprints.edge import Contract
from wxwork_demo.contract.common import Error

OPENAPI_VERSION = "3.1.0"
API_VERSION = "0.1.0"
DOCUMENTED_PREFIXES = ("/api/", "/callback/")
IGNORED_METHODS = {"HEAD", "OPTIONS"}
EXTENSION_KEY = "wxwork_openapi"
PATH_ARGUMENT = re.compile(r"<(?:([^:<>]+):)?([^<>]+)>")
ERRORS: dict[str, str] = {
    "400": "Bad input: `field` names the field and `message` says why.",
    "401": "API_TOKEN or CONSOLE_PASSWORD is set and the request carries neither a valid token nor a session.",
    "403": "A console session without the right X-CSRF-Token header (callbacks: wrong token or sender).",
    "404": "Unknown instance uuid (or message id).",
    "409": "Not possible in the present state (e.g. no secondary verification is pending; forwarding is off).",
    "413": "The body is larger than MAX_BODY_BYTES (received media: the file is larger than MEDIA_MAX_BYTES).",
    "415": "A body that is not application/json (nor multipart/form-data where a file may be uploaded).",
    "429": "Paced sending: not sent now (the account's turn is too far away, or the same content was sent too "
    "often); ask again after the Retry-After header's seconds.",
    "502": "The upstream answered badly: an HTTP error, not JSON, or an errcode refusal.",
    "503": "The database is unreachable (or not migrated): try again shortly.",
    "504": "The upstream did not answer in time.",
}
DESCRIPTION = (
    "The console's JSON API and the upstream's webhook. Bodies are JSON (415 otherwise) of at most "
    "MAX_BODY_BYTES (413). Errors are `{ok: false, message}`. When API_TOKEN or CONSOLE_PASSWORD is "
    "set, send `Authorization: Bearer <API_TOKEN>` (or use the console's session cookie with an "
    "X-CSRF-Token header); with neither set (loopback only) everything is open."
)


class _Schemas(GenerateJsonSchema):
    """Pydantic's JSON schemas without a title on every property (the names say it)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def build_spec(app: Flask) -> dict[str, Any]:
    """A fresh copy of the app's document (callers may change theirs)."""
    if EXTENSION_KEY not in app.extensions:
        app.extensions[EXTENSION_KEY] = _document(app)
    return copy.deepcopy(app.extensions[EXTENSION_KEY])


def _operations(app: Flask) -> list[tuple[str, str, str, Contract]]:
    """(path, method, endpoint, contract) of every documented route."""
    found = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        if not rule.rule.startswith(DOCUMENTED_PREFIXES):
            continue
        contract = getattr(app.view_functions[rule.endpoint], "contract", None)
        if not isinstance(contract, Contract):
            raise TypeError(f"{rule.endpoint} ({rule.rule}) has no contract: decorate it with blueprints.edge.endpoint")
        for method in sorted((rule.methods or set()) - IGNORED_METHODS):
            found.append((rule.rule, method.lower(), rule.endpoint, contract))
    return found


def _document(app: Flask) -> dict[str, Any]:
    operations = _operations(app)
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [(Error, "serialization")]
    for *_, contract in operations:
        models.append((contract.reply, "serialization"))
        if contract.body is not None:
            models.append((contract.body, "validation"))
    refs, components = models_json_schema(
        list(dict.fromkeys(models)), ref_template="#/components/schemas/{model}", schema_generator=_Schemas
    )
    paths: dict[str, dict[str, Any]] = {}
    for rule, method, endpoint_name, contract in operations:
        path = PATH_ARGUMENT.sub(r"{\2}", rule)
        secured = endpoint_name not in OPEN_ENDPOINTS
        errors = set(contract.errors) | ({"401", *({"403"} if method == "post" else set())} if secured else set())
        view = app.view_functions[endpoint_name]
        operation: dict[str, Any] = {
            "operationId": to_camel(view.__name__),
            "summary": (view.__doc__ or view.__name__).strip().splitlines()[0],
            "tags": [endpoint_name.split(".", 1)[0]],
            "responses": {
                "200": {
                    "description": (contract.reply.__doc__ or "Success").strip().splitlines()[0],
                    "content": (
                        {"*/*": {"schema": {"type": "string", "format": "binary"}}}
                        if contract.binary
                        else {"application/json": {"schema": refs[(contract.reply, "serialization")]}}
                    ),
                },
                **{code: {"$ref": f"#/components/responses/{code}"} for code in sorted(errors)},
            },
        }
        if not secured:
            operation["security"] = []
        parameters = _path_parameters(rule) + _query_parameters(contract)
        if parameters:
            operation["parameters"] = parameters
        if contract.body is not None:
            content = {"application/json": {"schema": refs[(contract.body, "validation")]}}
            if contract.uploads:
                content["multipart/form-data"] = {"schema": _upload_schema(components, contract)}
            operation["requestBody"] = {"required": contract.body_required, "content": content}
        paths.setdefault(path, {})[method] = operation
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "wxwork_demo local API", "version": API_VERSION, "description": DESCRIPTION},
        "tags": [{"name": name} for name in sorted({op["tags"][0] for item in paths.values() for op in item.values()})],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "description": "API_TOKEN"}},
            "schemas": components.get("$defs", {}),
            "responses": {
                code: {"description": text, "content": {"application/json": {"schema": refs[(Error, "serialization")]}}}
                for code, text in ERRORS.items()
            },
        },
    }


def _upload_schema(components: dict[str, Any], contract: Contract) -> dict[str, Any]:
    """The multipart form of an upload endpoint: the JSON body's fields (but `url`) as form fields, and `file`."""
    if contract.body is None:
        raise TypeError("an upload endpoint reads a body")
    body = components.get("$defs", {}).get(contract.body.__name__, {})
    form = {
        name: {"type": "string", "description": prop.get("description", "")}
        for name, prop in body.get("properties", {}).items()
        if name != "url"
    }
    form["file"] = {"type": "string", "format": "binary", "description": "The file to send (instead of url)."}
    return {"type": "object", "properties": form, "required": ["file"]}


def _path_parameters(rule: str) -> list[dict[str, Any]]:
    parameters = []
    for converter, name in PATH_ARGUMENT.findall(rule):
        schema = {"type": "integer", "minimum": 0} if converter == "int" else {"type": "string"}
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    return parameters


def _query_parameters(contract: Contract) -> list[dict[str, Any]]:
    if contract.query is None:
        return []
    schema = contract.query.model_json_schema(mode="validation", schema_generator=_Schemas)
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        parameter = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if "description" in prop:
            parameter["description"] = prop["description"]
        parameters.append(parameter)
    return parameters
