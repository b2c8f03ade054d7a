"""Load benchmark of the gate decision endpoint (not a test): N simulated gate devices.

``run_load`` builds a throw-away data dir with a demo site, one gate, N devices and N
subjects (each with a card, a PIN, or, for faces, one enrolled astronaut face), serves the
real app on a free loopback port and runs N client threads (one per device, httpx) for a
bounded time. It reports decisions/s, p50/p99 latency and errors.

One worker on SQLite is served by uvicorn in a thread of this process. Several workers, or
a PostgreSQL database (a fresh one created on the server given, dropped afterwards), run
``facegate serve --workers N`` as a process of its own (``load_server``), as deployed.

The service's rate limits are switched off for the run: at 120 decisions per device and
minute they would measure the limiter, not the engine.
"""

from __future__ import annotations

import logging
import socket
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

import numpy as np
import uvicorn

from facegate.api.app import create_app
from facegate.api.ratelimit import NoLimits
from facegate.api.state import AppState
from facegate.bench.load_server import fresh_postgres_database, served
from facegate.core.config import Environment, Settings
from facegate.errors import MissingDependencyError
from facegate.fixtures import astronaut, encode_png
from facegate.privacy.notice_template import starter_notice
from facegate.recognition import enroll_images
from facegate.store import Store, SubjectKind
from facegate.vision.pipeline import FacePipeline

logger = logging.getLogger(__name__)

BENCH_SITE = "load-bench"
BENCH_GATE = "main"
BENCH_ACTOR = "bench:load"
_NOTICE_VERSION = "bench-1"
_STARTUP_SECONDS = 30.0
_REQUEST_TIMEOUT = 30.0


class LoadKind(StrEnum):
    CARD = "card"
    PIN = "pin"
    FACE = "face"


@dataclass(frozen=True, slots=True)
class LoadResult:
    """One run. Latencies are client-side, per request, in milliseconds."""

    kind: LoadKind
    devices: int
    seconds: float
    decisions: int
    errors: int
    decisions_per_s: float
    p50_ms: float
    p99_ms: float
    outcomes: dict[str, int] = field(default_factory=dict)
    rate_limits: str = "off"
    workers: int = 1
    database: str = "sqlite"


@dataclass(frozen=True, slots=True)
class _Client:
    """What one simulated device presents, over and over."""

    api_key: str
    form: dict[str, str]
    image: bytes | None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run_load(
    kind: LoadKind | str,
    devices: int,
    seconds: float,
    pipeline: FacePipeline | None = None,
    *,
    workers: int = 1,
    postgres_url: str | None = None,
) -> LoadResult:
    """Run the benchmark; ``ValueError`` for an unknown kind or non-positive sizes.

    ``workers`` > 1 or ``postgres_url`` (a server's admin URL: the run creates and drops
    a database of its own there) serve with ``facegate serve --workers`` in its own
    processes.
    """
    try:
        load_kind = LoadKind(kind)
    except ValueError:
        raise ValueError(f"kind {kind!r} is not one of: card, pin, face") from None
    if devices < 1:
        raise ValueError(f"devices must be at least 1, got {devices}")
    if not seconds > 0:
        raise ValueError(f"seconds must be positive, got {seconds}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    _require_httpx()
    if workers > 1 or postgres_url is not None:
        return _run_served(load_kind, devices, seconds, workers, postgres_url)
    with tempfile.TemporaryDirectory(prefix="facegate-load-") as tmp:
        settings = Settings(data_dir=Path(tmp), env=Environment.DEVELOPMENT)
        with Store.open(settings) as store:
            face_pipeline = pipeline
            if load_kind is LoadKind.FACE and face_pipeline is None:
                face_pipeline = FacePipeline.default()
            clients = _prepare(store, settings, load_kind, devices, face_pipeline)
            app = create_app(settings, store=store)
            port = free_port()
            server = uvicorn.Server(
                uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
            )
            thread = threading.Thread(target=server.run, name="facegate-load-server", daemon=True)
            thread.start()
            try:
                _wait_started(server)
                state: AppState = app.state.facegate
                state.limiter = NoLimits()
                if face_pipeline is not None:
                    state.pipelines.seed(face_pipeline)
                return _drive(f"http://127.0.0.1:{port}", clients, load_kind, seconds)
            finally:
                server.should_exit = True
                thread.join(timeout=_STARTUP_SECONDS)


def _run_served(
    kind: LoadKind, devices: int, seconds: float, workers: int, postgres_url: str | None
) -> LoadResult:
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="facegate-load-")))
        database_url = (
            None
            if postgres_url is None
            else stack.enter_context(fresh_postgres_database(postgres_url))
        )
        settings = Settings(data_dir=tmp, env=Environment.DEVELOPMENT, database_url=database_url)
        with Store.open(settings) as store:
            pipeline = FacePipeline.default() if kind is LoadKind.FACE else None
            clients = _prepare(store, settings, kind, devices, pipeline)
        port = free_port()
        stack.enter_context(served(tmp, port, workers, database_url))
        result = _drive(f"http://127.0.0.1:{port}", clients, kind, seconds)
        database = "sqlite" if database_url is None else "postgresql"
        return replace(result, workers=workers, database=database)


