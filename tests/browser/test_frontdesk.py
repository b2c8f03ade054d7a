"""The front desk, as an operator uses it: find a resident without consent, be refused in
plain words, record the paper consent, enroll from a photo; then test recognition with the
same photo (open, with the name), with a picture without a face, and with the camera.

Each variant gets a site of its own, so that faces other tests enroll do not answer."""

from __future__ import annotations

import io

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image
from playwright.sync_api import FilePayload, Page, expect

from facegate.api.i18n import strings
from facegate.fixtures import astronaut, encode_png
from facegate.store import SubjectKind
from facegate.store.accounts import Role
from facegate.store.notices import Language
from facegate.store.records import LivenessLevel
from facegate.store.site_reads import recent_decisions
from tests.browser.checks import checkpoint, open_page
from tests.browser.conftest import ADMIN_PASSWORD, LiveSite
from tests.store.helpers import OPERATOR, ready_site

#: (language, width, resident's name): Chinese on the office's monitor, English on a phone.
VARIANTS = [("zh", 1280, "王芳"), ("en", 390, "Wang Fang")]


def _png(image: NDArray[np.uint8]) -> FilePayload:
    return {"name": "photo.png", "mimeType": "image/png", "buffer": encode_png(image)}


def _grey() -> FilePayload:
    return _png(np.full((480, 640, 3), 128, dtype=np.uint8))


def _small_face() -> FilePayload:
    """The astronaut shrunk into a corner of a large frame: a face too small to enroll."""
    face = Image.fromarray(astronaut()).resize((72, 72))
    frame = Image.new("RGB", (1280, 960), (128, 128, 128))
    frame.paste(face, (20, 20))
    return _png(np.asarray(frame))


