"""Staff accounts through the console, as a property manager uses it: the administrator
adds a front desk operator (the password shown once, next to the form), a new tab opens
the console without signing in again, the operator signs in elsewhere and sees no
deletion and no settings, and a locked account is told until when. At 1280 and 390 px,
in Chinese and English; screenshots in ``artifacts/browser/staff-*``."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from facegate.errors import AuthenticationError
from facegate.store import SubjectKind
from facegate.store.accounts import MAX_ADMIN_FAILURES, Role
from tests.browser.checks import Variant, checkpoint, open_page
from tests.browser.conftest import ADMIN_PASSWORD, ADMIN_USER, SITE, LiveSite
from tests.store.helpers import OPERATOR

LOCKED_PASSWORD = "a locked account's password"


def _sign_in(page: Page, username: str, password: str) -> None:
    page.fill("#admin-signin [name=username]", username)
    page.fill("#admin-signin [name=password]", password)
    page.click("#admin-signin button[type=submit]")


def test_admin_adds_an_operator_who_sees_only_the_front_desk(
    page: Page,
    live: LiveSite,
    variant: Variant,
    new_context: Callable[..., BrowserContext],
) -> None:
    username = f"desk-{variant}@{SITE}"
    open_page(page, live.url + "/admin", variant.lang, variant.width)
    expect(page.locator("#signin")).to_be_visible()
    checkpoint(page, "staff-signin")
    _sign_in(page, ADMIN_USER, ADMIN_PASSWORD)
    expect(page.locator("#console")).to_be_visible()
    expect(page.locator("#staff")).to_be_visible()
    expect(page.locator(f'#staff-table tr[data-username="{ADMIN_USER}"]')).to_be_visible()

    page.fill("#staff-form [name=username]", username)
    page.select_option("#staff-form [name=role]", "operator")
    page.click("#staff-form button[type=submit]")
    expect(page.locator(f'#staff-table tr[data-username="{username}"]')).to_be_visible()
    expect(page.locator("#staff-secret")).to_be_visible()
    expect(page.locator("#staff-secret-for")).to_have_text(username)
    password = page.locator("#staff-secret-value").inner_text()
    assert len(password) >= 12
    expect(page.locator("#staff-secret")).to_be_in_viewport()
    checkpoint(page, "staff-created")
    account = next(s for s in live.store.staff.list(SITE) if s.username == username)
    assert account.role is Role.OPERATOR

    # A new tab of the same browser holds the session: the console, no sign-in form.
    tab = page.context.new_page()
    open_page(tab, live.url + "/admin", variant.lang, variant.width)
    expect(tab.locator("#console")).to_be_visible()
    expect(tab.locator("#signin")).to_be_hidden()
    expect(tab.locator("#staff")).to_be_visible()
    checkpoint(tab, "staff-newtab")
    tab.close()

    # The operator, in a browser of their own, with a resident to look after.
    resident = live.store.add_subject(SITE, f"Zhou {variant}", SubjectKind.RESIDENT, actor=OPERATOR)
    desk = new_context().new_page()
    open_page(desk, live.url + "/admin", variant.lang, variant.width)
    _sign_in(desk, username, password)
    expect(desk.locator("#console")).to_be_visible()
    expect(desk.locator("#session-role")).to_have_text(
        "前台" if variant.lang == "zh" else "Front desk"
    )
    expect(desk.locator("#residents")).to_be_visible()
    row = desk.locator(f'#residents tr[data-subject-id="{resident.id}"]')
    expect(row).to_be_visible()
    for hidden in ("#staff", "#gates-card", "#schedules", "#notice-card", "#run-retention"):
        expect(desk.locator(hidden)).to_be_hidden()
    expect(desk.locator("#log-card")).to_be_hidden()  # decisions are the auditor's
    # No deletion and no move-out on any resident's row.
    expect(desk.locator("#residents button.danger:visible")).to_have_count(0)
    checkpoint(desk, "staff-operator")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_locked_account_is_told_until_when(page: Page, live: LiveSite, lang: str) -> None:
    username = f"locked-{lang}@{SITE}"
    live.store.accounts.create_admin(
        SITE, username, LOCKED_PASSWORD, actor=OPERATOR, role=Role.AUDITOR
    )
    for _ in range(MAX_ADMIN_FAILURES):
        with pytest.raises(AuthenticationError):
            live.store.accounts.sign_in_admin(username, "a wrong password")
    open_page(page, live.url + "/admin", lang, 390)
    _sign_in(page, username, LOCKED_PASSWORD)
    message = page.locator("#signin-message")
    until = "可再次尝试的时间" if lang == "zh" else "You can try again at"
    expect(message).to_contain_text(until)
    expect(message).to_contain_text("锁定" if lang == "zh" else "locked")
    expect(page.locator("#console")).to_be_hidden()
    checkpoint(page, "staff-locked")
