"""A photo attack at the kiosk: Chromium's fake camera shows a still photo of an enrolled
resident to a gate that demands active liveness. The photo passes for a face, gets a
random challenge it cannot follow, and is refused with the other ways in offered."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from facegate.fixtures import encode_png
from facegate.recognition import enroll_images
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


def test_a_still_photo_is_refused_by_the_challenge_and_the_pin_pad_is_offered(
    page: Page, live: LiveSite, artifacts: Path, pipeline: FacePipeline
) -> None:
    store = live.store
    store.gates.configure(
        SITE, TOWER_GATE, "Tower door",
        accepts_face=True, accepts_card=True, accepts_pin=True, accepts_otp=True,
        liveness=LivenessLevel.PASSIVE_ACTIVE, actor=OPERATOR,
    )  # fmt: skip
    device = store.devices.register(SITE, "Tower kiosk", [TOWER_GATE], actor=OPERATOR)
    # The photo is of a resident who really is enrolled: only liveness stands in the way.
    resident = consented_subject(store, SITE, name="Wang Wu")
    enroll_images(
        store, pipeline, resident.id, [encode_png(centred_face_frame())], OPERATOR, MAX_PIXELS
    )

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

    refused = recent_decisions(store, SITE, 1)[0]
    assert refused.detail["gate"] == TOWER_GATE
    assert refused.detail["liveness"] == "active_challenge_not_followed"
    assert refused.detail["outcome"] == "try_another"
