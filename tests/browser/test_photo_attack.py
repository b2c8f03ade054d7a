"""A photo attack at the kiosk: Chromium's fake camera shows a still photo of an enrolled
resident to a gate configured without naming a liveness level, so at the default, which
demands active liveness. The photo passes for a face, gets a random challenge it cannot
follow, and is refused with the other ways in offered."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from facegate.recognition import enroll_images
from facegate.store import SubjectInfo
from facegate.store.records import LivenessLevel
from facegate.store.site_reads import recent_decisions
from facegate.vision.pipeline import FacePipeline
from tests.browser.conftest import SITE, LiveSite, centred_face_frame
from tests.browser.test_journey import CAMERA_READY, expect_other_ways_offered, next_decision
from tests.store.helpers import OPERATOR, consented_subject

TOWER_GATE = "tower"
MAX_PIXELS = 20_000_000
#: Three prompts plus the baseline, each ~2 s, then the server's check.
CHALLENGE_TIMEOUT_MS = 60_000


@pytest.fixture
def photographed_resident(live: LiveSite, pipeline: FacePipeline) -> Iterator[SubjectInfo]:
    """The resident in the photo, enrolled from it; withdrawn afterwards so that the photo
    matches nobody in the tests after this one (the journey's withdrawal expects that)."""
    resident = consented_subject(live.store, SITE, name="Wang Wu")
    enroll_images(live.store, pipeline, resident.id, [centred_face_frame()], OPERATOR, MAX_PIXELS)
    yield resident
    live.store.consents.withdraw_all(resident.id, actor=OPERATOR)


def test_a_still_photo_at_the_default_gate_level_is_refused_and_the_pin_pad_is_offered(
    page: Page, live: LiveSite, artifacts: Path, photographed_resident: SubjectInfo
) -> None:
    store = live.store
    # No liveness level named: the default is what a new face gate gets.
    gate = store.gates.configure(
        SITE, TOWER_GATE, "Tower door",
        accepts_face=True, accepts_card=True, accepts_pin=True, accepts_otp=True,
        actor=OPERATOR,
    )  # fmt: skip
    assert gate.liveness is LivenessLevel.PASSIVE_ACTIVE, "new face gates must demand a challenge"
    device = store.devices.register(SITE, "Tower kiosk", [TOWER_GATE], actor=OPERATOR)

    page.goto(f"{live.url}/kiosk#gate={TOWER_GATE}&key={device.api_key}")
    page.wait_for_function(CAMERA_READY, timeout=15_000)
    page.evaluate("window.lastChallenge = null")
    page.wait_for_function("window.currentStep && window.currentStep !== 'baseline'",
                           timeout=CHALLENGE_TIMEOUT_MS)  # fmt: skip
    steps = page.evaluate("window.lastChallenge")
    assert len(steps) == 3
    assert set(steps) <= {"turn_left", "turn_right", "come_closer"}
    prompts = {"turn_left": "请向左转头", "turn_right": "请向右转头", "come_closer": "请靠近摄像头"}
    expect(page.locator("#prompt")).to_have_text(prompts[page.evaluate("window.currentStep")])
    page.screenshot(path=artifacts / "kiosk-challenge-prompt.png")

    decision = next_decision(page, CHALLENGE_TIMEOUT_MS)
    assert (decision["outcome"], decision["reason"]) == ("try_another", "liveness_failed")
    expect(page.locator("#result")).to_have_attribute("data-outcome", "try_another")
    expect(page.locator("#result-reason")).to_have_text("活体检测未通过，请使用下方其他方式")
    expect_other_ways_offered(page)
    page.click("#alt-pin")
    expect(page.locator("#keypad")).to_be_visible()
    page.screenshot(path=artifacts / "kiosk-photo-attack-refused.png")

    # The photo is of a resident who really is enrolled: only liveness stood in the way.
    refused = recent_decisions(store, SITE, 1)[0]
    assert refused.detail["gate"] == TOWER_GATE
    assert refused.detail["liveness"] == "active_challenge_not_followed"
    assert refused.detail["outcome"] == "try_another"
