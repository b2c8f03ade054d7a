"""Every error the API can answer has plain words in Chinese and English.

The pages never show the API's English message: ``FG.errorText`` picks ``err_<code>_<reason>``,
``err_<code>`` or ``field_<name>`` (for a malformed request's fields). These tests find every
code (the error classes, the web layer's own codes, the HTTP fallbacks), every ``reason=``
passed to an error, and every request field, and check that each has words; then a few real
refusals, through the API, answer the reason whose words the pages show.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIRouter
from fastapi.testclient import TestClient
from pydantic import BaseModel

import facegate
import facegate.api.routes
import facegate.api.schemas
from facegate import errors
from facegate.api.i18n import STRINGS
from facegate.liveness.challenge import ChallengeErrorCode
from tests.api.conftest import Setup
from tests.api.signin import API, admin_token, bearer

SOURCE = Path(facegate.__file__).parent
STATIC = SOURCE / "api" / "static"
#: Any CJK unified ideograph: the Chinese words must be Chinese, not English copied over.
CJK = re.compile(r"[\u4e00-\u9fff]")
#: Statuses Starlette and FastAPI answer by themselves (the ``_http`` fallback names them).
FRAMEWORK_STATUSES = (
    HTTPStatus.BAD_REQUEST,
    HTTPStatus.UNAUTHORIZED,
    HTTPStatus.FORBIDDEN,
    HTTPStatus.NOT_FOUND,
    HTTPStatus.METHOD_NOT_ALLOWED,
    HTTPStatus.NOT_ACCEPTABLE,
    HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    HTTPStatus.UNPROCESSABLE_ENTITY,
    HTTPStatus.TOO_MANY_REQUESTS,
    HTTPStatus.SERVICE_UNAVAILABLE,
)


@dataclass(frozen=True)
class Reason:
    """One ``reason=`` given to an error: its code, the reason, and where it is raised."""

    code: str
    reason: str
    where: str


def _error_classes() -> Iterator[type[errors.FacegateError]]:
    pending: list[type[errors.FacegateError]] = [errors.FacegateError]
    while pending:
        kind = pending.pop()
        yield kind
        pending.extend(kind.__subclasses__())


def _http_code(status: HTTPStatus) -> str:
    """The code ``api.errors._http`` gives a framework status (the phrase, snake_case)."""
    return status.phrase.lower().replace(" ", "_")


def _modules() -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(SOURCE.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _constants(tree: ast.Module) -> dict[str, str]:
    """The module's top-level ``NAME = "text"`` constants."""
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            found.update({t.id: value.value for t in targets if isinstance(t, ast.Name)})
    return found


def _module_constants() -> dict[str, dict[str, str]]:
    """Dotted module name → its top-level text constants."""
    return {
        ".".join(("facegate", *path.relative_to(SOURCE).with_suffix("").parts)): _constants(tree)
        for path, tree in _modules()
    }


