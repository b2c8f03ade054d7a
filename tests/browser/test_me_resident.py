"""The resident's self-service as a resident uses it, in zh and en at 1280 and 390 px: sign
in, see the steps and the next one, consent, confirm (or cancel) withdrawal and deletion,
read the printable export, make a visitor pass (code and QR code), and the visitor opens
the gate once with it at the kiosk; the second try is refused."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from facegate.api.words.me import STRINGS as ME_WORDS
from facegate.store import SubjectKind
from facegate.store.records import ConsentMethod
from tests.browser.checks import Variant, checkpoint, open_page
from tests.browser.conftest import SITE, LiveSite
from tests.store.helpers import OPERATOR

#: The kiosk's words for a spent code, and for the door opening (shared words).
USED = {"zh": "验证码已使用", "en": "This code was already used"}
OPENED = {"zh": "门已打开，请通行", "en": "Door open: come in"}


def _word(key: str, lang: str) -> str:
    zh, en = ME_WORDS[key]
    return zh if lang == "zh" else en


def _sign_in(page: Page, live: LiveSite, subject_id: str, variant: Variant) -> None:
    open_page(page, live.url + "/me", variant.lang, variant.width)
    code = live.store.accounts.issue_signin_code(subject_id, actor=OPERATOR)
    page.fill("#resident-signin [name=site]", SITE)
    page.fill("#resident-signin [name=code]", code)
    page.click("#resident-signin button[type=submit]")
    expect(page.locator("#self")).to_be_visible()


def test_resident_steps_confirmations_export_and_a_visitor_pass(
    page: Page, live: LiveSite, variant: Variant, artifacts: Path
) -> None:
    lang = variant.lang
    subject = live.store.add_subject(
        SITE, f"Resident {variant}", SubjectKind.RESIDENT, actor=OPERATOR
    )
    _sign_in(page, live, subject.id, variant)

    # Where they are, and the rule for a PIN before anything went wrong.
    expect(page.locator('#me-steps li[data-step="consent"]')).to_have_attribute("data-done", "no")
    expect(page.locator("#me-next")).to_have_text(_word("me_next_consent", lang))
    expect(page.locator("#pin-rule")).to_be_visible()
    expect(page.locator("#pin-rule")).to_have_text(_word("me_pin_rule", lang))
    checkpoint(page, "me-signed-in")

    # Consent: the next step says how to enroll.
    page.check("#consent-check")
    page.click("#consent-give")
    expect(page.locator("#me-consent")).to_have_attribute("data-state", "given")
    expect(page.locator("#me-next")).to_have_text(_word("me_next_enroll", lang))
    expect(page.locator('#me-steps li[data-step="consent"]')).to_have_attribute("data-done", "yes")
    expect(page.locator("#consent-message")).to_contain_text(_word("me_next_enroll", lang))
    checkpoint(page, "me-consent-next-step")

    # Withdrawal asks first; cancel changes nothing.
    page.click("#consent-withdraw")
    dialog = page.locator("#confirm")
    expect(dialog).to_be_visible()
    expect(page.locator("#confirm-body")).to_have_text(_word("me_confirm_withdraw_body", lang))
    checkpoint(page, "me-confirm-withdraw")
    page.click("#confirm-cancel")
    expect(dialog).to_be_hidden()
    expect(page.locator("#me-consent")).to_have_attribute("data-state", "given")
    assert live.store.get_subject(subject.id).has_active_consent is True
    page.click("#consent-withdraw")
    page.click("#confirm-yes")
    expect(page.locator("#me-consent")).to_have_attribute("data-state", "none")
    expect(page.locator("#consent-message")).to_have_text(_word("me_withdrawn", lang))
    assert live.store.get_subject(subject.id).has_active_consent is False

    # Deleting the face data asks too (consent given again on paper at the desk).
    live.store.consents.record(
        subject.id,
        live.store.notices.current(SITE).version,
        ConsentMethod.SIGNATURE,
        "scan:form-9",
        actor=OPERATOR,
    )
    page.reload()
    expect(page.locator("#me-consent")).to_have_attribute("data-state", "given")
    page.click("#delete-face")
    expect(page.locator("#confirm-body")).to_have_text(_word("me_confirm_delete_body", lang))
    page.keyboard.press("Escape")  # closing the dialog is a cancel too
    expect(dialog).to_be_hidden()
    assert live.store.get_subject(subject.id).has_active_consent is True
    page.click("#delete-face")
    page.click("#confirm-yes")
    expect(page.locator("#me-consent")).to_have_attribute("data-state", "none")

    # A visitor pass: the code and its QR code, shown once, and the list.
    # A window that ends before it starts: refused in plain words next to the form.
    start = page.input_value("#pass-form [name=valid_from]")
    until = page.input_value("#pass-form [name=valid_until]")
    page.fill("#pass-form [name=valid_until]", start)
    # Ticked already when the site has one gate; other tests may have added gates.
    page.check('#pass-gates input[value="main"]')
    page.click("#pass-create")
    expect(page.locator("#pass-message")).to_have_text(
        _word("err_invalid_record_pass_window_order", lang)
    )
    page.fill("#pass-form [name=valid_until]", until)
    page.fill("#pass-form [name=label]", "Aunt Li")
    expect(page.locator('#pass-gates input[value="main"]')).to_be_checked()
    page.locator("#pass-create").dblclick()  # a double click makes one pass
    code_box = page.locator("#pass-code")
    expect(code_box).to_have_text(re.compile(r"^\d{8}$"))
    code = code_box.inner_text()
    qr = page.locator("#pass-qr")
    expect(qr).to_be_visible()
    assert page.evaluate("document.getElementById('pass-qr').naturalWidth") > 0
    expect(page.locator("#pass-table tbody tr")).to_have_count(1)
    expect(page.locator("#pass-table tbody tr").first).to_have_attribute("data-status", "active")
    checkpoint(page, "me-pass-made")

    # The printable export, in the page's language.
    page.click("#export-print")
    expect(page.locator("#export-body")).to_be_visible()
    expect(page.locator("#exp-name")).to_have_text(f"Resident {variant}")
    expect(page.locator("#exp-consents tbody tr")).to_have_count(2)
    expect(page.locator("#exp-passes tbody")).to_contain_text("Aunt Li")
    # The pass's code is the visitor's: not listed as one of the resident's own ways in.
    expect(page.locator("#exp-credentials tbody")).to_have_text(_word("exp_empty", lang))
    expect(page.locator("#export-print")).to_be_visible()
    assert code not in page.content()
    checkpoint(page, "me-export")
    page.emulate_media(media="print")
    expect(page.locator("#export-print")).to_be_hidden()
    checkpoint(page, "me-export-print")
    page.emulate_media(media="screen")

    # At the gate: the visitor types the pass code as a one-time code; it opens once.
    open_page(page, live.kiosk_url(), lang, variant.width)
    message = page.locator("#alt-message")
    for attempt, expected in ((1, OPENED[lang]), (2, USED[lang])):
        page.click("#alt-otp")
        page.fill("#alt-secret", code)
        page.click("#alt-submit")
        expect(message).to_contain_text(expected)
        checkpoint(page, f"me-pass-at-kiosk-{attempt}")
    events = live.store.audit_events(subject.id)
    used = [e for e in events if e.detail.get("visitor_pass") and e.action == "decision.credential"]
    assert [e.detail["outcome"] for e in used] == ["open", "deny"]
