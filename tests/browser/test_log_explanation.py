"""The "why" panel in the access log: a face decision's explanation in words
(reason, liveness, margin band, operating point), in Chinese and English, never a score."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.checks import Variant, checkpoint
from tests.browser.conftest import GATE, SITE, LiveSite
from tests.browser.test_log import _sign_in

#: Words each language shows for the recorded decision's codes.
WORDS = {
    "zh": {"reason": "人脸未匹配到登记住户", "liveness": "画面活体检测通过",
           "band": "略低于阈值", "point": "误识率万分之一"},
    "en": {"reason": "Face not matched to a resident", "liveness": "Live-face check passed",
           "band": "Just below the threshold", "point": "False match rate 1 in 10,000"},
}  # fmt: skip


def test_the_log_opens_why_a_face_was_refused(page: Page, live: LiveSite, variant: Variant) -> None:
    words = WORDS[variant.lang]
    # What the face decider records for a near miss (gate.explanation): a band, no score.
    live.store.record_decision(
        SITE, "device:browser", "decision.identify", None, "deny",
        detail={"gate": GATE, "kind": "face", "reason": "not_recognized",
                "liveness": "passive_ok", "operating_point": "fmr_1e-4",
                "model": "face_recognition_sface_2021dec", "margin_band": "near_below"},
    )  # fmt: skip
    _sign_in(page, live, variant)
    page.select_option("#log-filter [name=kind]", "face")
    page.click("#log-filter button[type=submit]")

    page.locator("#decisions tbody tr").first.locator("button.log-why").click()

    panel = page.locator("#why-dialog")
    expect(panel).to_be_visible()
    for key in ("reason", "liveness", "band", "point"):
        expect(panel).to_contain_text(words[key])
    expect(panel).not_to_contain_text("0.")
    checkpoint(page, "log-why")
    page.click("#why-close")
    expect(panel).to_be_hidden()
