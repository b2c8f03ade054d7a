"""The issue's browser journey, in order, on one live site: admin registers a resident and
issues a sign-in code; the resident consents on self-service; the kiosk enrolls the face
from Chromium's fake camera and then opens for it; a resident without face recognition
enters with a PIN; withdrawal stops the face at once while the other ways stay offered.

The tests share one site and run in file order; each one skips if an earlier step it needs
did not happen.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from facegate.store import SubjectKind
from tests.browser.conftest import ADMIN_PASSWORD, ADMIN_USER, SITE, LiveSite
from tests.store.helpers import OPERATOR

RESIDENT = "Zhang San"
NO_FACE_RESIDENT = "Li Si"
PIN = "482916"
#: The fake camera's first frames are black; wait for the photo.
CAMERA_READY = "window.frameReady && window.grab().mean > 10"
FACE_TIMEOUT_MS = 45_000


@dataclass
class Journey:
    subject_id: str | None = None
    signin_code: str | None = None
    consented: bool = False
    enrolled: bool = False


@pytest.fixture(scope="module")
def journey() -> Journey:
    return Journey()


def sign_in_resident(page: Page, live: LiveSite, code: str) -> None:
    page.goto(live.url + "/me")
    page.fill("#resident-signin [name=site]", SITE)
    page.fill("#resident-signin [name=code]", code)
    page.click("#resident-signin button[type=submit]")
    expect(page.locator("#self")).to_be_visible()


def next_decision(page: Page, timeout_ms: int = FACE_TIMEOUT_MS) -> dict[str, Any]:
    """The kiosk's next final decision (``window.lastDecision``) after this call."""
    page.evaluate("window.lastDecision = null")
    page.wait_for_function("window.lastDecision !== null", timeout=timeout_ms)
    decision: dict[str, Any] = page.evaluate("window.lastDecision")
    return decision


def expect_other_ways_offered(page: Page) -> None:
    for button in ("#alt-pin", "#alt-otp", "#alt-card"):
        expect(page.locator(button)).to_be_visible()


def test_admin_signs_in_registers_a_resident_and_issues_a_signin_code(
    page: Page, live: LiveSite, artifacts: Path, journey: Journey
) -> None:
    page.goto(live.url + "/admin")
    page.fill("#admin-signin [name=username]", ADMIN_USER)
    page.fill("#admin-signin [name=password]", ADMIN_PASSWORD)
    page.click("#admin-signin button[type=submit]")
    expect(page.locator("#console")).to_be_visible()
    expect(page.locator("#site-name")).to_have_text("Sunny Garden")

    page.fill("#add-resident [name=name]", RESIDENT)
    page.click("#add-resident button[type=submit]")
    row = page.locator(f'#residents tr[data-name="{RESIDENT}"]')
    expect(row).to_have_count(1)
    expect(row).to_contain_text("未同意")
    subject_id = row.get_attribute("data-subject-id")
    assert subject_id is not None
    number = live.store.get_subject(subject_id).resident_number
    assert number is not None
    expect(row).to_have_attribute("data-resident-number", number)
    expect(row).to_contain_text(number)

    row.get_by_role("button", name="发放自助登录码").click()
    expect(page.locator("#secret-output")).to_be_visible()
    code = page.locator("#secret-value").inner_text().strip()
    assert code.isdigit()
    expect(page.locator("#secret-for")).to_have_text(RESIDENT)
    # The gate list and a new device with its kiosk link (the key shown once).
    expect(page.locator("#gates tbody")).to_contain_text("人脸、门禁卡、密码、一次性验证码")
    page.fill("#add-device [name=name]", "Kiosk 2")
    # The gates come as a picker (ticked by itself only when the site has a single gate).
    page.check('#add-device input[name=gates][value="main"]')
    page.click("#add-device button[type=submit]")
    expect(page.locator("#device-output")).to_be_visible()
    link = page.locator("#kiosk-link").inner_text()
    assert link.startswith(f"{live.url}/kiosk#gate=main&key=")
    key = page.locator("#device-key").inner_text()
    assert live.store.devices.authenticate(key).name == "Kiosk 2"
    page.screenshot(path=artifacts / "admin-console.png", full_page=True)

    subject = live.store.get_subject(subject_id)
    assert (subject.display_name, subject.has_active_consent) == (RESIDENT, False)
    journey.subject_id, journey.signin_code = subject_id, code


def test_resident_reads_the_notice_and_gives_consent(
    page: Page, live: LiveSite, artifacts: Path, journey: Journey
) -> None:
    if journey.subject_id is None or journey.signin_code is None:
        pytest.skip("needs the resident and sign-in code from the admin step")
    sign_in_resident(page, live, journey.signin_code)
    expect(page.locator("#me-name")).to_have_text(RESIDENT)
    expect(page.locator("#notice-zh")).to_contain_text("仅用于Sunny Garden的大门")
    expect(page.locator("#notice-en")).to_contain_text("Only to let residents through the gates")
    expect(page.locator("#notice-en dt").first).to_have_text("Purpose")
    expect(page.locator("#notice-zh dt").first).to_have_text("处理目的")
    expect(page.locator("#me-consent")).to_have_attribute("data-state", "none")

    checkbox = page.locator("#consent-check")
    expect(checkbox).not_to_be_checked()
    expect(page.locator("#consent-give")).to_be_disabled()
    checkbox.check()
    page.click("#consent-give")
    expect(page.locator("#me-consent")).to_have_attribute("data-state", "given")
    page.screenshot(path=artifacts / "me-consent-given.png", full_page=True)

    assert live.store.get_subject(journey.subject_id).has_active_consent is True
    journey.consented = True


