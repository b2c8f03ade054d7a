"""The compliance report as a property manager opens it from the console (R-33): in their
language, the release's verified test results and this community's live checks, readable on
a phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from facegate.privacy.rules import all_rules
from tests.browser.checks import Variant, checkpoint, open_page
from tests.browser.conftest import ADMIN_PASSWORD, ADMIN_USER, SITE, LiveSite

pytestmark = pytest.mark.rule("R-33")

WORDS = {
    "zh": {
        "title": "合规报告",
        "verified": "已校验",
        "live": "本小区实时检查",
        "audit": "审计日志完整性",
    },
    "en": {
        "title": "Compliance report",
        "verified": "release results verified",
        "live": "Live checks of this community",
        "audit": "Audit log integrity",
    },
}


def test_manager_opens_the_compliance_report_from_the_console(
    page: Page, live: LiveSite, variant: Variant
) -> None:
    words = WORDS[variant.lang]
    open_page(page, live.url + "/admin", variant.lang, variant.width)
    page.fill("#admin-signin [name=username]", ADMIN_USER)
    page.fill("#admin-signin [name=password]", ADMIN_PASSWORD)
    page.click("#admin-signin button[type=submit]")
    expect(page.locator("#console")).to_be_visible()
    href = page.locator("#compliance-link").get_attribute("href")
    assert href == f"/api/v1/sites/{SITE}/compliance?format=html"

    open_page(page, live.url + href, variant.lang, variant.width)
    expect(page.locator("#cr-title")).to_contain_text(words["title"])
    expect(page.locator("#cr-release")).to_contain_text(words["verified"])
    expect(page.locator("#cr-rules tbody tr")).to_have_count(len(all_rules()))
    expect(page.get_by_role("heading", name=words["live"])).to_be_visible()
    expect(page.locator('#cr-live tr[data-check="audit_chain"]')).to_contain_text(words["audit"])
    body = page.locator("main").inner_text()
    assert "make test" not in body
    assert "not a git checkout" not in body
    checkpoint(page, "reports-compliance")

    # The language switch keeps the report a page, in the other language.
    page.click("#lang-switch")
    other = "en" if variant.lang == "zh" else "zh"
    expect(page.locator("#cr-title")).to_contain_text(WORDS[other]["title"])
