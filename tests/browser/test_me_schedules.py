"""The console's gate schedule editor as a site administrator uses it, in zh and en at 1280
and 390 px: a schedule that would leave only the face at night is refused in plain words
next to the save button; adding a face window makes it acceptable; removing every window
removes the schedule. And the kiosk says so, in words, when a card comes outside its hours."""

from __future__ import annotations

from datetime import UTC, datetime

from playwright.sync_api import Page, expect

from facegate.api.words.me import STRINGS as ME_WORDS
from facegate.store import SubjectKind
from facegate.store.schedules import ScheduleWindow
from facegate.store.schema import utcnow
from tests.browser.checks import ARTIFACTS, VIEWPORTS, Variant, checkpoint, open_page
from tests.browser.conftest import ADMIN_PASSWORD, ADMIN_USER, SITE, LiveSite
from tests.store.helpers import OPERATOR

#: A gate of its own (face and card only), so the kiosk tests' gate keeps no schedule.
GATE = "side-door"
CARD = "0066554433"
#: 23:30 in Shanghai (UTC+8).
NIGHT = datetime(2026, 12, 9, 15, 30, tzinfo=UTC)
PHONE_WIDTH = VIEWPORTS["phone"][0]


def _word(key: str, lang: str) -> str:
    zh, en = ME_WORDS[key]
    return zh if lang == "zh" else en


def test_admin_sets_a_gate_schedule_and_face_only_hours_are_refused(
    page: Page, live: LiveSite, variant: Variant
) -> None:
    lang = variant.lang
    live.store.gates.configure(
        SITE, GATE, "Side door",
        accepts_face=True, accepts_card=True, accepts_pin=False, accepts_otp=False,
        actor=OPERATOR,
    )  # fmt: skip
    live.store.schedules.set(SITE, GATE, [], actor=OPERATOR)
    open_page(page, live.url + "/admin", lang, variant.width)
    page.fill("#admin-signin [name=username]", ADMIN_USER)
    page.fill("#admin-signin [name=password]", ADMIN_PASSWORD)
    page.click("#admin-signin button[type=submit]")
    section = page.locator("#schedules")
    expect(section).to_be_visible()
    section.locator("#sched-gate").select_option(GATE)
    expect(section.locator("#sched-none")).to_be_visible()

    # Cards only by day while faces work around the clock: refused, said in words.
    section.locator("#sched-add").click()
    section.locator("#sched-save").click()
    message = section.locator("#sched-message")
    expect(message).to_have_text(_word("err_policy_refused_schedule_face_only", lang))
    assert live.store.schedules.get(SITE, GATE).windows == ()
    checkpoint(page, "me-schedule-refused")

    # Faces only by day too: accepted.
    section.locator("#sched-add").click()
    windows = section.locator(".sched-window")
    windows.nth(1).locator("select[name=kind]").select_option("face")
    windows.nth(1).locator("input[name=start]").fill("07:00")
    windows.nth(1).locator("input[name=end]").fill("20:00")
    section.locator("#sched-save").click()
    expect(message).to_have_text(_word("sched_saved", lang))
    saved = live.store.schedules.get(SITE, GATE)
    assert sorted((w.kind, w.start_minute, w.end_minute) for w in saved.windows) == [
        ("card", 360, 1380),
        ("face", 420, 1200),
    ]
    checkpoint(page, "me-schedule-saved")
    section.screenshot(path=ARTIFACTS / f"me-schedule-section-{lang}-{variant.width}.png")

    # No windows: no schedule.
    for _ in range(2):
        section.locator(".sched-window button").first.click()
    section.locator("#sched-save").click()
    expect(message).to_have_text(_word("sched_saved", lang))
    expect(section.locator("#sched-none")).to_be_visible()
    assert live.store.schedules.get(SITE, GATE).windows == ()


def test_the_kiosk_says_when_a_card_is_outside_its_hours(page: Page, live: LiveSite) -> None:
    subject = live.store.add_subject(SITE, "Night Owl", SubjectKind.RESIDENT, actor=OPERATOR)
    live.store.credentials.issue_card(subject.id, CARD, OPERATOR)
    cards_by_day = [ScheduleWindow("card", frozenset(range(7)), 6 * 60, 23 * 60)]
    live.store.schedules.set(SITE, "main", cards_by_day, actor=OPERATOR)
    live.store.schedules.clock = lambda: NIGHT
    try:
        open_page(page, live.kiosk_url(), "zh", PHONE_WIDTH)
        page.click("#alt-card")
        page.fill("#alt-secret", CARD)
        page.click("#alt-card-submit")
        expect(page.locator("#alt-message")).to_contain_text(_word("reason_outside_schedule", "zh"))
        checkpoint(page, "me-schedule-kiosk-refused")
    finally:
        live.store.schedules.clock = utcnow
        live.store.schedules.set(SITE, "main", [], actor=OPERATOR)
