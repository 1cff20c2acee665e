"""schemathesis against the app, in-process (WSGI), with the upstream simulator behind it.

Every operation of /api/openapi.json gets generated requests, valid ones (positive) and invalid ones
(negative), on a migrated SQLite database that holds one logged-in session of the simulator. Checked for
each answer:

- no 500, 503 or 504 (the database and the simulator are up); a 502 only when the upstream answered with a
  refusal (errcode ≠ 0: e.g. SendTextMsg on an instance that is not logged in), never because the app sent
  it something it could not take;
- every error is JSON `{"ok": false, "message": str}`;
- the status code, content type and body conform to the document; invalid input is rejected.

Bounded: FUZZ_MAX_EXAMPLES (default 40) valid and half as many invalid requests per operation, no deadline,
derandomized (the same requests every run). The number of requests is printed (run with -s to see it).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from urllib.parse import quote

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import CALLBACK_TOKEN, make_test_app
from tests.e2e.live import free_port
from tests.support import add_session, close_app
from wxwork_demo.simulator import SimulatorServer

API_TOKEN = "fuzz-api-token-0123456789"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "40"))
CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance, negative_data_rejection]
# Operations after which the logged-in session is made the active one again (they create sessions).
CREATE_SESSIONS = {"POST /api/init", "POST /api/start-login", "POST /callback/wxwork", "POST /api/sessions/activate"}


@pytest.fixture
def fuzz_app(sqlite_template, tmp_path, simulator):
    path = tmp_path / "fuzz.sqlite3"
    shutil.copy(sqlite_template, path)
    # Nothing listens there: the simulator's callbacks (for instances the fuzzer creates) fail at once.
    nowhere = f"http://127.0.0.1:{free_port()}"
    app = make_test_app(
        f"sqlite:///{path}",
        BASE_URL=simulator.url,
        CALLBACK_URL=f"{nowhere}/callback/wxwork",
        API_TOKEN=API_TOKEN,
        MONITOR_AUTOSTART=False,
        MAX_EVENTS=1000,
    )
    app.config["FUZZ_NOWHERE"] = nowhere
    yield app
    close_app(app)


def _logged_in_session(app, simulator: SimulatorServer) -> str:
    """A logged-in instance on the simulator, and its row in the database (as a finished login leaves it)."""
    reply = requests.post(f"{simulator.url}/_sim/bulk-login", json={"count": 1}, timeout=10)
    reply.raise_for_status()
    instance = reply.json()["instances"][0]
    add_session(app, instance["uuid"], vid=str(instance["vid"]), is_login=True, state="online", last_event="login")
    return instance["uuid"]


def _keep_callbacks_local(body: dict, nowhere: str) -> None:
    """A URL the app would accept is pointed at this machine: the simulator posts callbacks to it later, and the
    image and file sends fetch it (never a generated host beyond this machine)."""
    for name in ("url", "callbackUrl"):
        value = body.get(name)
        if isinstance(value, str) and "://" in value:
            body[name] = f"{nowhere}/fuzz"


# Fields the views read from the first of several places (validation.first_present and blueprints/business.py):
# (where the value is taken from first, the alias that is then ignored, what counts as given there).
ALIASES = [
    (("send_userid",), ("sendUserid",), "not-null"),
    (("kf_id",), ("kfId",), "not-null"),
    (("url",), ("callbackUrl",), "not-null"),
    (("inner", "limit"), ("innerLimit",), "key"),
    (("inner", "strSeq"), ("innerStrSeq",), "key"),
    (("external", "limit"), ("externalLimit",), "key"),
]
EXTERNAL_SEQ = [("external", "seq"), ("external", "strSeq"), ("externalStrSeq",), ("externalSeq",)]
MISSING = object()


def _lookup(body: dict, path: tuple[str, ...]):
    for name in path[:-1]:
        body = body.get(name)
        if not isinstance(body, dict):
            return MISSING
    return body.get(path[-1], MISSING)


def _drop(body: dict, path: tuple[str, ...]) -> None:
    for name in path[:-1]:
        body = body[name]
    body.pop(path[-1], None)


def _drop_shadowed_aliases(body: dict) -> None:
    """Remove the aliases the app ignores because the main field is given: an invalid value there is not
    invalid input (schemathesis then judges the request by what is left)."""
    for main, alias, present_when in ALIASES:
        value = _lookup(body, main)
        if (
            value is not MISSING
            and (present_when == "key" or value is not None)
            and _lookup(body, alias) is not MISSING
        ):
            _drop(body, alias)
    chosen = False
    for path in EXTERNAL_SEQ:
        value = _lookup(body, path)
        if chosen and value is not MISSING:
            _drop(body, path)
        elif value not in (None, "") and value is not MISSING:
            chosen = True


def _problems_with(label: str, status: int, body) -> list[str]:
    """What is wrong with an answer beyond what the schema checks say."""
    problems = []
    is_error_body = isinstance(body, dict) and body.get("ok") is False and isinstance(body.get("message"), str)
    if status >= 400 and not is_error_body:
        problems.append(f"{label}: error {status} is not JSON {{ok: false, message}}: {body!r:.300}")
    if status >= 500:
        upstream = body.get("upstream") if isinstance(body, dict) else None
        refused = status == 502 and isinstance(upstream, dict) and upstream.get("kind") == "refused"
        if not refused:
            problems.append(f"{label}: server error {status}: {body!r:.500}")
    return problems


class Fuzzer:
    """Runs the generated requests of one operation and keeps count of what came back."""

    def __init__(self, app, uuid: str) -> None:
        self.client = app.test_client()
        self.uuid = uuid
        self.nowhere = app.config["FUZZ_NOWHERE"]
        self.statuses: Counter = Counter()
        self.by_operation: dict[str, Counter] = {}

    def run(self, operation, mode: GenerationMode, examples: int) -> None:
        label = operation.label
        query = {"token": CALLBACK_TOKEN} if operation.path == "/callback/wxwork" else None

        @given(case=operation.as_strategy(generation_mode=mode, headers=dict(AUTH), query=query))
        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
        )
        def one_request(case):
            if isinstance(case.body, dict):
                _keep_callbacks_local(case.body, self.nowhere)
                _drop_shadowed_aliases(case.body)
                assert case.meta is not None  # reading it re-validates the edited body
            response = case.call()
            self.statuses[response.status_code] += 1
            self.by_operation.setdefault(label, Counter())[response.status_code] += 1
            if label in CREATE_SESSIONS:
                self.client.post("/api/sessions/activate", json={"uuid": self.uuid}, headers=AUTH)
            try:
                body = response.json()
            except ValueError:
                body = response.text
            problems = _problems_with(label, response.status_code, body)
            sent = f"sent: query={case.query!r:.200} body={case.body!r:.800}"
            assert not problems, "\n".join([*problems, sent])
            case.validate_response(response, checks=CHECKS)

        one_request()


def test_schemathesis_finds_nothing(fuzz_app, simulator):
    fuzzer = Fuzzer(fuzz_app, _logged_in_session(fuzz_app, simulator))
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", fuzz_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 17
    failures: list[str] = []
    started = time.monotonic()
    for operation in operations:
        for mode, examples in ((GenerationMode.POSITIVE, MAX_EXAMPLES), (GenerationMode.NEGATIVE, MAX_EXAMPLES // 2)):
            try:
                fuzzer.run(operation, mode, examples)
            except Unsatisfiable:  # nothing to get wrong: no parameters and no body
                assert mode is GenerationMode.NEGATIVE, operation.label
            except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failures, report them all
                failures.append(f"--- {operation.label} ({mode.value}) ---\n{exc}"[:4000])
    elapsed = time.monotonic() - started
    statuses = fuzzer.statuses
    total = sum(statuses.values())
    print(f"\nschemathesis: {total} requests to {len(operations)} operations in {elapsed:.1f} s: {dict(statuses)}")
    for label, counts in fuzzer.by_operation.items():
        print(f"  {label}: {dict(sorted(counts.items()))}")
    assert not failures, f"{len(failures)} operation(s) failed:\n" + "\n".join(failures)
    assert total >= len(operations) * MAX_EXAMPLES // 2, statuses  # it did run
    assert statuses[200] > 0, statuses  # valid requests got through to the simulator too


# String edge cases sent into every body field (nested ones too) and every query parameter, one at a time,
# on top of a body that is otherwise valid: what hypothesis rarely draws, and what broke the app before.
EDGE_VALUES = [
    "\ud800",  # a lone surrogate: cannot be encoded as UTF-8
    "a\udfffb",
    "\x00",  # NUL
    "a\x00b",
    "\r\nX-Injected: 1",
    "²",  # a digit to str.isdigit(), not to int()
    "١٢٣",  # Arabic-Indic digits: int() reads them
    "9" * 5000,  # longer than int() reads
    "-1",
    "1e308",
    " ",
    "",
    10**30,
    -(10**30),
    2**64,
    2**63,
    -1,
    1.5,
    1e308,
    True,
    None,
    [],
    {},
]
BASE_BODIES = {
    "/api/send-text": {"send_userid": 1, "isRoom": False, "content": "hello"},
    # Nothing listens there: the link is refused at once, and nothing is fetched from beyond this machine.
    "/api/send-image": {"send_userid": 1, "isRoom": False, "url": "http://127.0.0.1:9/a.png"},
    "/api/send-file": {"send_userid": 1, "isRoom": False, "url": "http://127.0.0.1:9/a.pdf"},
    "/api/revoke": {"msgId": 1},
    "/api/friend-requests/accept": {"vid": 1},
    "/api/check-code": {"code": "123456"},
    "/callback/wxwork": {"type": 102000, "json": {"content": "hi"}},
}


def _resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _body_fields(spec: dict, schema: dict) -> list[tuple[str, ...]]:
    """Every property path of a body schema, one level of nesting included (`inner.limit`)."""
    paths = []
    for name, prop in _resolve(spec, schema).get("properties", {}).items():
        paths.append((name,))
        nested = [_resolve(spec, option) for option in prop.get("anyOf", [prop])]
        for option in nested:
            paths.extend((name, inner) for inner in option.get("properties", {}))
    return paths


def _with_value(body: dict, path: tuple[str, ...], value) -> dict:
    body = json.loads(json.dumps(body))
    target = body
    for name in path[:-1]:
        if not isinstance(target.get(name), dict):
            target[name] = {}
        target = target[name]
    target[path[-1]] = value
    return body


def _query_string(query: dict[str, str]) -> str:
    """The query as bytes on the wire: a lone surrogate goes as its (invalid) UTF-8 bytes."""
    return "&".join(f"{quote(name)}={quote(value.encode('utf-8', 'surrogatepass'))}" for name, value in query.items())


def test_string_edge_cases_in_every_field_never_give_a_server_error(fuzz_app, simulator):
    """Each edge value in each body field and query parameter: a 2xx or a JSON 4xx, never a 5xx."""
    uuid = _logged_in_session(fuzz_app, simulator)
    client = fuzz_app.test_client()
    spec = client.get("/api/openapi.json").get_json()
    schema = schemathesis.openapi.from_dict(spec)
    statuses: Counter = Counter()
    problems: list[str] = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            base_query = {"token": CALLBACK_TOKEN} if path == "/callback/wxwork" else {}
            base_body = {"uuid": uuid, **BASE_BODIES.get(path, {})} if "requestBody" in operation else None
            sent: list[tuple[dict, dict | None]] = []
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    sent += [({**base_query, parameter["name"]: value}, base_body) for value in EDGE_VALUES]
            if base_body is not None:
                for field in _body_fields(spec, operation["requestBody"]["content"]["application/json"]["schema"]):
                    sent += [(base_query, _with_value(base_body, field, value)) for value in EDGE_VALUES]
            api_operation = schema[path][method.upper()]
            for query, body in sent:
                query = {name: value if isinstance(value, str) else json.dumps(value) for name, value in query.items()}
                response = client.open(
                    path,
                    method=method.upper(),
                    query_string=_query_string(query),
                    headers=AUTH,
                    data=None if body is None else json.dumps(body),
                    content_type="application/json",
                )
                statuses[response.status_code] += 1
                client.post("/api/sessions/activate", json={"uuid": uuid}, headers=AUTH)
                label = f"{method.upper()} {path} query={query!r:.120} body={body!r:.200}"
                problems += _problems_with(label, response.status_code, response.get_json(silent=True))
                try:
                    api_operation.validate_response(response)
                except Exception as exc:  # a status, content type or body the document does not allow
                    problems.append(f"{label}: {str(exc)[:400]}")
    total = sum(statuses.values())
    print(f"\nedge cases: {total} requests: {dict(sorted(statuses.items()))}")
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems[:40])
    assert total > 1000