def test_kiosk_enrolls_the_face_and_then_opens_for_it(
    page: Page, live: LiveSite, artifacts: Path, journey: Journey
) -> None:
    if journey.subject_id is None or not journey.consented:
        pytest.skip("needs the consented resident")
    code = live.store.accounts.issue_signin_code(journey.subject_id, actor=OPERATOR)
    page.goto(live.kiosk_url(mode="enroll"))
    page.wait_for_function(CAMERA_READY, timeout=15_000)
    # The key left the address bar.
    assert "key=" not in page.url
    page.fill("#enroll-code", code)
    page.click("#enroll-form button[type=submit]")
    page.wait_for_function("window.lastEnrollment !== null", timeout=FACE_TIMEOUT_MS)
    enrollment = page.evaluate("window.lastEnrollment")
    assert enrollment == {"enrolled": 3, "subject_id": journey.subject_id}
    expect(page.locator("#result")).to_have_attribute("data-outcome", "enrolled")
    page.screenshot(path=artifacts / "kiosk-enrolled.png")
    assert live.store.get_subject(journey.subject_id).template_count == 3
    journey.enrolled = True

    # Back in gate mode by itself: the same face now opens the door.
    decision = next_decision(page)
    assert (decision["outcome"], decision["reason"]) == ("open", "ok")
    assert set(decision) == {"outcome", "reason", "decision_id", "alternatives"}
    expect(page.locator("#result")).to_have_attribute("data-outcome", "open")
    expect(page.locator("#result-title")).to_have_text("门已打开，请通行")
    expect_other_ways_offered(page)
    page.screenshot(path=artifacts / "kiosk-face-open.png")


def test_resident_without_face_recognition_enters_with_a_pin(
    page: Page, live: LiveSite, artifacts: Path
) -> None:
    subject = live.store.add_subject(SITE, NO_FACE_RESIDENT, SubjectKind.RESIDENT, actor=OPERATOR)
    sign_in_resident(page, live, live.store.accounts.issue_signin_code(subject.id, actor=OPERATOR))
    expect(page.locator("#consent-check")).not_to_be_checked()
    page.fill("#pin-form [name=pin]", PIN)
    page.click("#pin-form button[type=submit]")
    expect(page.locator("#pin-message")).to_have_text("密码已设置")
    # The six-digit resident number, not the 32-hex id, is what the page gives to type.
    resident_number = page.locator("#me-number").inner_text()
    assert resident_number == subject.resident_number
    assert len(resident_number) == 6
    assert resident_number.isdigit()

    page.goto(live.kiosk_url())
    page.click("#alt-pin")
    expect(page.locator("#alt-form")).to_be_visible()
    expect(page.locator("#alt-pin")).to_have_text("住户编号 + 密码")
    # All on the keypad: the resident number, then (moving on by itself) the PIN.
    for digit in resident_number + PIN:
        page.click(f'#keypad [data-digit="{digit}"]')
    expect(page.locator("#alt-subject")).to_have_value(resident_number)
    page.evaluate("window.lastDecision = null")
    page.click("#alt-submit")
    page.wait_for_function("window.lastDecision !== null", timeout=10_000)
    decision = page.evaluate("window.lastDecision")
    assert (decision["outcome"], decision["reason"]) == ("open", "ok")
    expect(page.locator("#result")).to_have_attribute("data-outcome", "open")
    page.screenshot(path=artifacts / "kiosk-pin-open.png")
    after = live.store.get_subject(subject.id)
    assert (after.has_active_consent, after.template_count) == (False, 0)


def test_withdrawal_stops_the_face_at_once_and_the_other_ways_stay(
    page: Page, live: LiveSite, artifacts: Path, journey: Journey
) -> None:
    if journey.subject_id is None or not journey.enrolled:
        pytest.skip("needs the enrolled resident")
    code = live.store.accounts.issue_signin_code(journey.subject_id, actor=OPERATOR)
    sign_in_resident(page, live, code)
    expect(page.locator("#me-consent")).to_have_attribute("data-state", "given")
    page.click("#consent-withdraw")
    page.click("#confirm-yes")  # self-service asks once more before erasing
    expect(page.locator("#me-consent")).to_have_attribute("data-state", "none")
    page.screenshot(path=artifacts / "me-consent-withdrawn.png", full_page=True)
    assert live.store.get_subject(journey.subject_id).has_active_consent is False

    page.goto(live.kiosk_url())
    page.wait_for_function(CAMERA_READY, timeout=15_000)
    decision = next_decision(page)
    assert (decision["outcome"], decision["reason"]) == ("deny", "not_recognized")
    expect(page.locator("#result")).to_have_attribute("data-outcome", "deny")
    expect(page.locator("#result-reason")).to_have_text("未识别到已登记的人脸")
    expect_other_ways_offered(page)
    page.screenshot(path=artifacts / "kiosk-face-denied-after-withdrawal.png")
