"""The real app served by uvicorn on a free loopback port, driven by Debian's Chromium.

Chromium's fake camera plays a Y4M video of the astronaut photo (scikit-image) centred in a
640x480 frame. Every test here is skipped, with the reason, when /usr/bin/chromium is
missing (``make browser-deps`` installs it). Screenshots go to ``artifacts/browser/``.

Every page a test opens (``page``, ``context.new_page()``, a page of ``new_context()`` or of
``browser.new_context()``) is checked when the test body ends: no console error or uncaught
exception, no program text (``<built-in``, ``[object Object]``, ``undefined``), no English on
a Chinese page, no sideways overflow. ``tests/browser/checks.py`` says what each check
looks for. In a test:

- ``checkpoint(page, "<part>-<state>")`` runs the checks now and saves
  ``artifacts/browser/<part>-<state>-<lang>-<width>.png``;
- ``check_now(page)`` runs them now without a screenshot;
- the ``variant`` fixture runs the test once per language (zh, en) and viewport
  (``VIEWPORTS``: desktop 1280 x 900, phone 390 x 844), and
  ``open_page(page, url, variant.lang, variant.width)`` opens a page that way.

``from tests.browser.checks import checkpoint, check_now, open_page, Variant``. A page that
outlives one test (a module's tab) is checked in a later test after ``watch(page)`` there
(``test_tour.py`` does this).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import uvicorn
from numpy.typing import NDArray
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page

from facegate.api.app import create_app
from facegate.api.ratelimit import RateLimiter
from facegate.api.state import AppState
from facegate.core.config import Environment, Settings
from facegate.fixtures import astronaut, write_y4m
from facegate.store import Store
from facegate.store.records import LivenessLevel
from tests.browser.checks import (
    ARTIFACTS,
    VARIANTS,
    Variant,
    describe,
    find_problems,
    forget_all,
    watch,
    watched_pages,
)
from tests.store.helpers import OPERATOR, ready_site

CHROMIUM = Path("/usr/bin/chromium")
REPO_ROOT = Path(__file__).resolve().parents[2]
SITE = "sunny-garden"
GATE = "main"
ADMIN_USER = f"admin@{SITE}"
ADMIN_PASSWORD = "correct horse battery staple"
FRAME_SIZE = (640, 480)
#: The photo is scaled to the frame's height so the face is large enough for enrollment.
FACE_SIZE = 480
SERVER_START_TIMEOUT_S = 20.0
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is missing: run `make browser-deps` (Debian)")
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(skip)


@dataclass(frozen=True)
class LiveSite:
    """The served app, its store (for setting up and checking), and a device's kiosk link."""

    url: str
    store: Store
    device_key: str
    state: AppState

    def kiosk_url(self, *, mode: str | None = None) -> str:
        fragment = f"gate={GATE}&key={self.device_key}"
        return f"{self.url}/kiosk#{fragment}" + (f"&mode={mode}" if mode else "")


def centred_face_frame() -> NDArray[np.uint8]:
    """The astronaut photo scaled to ``FACE_SIZE`` and centred on grey, ``(480, 640, 3)``."""
    width, height = FRAME_SIZE
    face = Image.fromarray(astronaut()).resize((FACE_SIZE, FACE_SIZE), Image.Resampling.LANCZOS)
    frame = np.full((height, width, 3), 128, dtype=np.uint8)
    top, left = (height - FACE_SIZE) // 2, (width - FACE_SIZE) // 2
    frame[top : top + FACE_SIZE, left : left + FACE_SIZE] = np.asarray(face)
    return frame


@pytest.fixture(scope="session")
def fake_camera(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_y4m(tmp_path_factory.mktemp("camera") / "face.y4m", [centred_face_frame()])


@pytest.fixture(scope="session")
def browser_type_launch_args(
    browser_type_launch_args: dict[str, Any], fake_camera: Path
) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "headless": True,
        "args": [*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={fake_camera}"],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    # The pages' Content-Security-Policy forbids eval; Playwright's string predicates use it.
    return {**browser_context_args, "bypass_csp": True}


@pytest.fixture(scope="session")
def browser(browser: Browser) -> Browser:
    """Playwright's browser, with every page of every context it makes watched: the
    ``context``, ``page`` and ``new_context`` fixtures and a module's own contexts alike."""
    make_context = browser.new_context

    def watched_context(**kwargs: Any) -> BrowserContext:
        context = make_context(**kwargs)
        context.on("page", watch)
        return context

    browser.new_context = watched_context  # type: ignore[method-assign]
    return browser


@pytest.fixture(autouse=True)
def _one_test_at_a_time() -> Iterator[None]:
    """The end-of-test checks look only at the pages of the test that just ran."""
    yield
    forget_all()


@pytest.fixture(autouse=True)
def _fresh_rate_limits(request: pytest.FixtureRequest) -> None:
    """Each test is a new visitor with a fresh allowance. Every test signs in from
    127.0.0.1, so the whole suite would pass the per-address sign-in limit (20 a minute)
    that tests/api/test_auth.py proves; limits in the database (lock-outs) are kept."""
    if "live" in request.fixturenames:
        live: LiveSite = request.getfixturevalue("live")
        live.state.limiter = RateLimiter()


@pytest.fixture
def page(page: Page) -> Page:
    # Already watched through its context; this makes sure of it before the first goto.
    watch(page)
    return page


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """After a test body that passed, check every page it left open (and the console
    errors of those it closed): a problem fails the test itself, not its teardown."""
    result = yield
    failures = []
    for page in watched_pages():
        problems = find_problems(page)
        if problems:
            failures.append(describe(page, problems))
    if failures:
        raise AssertionError("\n".join(failures))
    return result


@pytest.fixture(params=VARIANTS, ids=str)
def variant(request: pytest.FixtureRequest) -> Variant:
    """Each language at each viewport: ``zh-desktop``, ``zh-phone``, ``en-desktop``,
    ``en-phone``."""
    chosen: Variant = request.param
    return chosen


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    """A ready site (notice, assessment, gate ``main`` taking face/card/PIN/code at the passive
    level, an admin and a gate device) served on ``http://127.0.0.1:<free port>`` for the
    whole session."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("facegate") / "data", env=Environment.DEVELOPMENT
    )
    with Store.open(settings) as store:
        ready_site(store, SITE, "Sunny Garden")
        # Passive, not the default challenge: the journey's fake camera is a still photo.
        # The default level has its own tests (test_photo_attack, test_challenge).
        store.gates.configure(
            SITE, GATE, "Main gate",
            accepts_face=True, accepts_card=True, accepts_pin=True, accepts_otp=True,
            liveness=LivenessLevel.PASSIVE, actor=OPERATOR,
        )  # fmt: skip
        store.accounts.create_admin(SITE, ADMIN_USER, ADMIN_PASSWORD, actor=OPERATOR)
        device = store.devices.register(SITE, "Kiosk 1", [GATE], actor=OPERATOR)
        app = create_app(settings, store=store)
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        )
        thread = threading.Thread(target=server.run, name="live-server", daemon=True)
        thread.start()
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                pytest.fail("the live server did not start")
            time.sleep(0.05)
        # Load the face models now, not during the first kiosk frame.
        app.state.facegate.pipelines.warm()
        try:
            yield LiveSite(f"http://127.0.0.1:{port}", store, device.api_key, app.state.facegate)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
