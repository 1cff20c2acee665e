"""One contract at the edge: a view declares the models it reads and answers, and `endpoint` does the rest.

    @bp.post("/send-text")
    @endpoint(body=SendTextBody, reply=SendText, errors=UPSTREAM)
    def send_text(body: SendTextBody) -> SendText:
        return business.send_text(...)

- the JSON body (`body=`) and the query string (`query=`) are read into their models before the view runs,
  so nothing reaches a service, the database or the upstream unchecked; the first refusal becomes the one
  400 body of the error contract, `{"ok": false, "message": "<field> <reason>", "field": "<field>"}`, naming
  the field as the client wrote it (an alias, or `inner.limit` for a nested one);
- a reply model is answered as its JSON (camelCase on the wire; `answer`); a view may still return a `Response`;
- the declaration is kept on the view (`view.contract`), and `wxwork_demo/openapi.py` builds the OpenAPI
  document from it: what is validated is what is documented.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, TypeVar

from flask import Response, current_app, jsonify, request
from flask.json.provider import DefaultJSONProvider
from pydantic import BaseModel, ValidationError

from wxwork_demo.blueprints.body import json_body
from wxwork_demo.contract.base import Body, Part
from wxwork_demo.errors import BadInput
from wxwork_demo.upstream import Upload

# What an operation may answer besides 200 (401, and 403 for a POST, are added for operations that need
# credentials: see openapi.py).
READS = ("503",)
WRITES = ("400", "413", "415", "503")
UPSTREAM = (*WRITES, "404", "502", "504")
# A send: what UPSTREAM may answer, and 429 (paced sending: not sent, retry after the Retry-After header).
SENDS = (*UPSTREAM, "429")
# The multipart/form-data field of an endpoint that takes an uploaded file (`uploads=True`).
UPLOAD_FIELD = "file"
BodyT = TypeVar("BodyT", bound=Body)


@dataclass(frozen=True)
class Contract:
    """What one view reads and answers."""

    reply: type[BaseModel]
    body: type[Body] | None = None
    query: type[Body] | None = None
    errors: tuple[str, ...] = ()
    body_required: bool = False
    # False when the view reads the request itself (the webhook: its parser is shared with the message lane).
    parse: bool = True
    # True: the body may also be multipart/form-data, its fields read into `body` and its `file` given to the
    # view as `upload` (an `Upload`, or None for a JSON body).
    uploads: bool = False
    # True: the 200 answer is a file of any type (the view returns a Response); `reply` documents nothing.
    binary: bool = False


def endpoint(
    *,
    reply: type[BaseModel],
    body: type[Body] | None = None,
    query: type[Body] | None = None,
    errors: tuple[str, ...] = (),
    body_required: bool = False,
    parse: bool = True,
    uploads: bool = False,
    binary: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Read the request into `body`/`query` models for the view, answer its reply model as JSON."""
    contract = Contract(reply, body, query, errors, body_required, parse, uploads, binary)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def run(**path_args: Any) -> Any:
            if uploads:
                path_args["upload"] = None
            if uploads and request.mimetype == "multipart/form-data":
                path_args["body"] = read(body, request.form.to_dict())  # type: ignore[arg-type]
                path_args["upload"] = uploaded_file()
            elif body is not None and parse:
                path_args["body"] = read(body, json_body(allow_empty=not body_required))
            if query is not None and parse:
                path_args["query"] = read(query, request.args.to_dict())
            result = view(**path_args)
            return answer(result) if isinstance(result, Part) else result

        run.contract = contract  # type: ignore[attr-defined]
        return run

    return decorate


def answer(reply: Part) -> Response:
    """`reply` as JSON, the bytes `jsonify(reply.to_json())` makes (compact, non-ASCII as is, a final newline),
    written by pydantic in one pass: the dict of `to_json` then `json.dumps` took 3.5x as long (0.9 ms for a
    page of 50 messages). Indented by `jsonify` where Flask indents (debug mode, or `app.json.compact = False`)."""
    provider = current_app.json
    if (
        not isinstance(provider, DefaultJSONProvider)
        or provider.compact is False
        or (provider.compact is None and current_app.debug)
    ):
        return jsonify(reply.to_json())
    return current_app.response_class(reply.model_dump_json(by_alias=True) + "\n", mimetype=provider.mimetype)


def uploaded_file() -> Upload | None:
    """The multipart `file` of the request as an `Upload` (its base name, bytes and declared type), or None."""
    stored = request.files.get(UPLOAD_FIELD)
    if stored is None:
        return None
    name = PurePosixPath((stored.filename or "").replace("\\", "/")).name
    return Upload(filename=name, content=stored.read(), content_type=stored.mimetype or "application/octet-stream")


def read(model: type[BodyT], data: dict[str, Any]) -> BodyT:
    """`data` as a `model`, or the 400 naming the first field at fault."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise refusal(model, data, exc) from None


def refusal(model: type[Body], data: dict[str, Any], exc: ValidationError) -> BadInput:
    error = exc.errors(include_url=False)[0]
    context = error.get("ctx") or {}
    field = context.get("field") or model.wire_name(data, tuple(error["loc"]))
    if error["type"] == "bad_input":
        return BadInput(field, f"{field} {error['msg']}")
    if error["type"] == "missing":
        return BadInput(field, f"{field} is required")
    return BadInput(field, f"{field}: {error['msg']}")