def _jpeg_too_large() -> FilePayload:
    """Noise at 9 MP as JPEG: over the 8 MB the page lets through."""
    noise = np.random.default_rng(0).integers(0, 256, (3000, 3000, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(noise).save(out, format="JPEG", quality=100)
    return {"name": "huge.jpg", "mimeType": "image/jpeg", "buffer": out.getvalue()}


@pytest.mark.rule("R-02")
@pytest.mark.parametrize(("lang", "width", "name"), VARIANTS, ids=["zh-1280", "en-390"])
def test_the_operator_enrolls_after_consent_and_tests_recognition(
    page: Page, live: LiveSite, lang: str, width: int, name: str
) -> None:
    words = strings(Language(lang))
    site = f"frontdesk-{lang}"
    ready_site(live.store, site, f"Front desk {lang}")
    live.store.gates.configure(
        site, "main-gate", "Main gate",
        accepts_face=True, accepts_card=True, accepts_pin=True, accepts_otp=True,
        liveness=LivenessLevel.PASSIVE, actor=OPERATOR,
    )  # fmt: skip
    username = f"desk@{site}"
    live.store.accounts.create_admin(
        site, username, ADMIN_PASSWORD, actor=OPERATOR, role=Role.OPERATOR
    )
    subject = live.store.add_subject(site, name, SubjectKind.RESIDENT, actor=OPERATOR)

    open_page(page, live.url + "/admin", lang, width)
    page.fill("#admin-signin [name=username]", username)
    page.fill("#admin-signin [name=password]", ADMIN_PASSWORD)
    page.click("#admin-signin button[type=submit]")
    desk = page.locator("#frontdesk")
    expect(desk).to_be_visible()

    # Find the resident: no consent on record.
    desk.locator("#fd-find [name=q]").fill(name)
    desk.locator("#fd-find button[type=submit]").click()
    found = desk.locator(f'#fd-results li[data-subject-id="{subject.id}"]')
    expect(found).to_contain_text(words["consent_none"])
    found.get_by_role("button", name=words["fd_pick"]).click()
    expect(desk.locator("#fd-consent-state")).to_have_text(words["fd_consent_missing"])
    checkpoint(page, "frontdesk-no-consent")

    # A photo that is too large is stopped on the page, before it is sent.
    photos = desk.locator("#fd-enroll [name=images]")
    photos.set_input_files(_jpeg_too_large())
    desk.locator("#fd-enroll button[type=submit]").click()
    expect(desk.locator("#fd-enroll-message")).to_have_text(words["fd_photo_size"])

    # Enrolling without consent is refused, in plain words, with the way forward.
    photos.set_input_files(_png(astronaut()))
    desk.locator("#fd-enroll button[type=submit]").click()
    expect(desk.locator("#fd-enroll-message")).to_have_text(words["err_consent_required"])
    assert live.store.get_subject(subject.id).template_count == 0
    consent_button = desk.locator("#fd-consent-open")
    expect(consent_button).to_be_visible()
    checkpoint(page, "frontdesk-refused")

    consent_button.click()
    desk.locator("#fd-consent [name=evidence]").fill("scan:form-21")
    desk.locator("#fd-consent button[type=submit]").click()
    expect(desk.locator("#fd-consent-message")).to_have_text(words["fd_consent_recorded"])
    expect(desk.locator("#fd-consent-state")).to_have_text(words["fd_consent_on_record"])

    # The server's refusals of a photo, in plain words: a face too small (with the
    # quality gate's reasons), two faces.
    photos.set_input_files(_small_face())
    desk.locator("#fd-enroll button[type=submit]").click()
    separator = "；" if lang == "zh" else "; "
    reasons = separator.join(words[f"fd_quality_{r}"] for r in ("face_too_small", "blurred"))
    expect(desk.locator("#fd-enroll-message")).to_have_text(
        f"{words['err_poor_quality']} {words['fd_quality_reasons']} {reasons}"
    )
    photos.set_input_files(_png(np.hstack([astronaut(), astronaut()])))
    desk.locator("#fd-enroll button[type=submit]").click()
    expect(desk.locator("#fd-enroll-message")).to_have_text(words["err_multiple_faces"])
    checkpoint(page, "frontdesk-poor-photo")

    photos.set_input_files(_png(astronaut()))
    desk.locator("#fd-enroll button[type=submit]").click()
    expect(desk.locator("#fd-enroll-message")).to_have_text(
        f"{words['fd_enrolled']} · {name} · {words['fd_templates_added']} 1"
    )
    expect(desk.locator("#fd-picked-templates")).to_have_text("1")
    assert live.store.get_subject(subject.id).template_count == 1
    checkpoint(page, "frontdesk-enrolled")

    # Test recognition: the same photo opens, with the resident's name.
    test = desk.locator("#fd-test")
    expect(test.locator("[name=gate] option")).to_have_count(1)
    test.locator("[name=image]").set_input_files(_png(astronaut()))
    test.locator("button[type=submit]").click()
    result = desk.locator("#fd-test-result")
    expect(result).to_have_attribute("data-outcome", "open")
    expect(desk.locator("#fd-test-outcome")).to_have_text(f"{words['fd_result_open']} · {name}")
    expect(result).not_to_contain_text("0.")
    checkpoint(page, "frontdesk-test-open")

    test.locator("[name=image]").set_input_files(_grey())
    test.locator("button[type=submit]").click()
    expect(result).to_have_attribute("data-outcome", "try_another")
    expect(desk.locator("#fd-test-reason")).to_have_text(words["fd_result_no_face"])
    checkpoint(page, "frontdesk-test-no-face")

    # The camera (Chromium's fake one shows the astronaut) instead of a file.
    test.locator("[name=image]").set_input_files([])
    desk.locator("#fd-camera-open").click()
    expect(desk.locator("#fd-camera")).to_be_visible()
    page.wait_for_function("document.getElementById('fd-camera').videoWidth > 0")
    desk.locator("#fd-camera-take").click()
    expect(desk.locator("#fd-camera-note")).to_have_text(words["fd_camera_taken"])
    test.locator("button[type=submit]").click()
    expect(desk.locator("#fd-test-outcome")).to_have_text(f"{words['fd_result_open']} · {name}")

    # Tests open nothing: the site's access log holds no decision.
    assert recent_decisions(live.store, site, 50) == []