def _prepare(
    store: Store,
    settings: Settings,
    kind: LoadKind,
    devices: int,
    pipeline: FacePipeline | None,
) -> list[_Client]:
    store.create_site(BENCH_SITE, "Load bench", actor=BENCH_ACTOR)
    store.notices.publish(
        BENCH_SITE,
        _NOTICE_VERSION,
        starter_notice("Load bench", "Bench Property Co.", "front desk"),
        actor=BENCH_ACTOR,
    )
    store.assessments.record(BENCH_SITE, "Bench", "Impact assessment (bench).", actor=BENCH_ACTOR)
    store.gates.configure(
        BENCH_SITE, BENCH_GATE, "Main gate",
        accepts_face=True, accepts_card=True, accepts_pin=True, accepts_otp=True,
        actor=BENCH_ACTOR,
    )  # fmt: skip
    face = encode_png(astronaut()) if kind is LoadKind.FACE else None
    clients = []
    for index in range(devices):
        key = store.devices.register(
            BENCH_SITE, f"Bench device {index}", [BENCH_GATE], actor=BENCH_ACTOR
        ).api_key
        subject = store.add_subject(
            BENCH_SITE, f"Bench resident {index}", SubjectKind.RESIDENT, actor=BENCH_ACTOR
        )
        form = {"gate": BENCH_GATE, "kind": kind.value}
        if kind is LoadKind.CARD:
            number = f"B{index:07d}"
            store.credentials.issue_card(subject.id, number, actor=BENCH_ACTOR)
            form["secret"] = number
        elif kind is LoadKind.PIN:
            pin = f"{402917 + index * 7919:06d}"
            store.credentials.set_pin(subject.id, pin, actor=BENCH_ACTOR)
            form |= {"secret": pin, "subject_id": subject.id}
        elif index == 0 and pipeline is not None and face is not None:
            store.consents.record(
                subject.id, _NOTICE_VERSION, "signature", "bench", actor=BENCH_ACTOR
            )
            enroll_images(
                store, pipeline, subject.id, [face], BENCH_ACTOR, settings.max_image_pixels
            )
        clients.append(_Client(key, form, face))
    return clients


def _require_httpx() -> None:
    """The simulated devices speak HTTP through httpx, which only the extras install."""
    try:
        import httpx  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError("bench load needs httpx: install facegate[eval]") from exc


def _wait_started(server: uvicorn.Server) -> None:
    deadline = time.monotonic() + _STARTUP_SECONDS
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the benchmark server did not start")
        time.sleep(0.05)


def _drive(base_url: str, clients: list[_Client], kind: LoadKind, seconds: float) -> LoadResult:
    latencies: list[list[float]] = [[] for _ in clients]
    outcomes: list[dict[str, int]] = [{} for _ in clients]
    errors = [0] * len(clients)
    start = threading.Barrier(len(clients) + 1)
    deadline: list[float] = []
    import httpx  # an extra: see _require_httpx

    def device(index: int) -> None:
        client = clients[index]
        headers = {"Authorization": f"Bearer {client.api_key}"}
        files = None if client.image is None else {"image": ("frame.png", client.image)}
        with httpx.Client(base_url=base_url, timeout=_REQUEST_TIMEOUT) as http:
            start.wait()
            while time.monotonic() < deadline[0]:
                began = time.perf_counter()
                try:
                    response = http.post(
                        "/api/v1/decisions", data=client.form, files=files, headers=headers
                    )
                except httpx.HTTPError:
                    errors[index] += 1
                    continue
                latencies[index].append((time.perf_counter() - began) * 1e3)
                if response.status_code != 200:
                    errors[index] += 1
                    continue
                outcome = str(response.json().get("outcome"))
                outcomes[index][outcome] = outcomes[index].get(outcome, 0) + 1

    threads = [
        threading.Thread(target=device, args=(i,), name=f"bench-device-{i}")
        for i in range(len(clients))
    ]
    for thread in threads:
        thread.start()
    deadline.append(time.monotonic() + seconds)
    began = time.monotonic()
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    all_latencies = np.array([x for per in latencies for x in per], dtype=np.float64)
    total: dict[str, int] = {}
    for per in outcomes:
        for outcome, count in per.items():
            total[outcome] = total.get(outcome, 0) + count
    decisions = sum(total.values())
    p50, p99 = (
        (float(np.percentile(all_latencies, 50)), float(np.percentile(all_latencies, 99)))
        if all_latencies.size
        else (float("nan"), float("nan"))
    )
    return LoadResult(
        kind=kind,
        devices=len(clients),
        seconds=round(elapsed, 2),
        decisions=decisions,
        errors=sum(errors),
        decisions_per_s=round(decisions / elapsed, 1),
        p50_ms=round(p50, 1),
        p99_ms=round(p99, 1),
        outcomes=dict(sorted(total.items())),
    )