def _text(node: ast.expr, local: dict[str, str], imported: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return local.get(node.id) or imported.get(node.id)
    return None


def _imported(tree: ast.Module, constants: dict[str, dict[str, str]]) -> dict[str, str]:
    """Text constants this module imports by name (``from facegate.x import NAME``)."""
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in constants:
            for alias in node.names:
                value = constants[node.module].get(alias.name)
                if value is not None:
                    found[alias.asname or alias.name] = value
    return found


def _callee(node: ast.Call) -> str:
    if isinstance(node.func, ast.Name):
        return node.func.id
    return node.func.attr if isinstance(node.func, ast.Attribute) else ""


def _error_builders() -> dict[str, int]:
    """Functions and classes that build an error from a ``code`` and a ``message`` (``ApiError``,
    ``error_body``, a middleware's refusal helper) → the position of ``code`` in a call."""
    builders: dict[str, int] = {}
    for _, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                        names = [a.arg for a in item.args.args[1:]]
                        if {"code", "message"} <= set(names):
                            builders[node.name] = names.index("code")
            elif isinstance(node, ast.FunctionDef) and node.name != "__init__":
                names = [a.arg for a in node.args.args]
                if {"code", "message"} <= set(names):
                    builders[node.name] = names.index("code")
    return builders


def _scan() -> tuple[set[str], list[Reason], list[str]]:
    """(codes built in the web layer, every reason given to an error, reasons not readable)."""
    classes = {kind.__name__: kind.code for kind in _error_classes()}
    builders = _error_builders()
    constants = _module_constants()
    codes: set[str] = set()
    reasons: list[Reason] = []
    unreadable: list[str] = []
    for path, tree in _modules():
        module = ".".join(("facegate", *path.relative_to(SOURCE).with_suffix("").parts))
        local, imported = constants[module], _imported(tree, constants)
        # A reason computed at run time must be one of the module's named REASON_* constants.
        named = [value for name, value in local.items() if name.startswith("REASON_")]
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            callee = _callee(node)
            code: str | None = classes.get(callee)
            if callee in builders:
                given = [k.value for k in node.keywords if k.arg == "code"]
                if len(node.args) > builders[callee]:
                    given.append(node.args[builders[callee]])
                # A code passed on from a parameter is read where the builder is called.
                code = _text(given[0], local, imported) if given else None
                if code is not None:
                    codes.add(code)
            for keyword in node.keywords:
                if keyword.arg != "reason" or code is None:
                    continue
                where = f"{path.relative_to(SOURCE.parent)}:{node.lineno}"
                reason = _text(keyword.value, local, imported)
                if reason is not None:
                    reasons.append(Reason(code, reason, where))
                elif named:
                    reasons.extend(Reason(code, value, where) for value in named)
                else:
                    unreadable.append(where)
    return codes, reasons, unreadable


WEB_CODES, REASONS, UNREADABLE = _scan()
ALL_CODES = sorted(
    {kind.code for kind in _error_classes()}
    | {code.value for code in ChallengeErrorCode}  # set per instance by ChallengeError
    | WEB_CODES
    | {_http_code(status) for status in FRAMEWORK_STATUSES}
)


def _in_schemas() -> Iterator[type[BaseModel]]:
    for info in pkgutil.iter_modules(facegate.api.schemas.__path__):
        module = importlib.import_module(f"facegate.api.schemas.{info.name}")
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseModel)
                and name.endswith("In")
                and value.__module__ == module.__name__
            ):
                yield value


def _body_params(dependant: Dependant) -> Iterator[Any]:
    """The route's body fields (FastAPI's ``ModelField``), its dependencies' included."""
    yield from dependant.body_params
    for sub in dependant.dependencies:
        yield from _body_params(sub)


def _request_fields() -> set[str]:
    """Every field a request body carries: the In-schemas' and each route's form fields."""
    fields = {name for schema in _in_schemas() for name in schema.model_fields}
    routes = [
        route
        for info in pkgutil.iter_modules(facegate.api.routes.__path__)
        for route in getattr(
            importlib.import_module(f"facegate.api.routes.{info.name}"), "router", APIRouter()
        ).routes
        if isinstance(route, APIRoute)
    ]
    assert routes
    for route in routes:
        for param in _body_params(route.dependant):
            # A JSON body (``SomeIn`` or ``SomeIn | None``) names its model's fields.
            annotation = param.field_info.annotation
            models = [
                kind
                for kind in (annotation, *typing.get_args(annotation))
                if inspect.isclass(kind) and issubclass(kind, BaseModel)
            ]
            if models:
                fields.update(name for model in models for name in model.model_fields)
            else:
                fields.add(param.alias)
    return fields


def _assert_worded(key: str) -> None:
    assert key in STRINGS, f"no words for {key}"
    chinese, english = STRINGS[key]
    assert CJK.search(chinese), f"{key}: the Chinese words hold no Chinese: {chinese!r}"
    assert english.strip(), f"{key}: no English words"
    assert not CJK.search(english), f"{key}: the English words hold Chinese: {english!r}"


def test_the_scan_finds_the_known_codes_and_reasons() -> None:
    # The scan itself can fail silently (a renamed class, a moved call): pin what it must see.
    assert {"policy_refused", "multiple_faces", "invalid_request", "not_found"} <= set(ALL_CODES)
    assert {"request_too_large", "cross_origin_refused", "internal_error"} <= WEB_CODES
    assert "idempotency_key_reused" in WEB_CODES  # a middleware's own refusal helper
    found = {(r.code, r.reason) for r in REASONS}
    assert ("policy_refused", "gate_needs_non_face") in found
    assert ("invalid_record", "resident_number_format") in found
    assert ("invalid_request", "born_or_adult") in found
    assert ("unauthenticated", "sign_in_failed") in found


@pytest.mark.parametrize("code", ALL_CODES)
def test_every_error_code_has_words_in_both_languages(code: str) -> None:
    _assert_worded(f"err_{code}")


