"""The pages render in Chinese (default) and English, the choice is remembered, Chinese
glyphs really render, and the consent box starts unticked."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from facegate.store import SubjectKind
from tests.browser.checks import VIEWPORTS, checkpoint, open_page
from tests.browser.conftest import SITE, LiveSite
from tests.store.helpers import OPERATOR

#: Draws two different Chinese characters; without a CJK font both are the same empty box.
GLYPHS_DIFFER = """() => {
  const draw = (ch) => {
    const c = document.createElement("canvas");
    c.width = 40; c.height = 40;
    const g = c.getContext("2d");
    g.font = "32px sans-serif";
    g.fillText(ch, 2, 32);
    return Array.from(g.getImageData(0, 0, 40, 40).data).join(",");
  };
  return draw("人") !== draw("脸");
}"""


def test_pages_render_in_chinese_by_default_and_english_on_request(
    page: Page, live: LiveSite, artifacts: Path
) -> None:
    page.goto(live.url + "/admin")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#signin h1")).to_have_text("工作人员登录")
    assert page.evaluate(GLYPHS_DIFFER) is True
    page.screenshot(path=artifacts / "admin-signin-zh.png")

    page.goto(live.url + "/admin?lang=en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#signin h1")).to_have_text("Staff sign-in")
    # Remembered in the cookie: the next page without ?lang is English too.
    page.goto(live.url + "/me")
    expect(page.locator("#signin h1")).to_have_text("Sign in with the code from the front desk")
    page.screenshot(path=artifacts / "me-signin-en.png")
    page.goto(live.url + "/?lang=zh")
    expect(page.locator("h1")).to_have_text("小区门禁")
    page.goto(live.url + "/kiosk")
    expect(page.locator("#alternatives h2")).to_have_text("其他开门方式")


def test_pages_are_usable_on_a_phone(page: Page, live: LiveSite) -> None:
    for path in ("/", "/admin", "/me", "/kiosk"):
        open_page(page, live.url + path, "zh", VIEWPORTS["phone"][0])
        expect(page.locator("meta[name=viewport]")).to_have_count(1)
        assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS["phone"][0]
    checkpoint(page, "pages-kiosk-phone")


def test_unconfigured_kiosk_says_so_and_still_offers_the_other_ways(
    page: Page, live: LiveSite
) -> None:
    page.goto(live.url + "/kiosk?lang=en")
    expect(page.locator("#not-configured")).to_be_visible()
    for button in ("#alt-pin", "#alt-otp", "#alt-card"):
        expect(page.locator(button)).to_be_visible()


def test_consent_box_is_not_ticked_by_default(page: Page, live: LiveSite) -> None:
    subject = live.store.add_subject(SITE, "Wang Wu", SubjectKind.RESIDENT, actor=OPERATOR)
    code = live.store.accounts.issue_signin_code(subject.id, actor=OPERATOR)
    page.goto(live.url + "/me")
    page.fill("#resident-signin [name=site]", SITE)
    page.fill("#resident-signin [name=code]", code)
    page.click("#resident-signin button[type=submit]")
    expect(page.locator("#self")).to_be_visible()
    expect(page.locator("#consent-check")).not_to_be_checked()
    expect(page.locator("#consent-give")).to_be_disabled()
    expect(page.locator("#me-consent")).to_have_attribute("data-state", "none")
    assert live.store.get_subject(subject.id).has_active_consent is False
