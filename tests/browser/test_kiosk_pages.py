"""The gate kiosk as a passer-by and an elderly resident meet it, in zh and en, on a
1280 px screen and a 390 px phone: the PIN pad's words and layout, the card's own button
and its plain-language refusal, and no way off the kiosk."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from facegate.store import SubjectKind
from tests.browser.checks import VIEWPORTS, Variant, checkpoint, open_page
from tests.browser.conftest import GATE, SITE, LiveSite
from tests.store.helpers import OPERATOR

#: key → (Chinese, English): what the kiosk must show.
WORDS = {
    "clear": ("清除", "Clear"),
    "enter": ("确认", "Enter"),
    "card_submit": ("确认卡号开门", "Open with this card"),
    "unknown_card": ("凭证无效", "This credential is not known"),
    "not_opened": ("未能开门", "Not opened"),
}
#: A card number no one holds (4-64 letters or digits, so the gate decides, not the form).
UNKNOWN_CARD = "NOCARD4711"
#: Paths a passer-by must not reach from the kiosk.
OFF_KIOSK = ("/", "/admin", "/me")
#: Every link's path on the page, resolved against its address.
LINK_PATHS_JS = "() => Array.from(document.querySelectorAll('a[href]'), a => a.pathname)"
#: Does the element's box lie inside the other's (both visible, in CSS pixels)?
INSIDE_JS = """([inner, outer]) => {
  const a = document.querySelector(inner).getBoundingClientRect();
  const b = document.querySelector(outer).getBoundingClientRect();
  return a.width > 0 && a.left >= b.left - 0.5 && a.right <= b.right + 0.5
    && a.top >= b.top - 0.5 && a.bottom <= b.bottom + 0.5;
}"""
#: Is the element's text cut off (wider or taller than its box)?
CLIPPED_JS = """(selector) => {
  const el = document.querySelector(selector);
  return el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1;
}"""
PHONE_WIDTH = VIEWPORTS["phone"][0]
#: Frames, decoding and a pipeline come before an enrollment's answer.
FACE_TIMEOUT_MS = 20_000
#: A finger-sized key: at least this many CSS pixels each way.
MIN_TOUCH_PX = 44


def _word(key: str, lang: str) -> str:
    zh, en = WORDS[key]
    return zh if lang == "zh" else en


def _kiosk_url(live: LiveSite) -> str:
    return f"{live.url}/kiosk#gate={GATE}&key={live.device_key}"


def _box(page: Page, selector: str) -> dict[str, Any]:
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not laid out"
    return dict(box)


def test_kiosk_pin_pad_card_entry_and_no_way_off(
    page: Page, live: LiveSite, variant: Variant
) -> None:
    open_page(page, _kiosk_url(live), variant.lang, variant.width)
    expect(page.locator("#not-configured")).to_be_hidden()

    # No link off the kiosk: only the language switch, which stays on /kiosk.
    assert not set(page.evaluate(LINK_PATHS_JS)) & set(OFF_KIOSK)
    expect(page.locator("#lang-switch")).to_be_visible()

    # The PIN pad: its own words on the keys, Enter whole inside the pad, finger-sized keys.
    page.click("#alt-pin")
    expect(page.locator("#keypad")).to_be_visible()
    expect(page.locator("#keypad-clear")).to_have_text(_word("clear", variant.lang))
    expect(page.locator("#alt-submit")).to_have_text(_word("enter", variant.lang))
    assert page.evaluate(INSIDE_JS, ["#alt-submit", "#keypad"]) is True
    assert page.evaluate(CLIPPED_JS, "#alt-submit") is False
    assert page.evaluate(CLIPPED_JS, "#keypad-clear") is False
    for key in ("#alt-submit", "#keypad-clear", '#keypad [data-digit="5"]'):
        box = _box(page, key)
        assert box["width"] >= MIN_TOUCH_PX, (key, box)
        assert box["height"] >= MIN_TOUCH_PX, (key, box)
    expect(page.locator("#alt-card-submit")).to_be_hidden()
    checkpoint(page, "kiosk-pinpad")

    # The card: typed (or read) into the field, sent with its own visible button.
    page.click("#alt-card")
    expect(page.locator("#keypad")).to_be_hidden()
    submit = page.locator("#alt-card-submit")
    expect(submit).to_be_visible()
    expect(submit).to_have_text(_word("card_submit", variant.lang))
    page.fill("#alt-secret", UNKNOWN_CARD)
    before = page.evaluate("window.decisionCount")
    submit.dblclick()  # a double tap asks the gate once
    message = page.locator("#alt-message")
    expect(message).to_contain_text(_word("unknown_card", variant.lang))
    expect(message).to_contain_text(_word("not_opened", variant.lang))
    expect(message).to_have_class(re.compile(r"\bbad\b"))
    expect(submit).to_be_enabled()
    assert page.evaluate("window.decisionCount") - before == 1
    assert page.evaluate("window.lastDecision.reason") == "unknown_credential"
    width = page.evaluate("window.innerWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    checkpoint(page, "kiosk-card-refused")


#: A PIN that passes the rules (6-12 digits, not a run or a repeat).
PIN = "735104"


def test_kiosk_pin_pad_opens_for_a_resident_on_a_phone(page: Page, live: LiveSite) -> None:
    subject = live.store.add_subject(SITE, "Zhao Liu", SubjectKind.RESIDENT, actor=OPERATOR)
    live.store.credentials.set_pin(subject.id, PIN, actor=OPERATOR)
    number = subject.resident_number
    assert number is not None
    open_page(page, _kiosk_url(live), "zh", PHONE_WIDTH)
    page.click("#alt-pin")
    # All on the keypad: the resident number, then (moving on by itself) the PIN.
    for digit in number + PIN:
        page.click(f'#keypad [data-digit="{digit}"]')
    expect(page.locator("#alt-subject")).to_have_value(number)
    page.click("#alt-submit")
    message = page.locator("#alt-message")
    expect(message).to_have_text("门已打开，请通行 · 验证通过")
    expect(message).to_have_class(re.compile(r"\bgood\b"))
    assert page.evaluate("window.lastDecision.outcome") == "open"
    expect(page.locator("#alt-secret")).to_have_value("")  # the PIN does not stay on screen
    checkpoint(page, "kiosk-pin-open")


def test_kiosk_enrollment_with_a_wrong_code_says_why_in_chinese(page: Page, live: LiveSite) -> None:
    open_page(page, _kiosk_url(live), "zh", PHONE_WIDTH)
    page.click("#mode-enroll")
    page.fill("#enroll-code", "00000000")
    page.click("#enroll-submit")
    message = page.locator("#enroll-message")
    # The camera's frames are taken first (about a second), then the code is refused.
    expect(message).to_contain_text("登录码无效", timeout=FACE_TIMEOUT_MS)
    expect(page.locator("#enroll-submit")).to_be_enabled()
    assert page.evaluate("window.lastEnrollment.error") == "unauthenticated"
    checkpoint(page, "kiosk-enroll-refused")
