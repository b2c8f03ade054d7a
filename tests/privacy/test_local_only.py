"""Face data stays on the community's own system: nothing is sent over the network (R-22).

Two checks: the whole flow (open the store, enroll from a real photo, verify, identify,
export, delete) runs with every socket connection and name lookup refused, and tries
none; and no module of facegate imports a network client at all.
"""

from __future__ import annotations

import ast
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from facegate.core.config import Settings
from facegate.fixtures import encode_png
from facegate.gate.runtime import build_runtime
from facegate.matching import Outcome
from facegate.matching.decide import Decision
from facegate.models.registry import ModelRegistry
from facegate.recognition import enroll_images, identify_image, verify_image
from facegate.store import Store
from tests.store.helpers import OPERATOR, consented_subject, ready_site

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "facegate"
MAX_PIXELS = 40_000_000

#: Network clients and transports facegate must not import (prefix match on the module).
NETWORK_MODULES = (
    "socket",
    "ssl",
    "http.client",
    "http.cookiejar",
    "urllib.request",
    "urllib3",
    "requests",
    "httpx",
    "aiohttp",
    "ftplib",
    "smtplib",
    "telnetlib",
    "xmlrpc",
    "websocket",
    "websockets",
    "grpc",
    "paramiko",
    "boto3",
    "botocore",
    "pooch",
)
#: Calls that open a connection or look a host up, whatever module they come from.
NETWORK_CALLS = frozenset(
    {"urlopen", "urlretrieve", "create_connection", "getaddrinfo", "gethostbyname", "sendto"}
)
#: Modules allowed to use the network, with the reason. Face data never leaves: the service
#: only listens, and the load benchmark talks to that service on the loopback interface.
ALLOWED_MODULES: dict[str, str] = {
    "bench/load.py": "drives facegate's own service on 127.0.0.1 (facegate bench load)",
    "bench/load_server.py": "waits for facegate's own service on 127.0.0.1 to answer /healthz",
}


class NetworkAttemptError(OSError):
    """Raised in place of any connection while the network is blocked."""


@pytest.fixture
def attempts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Block every outgoing connection and name lookup; yield the list of attempts."""
    tried: list[str] = []

    def refuse(name: str) -> Callable[..., Any]:
        def blocked(*args: Any, **kwargs: Any) -> Any:
            tried.append(f"{name}{args[1:] if name.startswith('socket.') else args}")
            raise NetworkAttemptError(f"network access blocked in this test: {name}")

        return blocked

    for method in ("connect", "connect_ex", "sendto"):
        monkeypatch.setattr(socket.socket, method, refuse(f"socket.{method}"))
    for function in ("create_connection", "getaddrinfo", "gethostbyname"):
        monkeypatch.setattr(socket, function, refuse(function))
    return tried


def test_the_block_catches_a_connection(attempts: list[str]) -> None:
    # Guards the flow test below against a block that lets connections through.
    with pytest.raises(NetworkAttemptError):
        socket.create_connection(("127.0.0.1", 9))
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock,
        pytest.raises(NetworkAttemptError),
    ):
        sock.connect(("127.0.0.1", 9))
    with pytest.raises(NetworkAttemptError):
        socket.getaddrinfo("example.com", 443)
    assert len(attempts) == 3


@pytest.mark.rule("R-22")
def test_the_whole_flow_runs_without_the_network(
    attempts: list[str],
    settings: Settings,
    registry: ModelRegistry,
    face_rgb: Any,
) -> None:
    face = encode_png(face_rgb)
    with Store.open(settings) as store:
        site = ready_site(store)
        subject = consented_subject(store)
        # Models load on first use, here: loading them must not fetch anything either.
        runtime = build_runtime(settings, store, base=registry)
        decider = runtime.decider(store, MAX_PIXELS)
        with runtime.pipelines.borrow() as pipeline:
            ids = enroll_images(store, pipeline, subject.id, [face], OPERATOR, MAX_PIXELS)
        verified = verify_image(decider, subject.id, face, "gate:1")
        identified = identify_image(decider, site.code, face, "gate:1")
        export = store.exports.subject_export(subject.id, "resident-request")
        receipt = store.delete_subject(subject.id, "request", OPERATOR)
        assert store.verify_audit().ok
    assert len(ids) == 1
    assert verified.decision is Decision.MATCH
    assert (identified.outcome, identified.subject_id) == (Outcome.IDENTIFIED, subject.id)
    assert export["face_templates"]["count"] == 1
    assert receipt.templates_deleted == 1
    assert attempts == []


def network_findings(source: str, module: str) -> list[str]:
    """Network imports and calls in ``source`` (the text of ``module``)."""
    if module in ALLOWED_MODULES:
        return []
    findings = []
    for node in ast.walk(ast.parse(source)):
        imported: list[str] = []
        if isinstance(node, ast.Import):
            imported = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            imported = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            imported = [node.value]  # importlib.import_module("requests") and the like
        for name in imported:
            if any(name == m or name.startswith(f"{m}.") for m in NETWORK_MODULES):
                findings.append(f"{module}: {name}")
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in NETWORK_CALLS:
                findings.append(f"{module}: {called}()")
    return sorted(set(findings))


@pytest.mark.parametrize(
    "snippet",
    [
        "import requests",
        "import urllib.request",
        "from urllib.request import urlopen",
        "from urllib import request\nrequest.urlopen(url)",
        "import http.client",
        "from socket import create_connection",
        "conn = sock.create_connection(('cloud', 443))",
        "mod = importlib.import_module('httpx')",
    ],
)
def test_the_source_scan_catches_a_network_client(snippet: str) -> None:
    assert network_findings(snippet, "store/upload.py") != []


def test_the_source_scan_ignores_local_connections() -> None:
    snippet = "engine.connect()\nsqlite3.connect(path)\nfrom urllib.parse import quote"
    assert network_findings(snippet, "store/engine.py") == []


@pytest.mark.rule("R-22")
def test_no_module_uses_a_network_client() -> None:
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 40
    findings = [
        finding
        for path in modules
        for finding in network_findings(
            path.read_text("utf-8"), path.relative_to(PACKAGE).as_posix()
        )
    ]
    assert findings == []