def test_every_reason_given_to_an_error_has_words() -> None:
    assert not UNREADABLE, (
        "give reason= a literal, a named constant or one of the module's REASON_* constants: "
        f"{UNREADABLE}"
    )
    missing = sorted(
        {
            f"err_{r.code}_{r.reason} ({r.where})"
            for r in REASONS
            if f"err_{r.code}_{r.reason}" not in STRINGS
        }
    )
    assert not missing, f"reasons without words: {missing}"
    for reason in REASONS:
        _assert_worded(f"err_{reason.code}_{reason.reason}")


def test_reasons_are_stable_snake_case_names() -> None:
    bad = sorted({r.reason for r in REASONS if not re.fullmatch(r"[a-z][a-z0-9_]*", r.reason)})
    assert not bad


def test_every_request_field_has_words() -> None:
    fields = _request_fields()
    assert {"resident_number", "username", "accepts_face", "secret"} <= fields
    missing = sorted(name for name in fields if f"field_{name}" not in STRINGS)
    assert not missing, f"request fields without field_ words: {missing}"
    for name in fields:
        _assert_worded(f"field_{name}")


def test_the_words_that_failed_people_read_well_in_chinese() -> None:
    # The examples: the rule is said, not an English developer message.
    zh = {key: pair[0] for key, pair in STRINGS.items()}
    assert "6 位数字" in zh["field_resident_number"]
    assert "6 位数字" in zh["err_invalid_record_resident_number_format"]
    assert "不用人脸" in zh["err_policy_refused_gate_needs_non_face"]
    assert "不止一张" in zh["err_multiple_faces"]
    assert "用户名或密码" in zh["err_unauthenticated_sign_in_failed"]
    assert "锁定" in zh["err_unauthenticated_locked"]


#: A page script showing an API error's own (English) message, e.g. ``error.message``.
SHOWS_MESSAGE = re.compile(r"(?<!detail)\.message\b")


@pytest.mark.parametrize("script", sorted(p.name for p in STATIC.glob("*.js")))
def test_no_page_script_shows_the_api_message(script: str) -> None:
    lines = (STATIC / script).read_text(encoding="utf-8").splitlines()
    shown = [
        f"{script}:{n}: {line.strip()}"
        for n, line in enumerate(lines, 1)
        if SHOWS_MESSAGE.search(line)
    ]
    assert not shown, "show FG.errorText(error), never the API's message: " + "; ".join(shown)


# Real refusals answer the reason whose words the pages show.


@pytest.mark.rule("R-10")
def test_a_face_only_gate_is_refused_with_its_reason(client: TestClient, setup: Setup) -> None:
    token = admin_token(client, setup.admin_user)
    body = {
        "name": "Face only",
        "accepts_face": True,
        "accepts_card": False,
        "accepts_pin": False,
        "accepts_otp": False,
    }
    response = client.put(f"{API}/sites/sunny-garden/gates/side", json=body, headers=bearer(token))
    assert response.status_code == HTTPStatus.CONFLICT
    error = response.json()["error"]
    assert (error["code"], error["reason"]) == ("policy_refused", "gate_needs_non_face")
    _assert_worded(f"err_{error['code']}_{error['reason']}")


def test_a_too_long_resident_number_is_refused_with_its_reason(
    client: TestClient, setup: Setup
) -> None:
    form = {"gate": setup.gate, "kind": "pin", "secret": "135792", "resident_number": "1234567"}
    response = client.post(f"{API}/decisions", data=form, headers=bearer(setup.device_key))
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    error = response.json()["error"]
    assert (error["code"], error["reason"]) == ("invalid_record", "resident_number_format")


def test_a_wrong_password_is_refused_with_its_reason(client: TestClient, setup: Setup) -> None:
    body = {"username": setup.admin_user, "password": "not the password at all"}
    response = client.post(f"{API}/auth/admin", json=body)
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    error = response.json()["error"]
    assert (error["code"], error.get("reason")) == ("unauthenticated", "sign_in_failed")


def test_a_malformed_field_is_named_so_the_page_can_word_it(client: TestClient) -> None:
    response = client.post(f"{API}/auth/admin", json={"username": "", "password": "x"})
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    names = {problem["where"].split(".")[-1] for problem in error["problems"]}
    assert names == {"username"}
    _assert_worded("field_username")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v1/no-such-thing", HTTPStatus.NOT_FOUND),
        ("DELETE", "/healthz", HTTPStatus.METHOD_NOT_ALLOWED),
    ],
)
def test_the_framework_fallbacks_answer_worded_codes(
    client: TestClient, method: str, path: str, status: HTTPStatus
) -> None:
    response = client.request(method, path)
    assert response.status_code == status
    _assert_worded(f"err_{response.json()['error']['code']}")
