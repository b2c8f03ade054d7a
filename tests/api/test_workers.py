"""Two real workers: ``facegate serve --workers 2`` on a free port, a throw-away data dir.

Every request goes over a fresh connection (no keep-alive), so the kernel hands them to
either worker; ``/metrics`` names the process that answered (``facegate_worker_pid``) and its
own counters, which show that both workers took part. The site is set up in this process
before the server starts, with the store's own API.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from facegate.api.ratelimit import SIGNIN_ATTEMPTS
from facegate.bench.load import free_port
from facegate.core.config import Environment, Settings
from facegate.store import Store
from facegate.store.records import LivenessLevel
from tests.store.helpers import OPERATOR, consented_subject, ready_site

pytestmark = pytest.mark.slow

SITE = "sunny-garden"
ADMIN = f"admin@{SITE}"
ADMIN_PASSWORD = "correct horse battery staple"
PIN = "402917"
#: "main" opens to a face; "side" asks each face for a challenge.
GATES = {"main": LivenessLevel.PASSIVE, "side": LivenessLevel.PASSIVE_ACTIVE}
WORKERS = 2
_STARTUP_S = 90.0
#: Face decisions to try before both workers have loaded the gallery.
_MAX_FACE_TRIES = 24
#: Seconds each worker takes at most to drop an erased person's gallery: a few check
#: intervals (``FACEGATE_GALLERY_CHECK_INTERVAL_S`` below), generous on a busy machine.
_ERASURE_REACH_S = 10.0
_GALLERY_CHECK_S = "0.5"
#: Scrapes of /metrics before giving up on hearing from every worker.
_MAX_SCRAPES = 200
#: Sign-in attempts sent side by side: more than one at a time spreads them over workers.
_PARALLEL = 6
_FRAMES = 4
_CHALLENGES = 4
_REPLAYS = 3
_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Site:
    face_key: str  # a device at the passive "main" gate
    active_key: str  # a device at the "side" gate, which asks for a challenge
    subject_id: str
    signin_code: str


@dataclass(frozen=True)
class Server:
    url: str
    data_dir: Path


def _post(url: str, **kwargs: object) -> httpx.Response:
    # A client per request: a new connection each time, closed after the answer.
    with httpx.Client(timeout=_TIMEOUT_S, headers={"Connection": "close"}) as client:
        return client.post(url, **kwargs)  # type: ignore[arg-type]


def _request(method: str, url: str, **kwargs: object) -> httpx.Response:
    with httpx.Client(timeout=_TIMEOUT_S, headers={"Connection": "close"}) as client:
        return client.request(method, url, **kwargs)  # type: ignore[arg-type]


def _set_up(data_dir: Path) -> Site:
    settings = Settings(data_dir=data_dir, env=Environment.DEVELOPMENT)
    with Store.open(settings) as store:
        ready_site(store, SITE, "Sunny Garden")
        for gate, liveness in (
            ("main", LivenessLevel.PASSIVE),
            ("side", LivenessLevel.PASSIVE_ACTIVE),
        ):
            store.gates.configure(
                SITE, gate, gate.title(),
                accepts_face=True, accepts_card=True, accepts_pin=True, accepts_otp=True,
                liveness=liveness, actor=OPERATOR,
            )  # fmt: skip
        store.accounts.create_admin(SITE, ADMIN, ADMIN_PASSWORD, actor=OPERATOR)
        face = store.devices.register(SITE, "Kiosk main", ["main"], actor=OPERATOR)
        active = store.devices.register(SITE, "Kiosk side", ["side"], actor=OPERATOR)
        subject = consented_subject(store, SITE)
        store.credentials.set_pin(subject.id, PIN, actor=OPERATOR)
        code = store.accounts.issue_signin_code(subject.id, actor=OPERATOR)
    return Site(face.api_key, active.api_key, subject.id, code)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("workers") / "data"


@pytest.fixture(scope="module")
def site(data_dir: Path) -> Site:
    return _set_up(data_dir)


@pytest.fixture(scope="module")
def server(site: Site, data_dir: Path) -> Iterator[Server]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEGATE_")}
    env |= {
        "FACEGATE_DATA_DIR": str(data_dir),
        "FACEGATE_ENV": "development",
        "FACEGATE_PIPELINE_WORKERS": "1",
        "FACEGATE_GALLERY_CHECK_INTERVAL_S": _GALLERY_CHECK_S,
    }
    command = ["serve", "--port", str(port), "--workers", str(WORKERS)]
    process = subprocess.Popen(
        [sys.executable, "-m", "facegate.cli.main", *command],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + _STARTUP_S
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"facegate serve did not start: {process.stderr.read()!r}")  # type: ignore[union-attr]
        time.sleep(0.2)
    yield Server(url, data_dir)
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


#: A worker's /metrics samples: (name, labels as sorted pairs) -> value.
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _samples(text: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _scrape_workers(server: Server) -> dict[int, Samples]:
    """The latest /metrics of every worker, by pid (scraping until each has answered)."""
    seen: dict[int, Samples] = {}
    for _ in range(_MAX_SCRAPES):
        response = _request("GET", f"{server.url}/metrics")
        assert response.status_code == 200, response.text
        samples = _samples(response.text)
        seen[int(samples[("facegate_worker_pid", ())])] = samples
        if len(seen) == WORKERS:
            return seen
    pytest.fail(f"only {len(seen)} of {WORKERS} workers answered {_MAX_SCRAPES} scrapes")


def _requests(samples: Samples, route: str, status: str) -> int:
    key = ("facegate_http_requests_total", (("route", route), ("status", status)))
    return int(samples.get(key, 0))


def _cached(samples: Samples) -> int:
    return int(samples[("facegate_gallery_cached_subjects", ())])


def _face(server: Server, key: str, image: bytes, gate: str = "main") -> httpx.Response:
    return _post(
        f"{server.url}/api/v1/decisions",
        data={"gate": gate, "kind": "face"},
        files={"image": ("frame.png", image, "image/png")},
        headers={"Authorization": f"Bearer {key}"},
    )


def _answer(server: Server, key: str, nonce: str, frame: bytes) -> httpx.Response:
    return _post(
        f"{server.url}/api/v1/decisions",
        data={"gate": "side", "kind": "face", "challenge": nonce},
        files=[("frames", (f"f{i}.png", frame, "image/png")) for i in range(_FRAMES)],
        headers={"Authorization": f"Bearer {key}"},
    )


def _pin(server: Server, site: Site) -> httpx.Response:
    return _post(
        f"{server.url}/api/v1/decisions",
        data={"gate": "main", "kind": "pin", "secret": PIN, "subject_id": site.subject_id},
        headers={"Authorization": f"Bearer {site.face_key}"},
    )


@pytest.fixture(scope="module")
def admin_token(server: Server) -> str:
    # Signed in before the sign-in limit is spent below; the session is in the database,
    # so every worker accepts it.
    response = _post(
        f"{server.url}/api/v1/auth/admin", json={"username": ADMIN, "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


def test_the_signin_limit_holds_across_workers(server: Server, admin_token: str) -> None:
    attempts = 2 * SIGNIN_ATTEMPTS.events

    def attempt(i: int) -> int:
        body = {"username": f"nobody{i}@{SITE}", "password": "wrong password"}
        return _post(f"{server.url}/api/v1/auth/admin", json=body).status_code

    with ThreadPoolExecutor(_PARALLEL) as pool:
        statuses = list(pool.map(attempt, range(attempts)))
    assert set(statuses) == {401, 429}
    # The admin's own sign-in above was the first attempt of this address's window.
    assert statuses.count(401) == SIGNIN_ATTEMPTS.events - 1
    workers = _scrape_workers(server)
    answered = {
        pid: _requests(samples, "/api/v1/auth/admin", "4xx") for pid, samples in workers.items()
    }
    limited = {
        pid: int(samples.get(("facegate_rate_limited_total", (("limit", "signin_attempts"),)), 0))
        for pid, samples in workers.items()
    }
    print(f"\nsign-in attempts by worker pid: {answered}; refused by the limit: {limited}")
    assert sum(answered.values()) == attempts
    # Both workers accepted some of the attempts: one worker's count alone stayed below
    # the limit, so only the shared count refused the rest.
    assert all(answered[pid] > limited[pid] for pid in workers)


def test_a_challenge_issued_by_one_worker_is_redeemed_once_by_any(
    server: Server, site: Site, face_png: bytes
) -> None:
    for _ in range(_CHALLENGES):
        asked = _face(server, site.active_key, face_png, gate="side")
        assert asked.status_code == 200, asked.text
        assert asked.json()["reason"] == "challenge_required"
        nonce = asked.json()["challenge"]["nonce"]
        # Redeemed (a still photo does not follow the steps: the active check refuses it,
        # which it could only do with the ticket in hand) ...
        first = _answer(server, site.active_key, nonce, face_png)
        assert (first.json()["reason"], first.json()["check"]) == ("liveness_failed", "active")
        # ... and never again, wherever the replays land.
        for _ in range(_REPLAYS):
            again = _answer(server, site.active_key, nonce, face_png)
            assert (again.json()["reason"], again.json()["check"]) == (
                "liveness_failed",
                "challenge",
            )
    workers = _scrape_workers(server)
    decisions = {
        pid: _requests(samples, "/api/v1/decisions", "2xx") for pid, samples in workers.items()
    }
    print(f"\ndecisions by worker pid: {decisions}")
    assert all(count > 0 for count in decisions.values())


@pytest.mark.rule("R-23")
def test_an_erasure_empties_every_workers_cache_and_the_person_no_longer_opens(
    server: Server, site: Site, admin_token: str, face_png: bytes
) -> None:
    enrolled = _post(
        f"{server.url}/api/v1/enrollments",
        data={"gate": "main", "code": site.signin_code},
        files=[("images", ("face.png", face_png, "image/png"))],
        headers={"Authorization": f"Bearer {site.face_key}"},
    )
    assert enrolled.status_code == 200, enrolled.text
    assert _pin(server, site).json()["outcome"] == "open"
    # Faces until both workers hold the gallery (each loads it on its first face).
    for _ in range(_MAX_FACE_TRIES):
        response = _face(server, site.face_key, face_png)
        assert response.status_code in (200, 429), response.text
        if response.status_code == 200:
            assert response.json()["outcome"] == "open", response.text
        if all(_cached(samples) == 1 for samples in _scrape_workers(server).values()):
            break
    else:
        pytest.fail("the gallery did not reach both workers' caches")

    erased = _request(
        "DELETE",
        f"{server.url}/api/v1/sites/{SITE}/subjects/{site.subject_id}",
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    assert erased.status_code == 200, erased.text
    erased_at = time.monotonic()
    deadline = erased_at + _ERASURE_REACH_S
    while True:
        cached = {pid: _cached(samples) for pid, samples in _scrape_workers(server).items()}
        if all(count == 0 for count in cached.values()):
            print(f"\nevery worker's cache empty {time.monotonic() - erased_at:.1f} s after")
            break
        if time.monotonic() > deadline:
            pytest.fail(f"cached subjects by worker after the erasure: {cached}")
        time.sleep(0.2)
    for _ in range(2 * WORKERS):
        face = _face(server, site.face_key, face_png)
        assert face.status_code in (200, 429), face.text
        if face.status_code == 200:
            assert face.json()["outcome"] != "open", face.text
        assert _pin(server, site).json()["outcome"] != "open"
