"""A screenshot tour of every page, as each person first meets it, in Chinese and English at
an office monitor's width (1280 px) and a phone's (390 px): the landing page, the admin
console signed out and signed in with its compliance report, self-service signed out and
signed in with the printable export, and the kiosk (not set up, set up, its keypad open).
Each stop is a ``checkpoint``: a screenshot in ``artifacts/browser/`` and the checks every
page must pass (no console error, no program text, no English on a Chinese page, no
sideways overflow).

One browser and four tabs (signed out, administrator, resident, gate device) serve the whole
tour: the administrator and the resident sign in once, through the pages, and each variant
reuses their tabs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from facegate.api.words.layout import STRINGS as LAYOUT_WORDS
from facegate.store import SubjectKind
from tests.browser.checks import VIEWPORTS, Variant, check_now, checkpoint, open_page, watch
from tests.browser.conftest import ADMIN_PASSWORD, ADMIN_USER, SITE, LiveSite
from tests.store.helpers import OPERATOR

#: Long names: the tables and facts must wrap them, not push the page sideways.
TOUR_RESIDENTS = ("欧阳·买买提·艾力克斯·司马相如", "Alexandria Konstantinopoulou-Wellington")
LOAD_TIMEOUT_MS = 15_000
SCROLL_HINT_ZH = LAYOUT_WORDS["layout_scroll_hint"][0]


@dataclass
class Tour:
    """The tour's tabs: nobody signed in, the administrator's, the resident's, and a gate
    device's kiosk (which keeps its key in the tab)."""

    visitor: Page
    admin: Page
    resident: Page
    gate: Page

    @property
    def tabs(self) -> tuple[Page, ...]:
        return (self.visitor, self.admin, self.resident, self.gate)


def _tab(browser: Browser, context_args: dict[str, Any], contexts: list[BrowserContext]) -> Page:
    context = browser.new_context(**context_args)
    contexts.append(context)
    return context.new_page()


@pytest.fixture(scope="module")
def tour(browser: Browser, browser_context_args: dict[str, Any], live: LiveSite) -> Iterator[Tour]:
    resident, *_ = (
        live.store.add_subject(SITE, name, SubjectKind.RESIDENT, actor=OPERATOR)
        for name in TOUR_RESIDENTS
    )
    contexts: list[BrowserContext] = []
    try:
        tabs = Tour(*(_tab(browser, browser_context_args, contexts) for _ in range(4)))
        for tab in tabs.tabs:
            watch(tab)

        tabs.admin.goto(live.url + "/admin")
        tabs.admin.fill("#admin-signin [name=username]", ADMIN_USER)
        tabs.admin.fill("#admin-signin [name=password]", ADMIN_PASSWORD)
        tabs.admin.click("#admin-signin button[type=submit]")
        expect(tabs.admin.locator("#console")).to_be_visible(timeout=LOAD_TIMEOUT_MS)

        code = live.store.accounts.issue_signin_code(resident.id, actor=OPERATOR)
        tabs.resident.goto(live.url + "/me")
        tabs.resident.fill("#resident-signin [name=site]", SITE)
        tabs.resident.fill("#resident-signin [name=code]", code)
        tabs.resident.click("#resident-signin button[type=submit]")
        expect(tabs.resident.locator("#self")).to_be_visible(timeout=LOAD_TIMEOUT_MS)
        yield tabs
    finally:
        for context in contexts:
            context.close()


def visit(page: Page, live: LiveSite, path: str, variant: Variant) -> None:
    open_page(page, live.url + path, variant.lang, variant.width)
    expect(page.locator("html")).to_have_attribute(
        "lang", "zh-CN" if variant.lang == "zh" else "en"
    )


def test_every_page_at_each_width_in_each_language(
    tour: Tour, live: LiveSite, variant: Variant
) -> None:
    for tab in tour.tabs:
        watch(tab)
    visitor = tour.visitor

    visit(visitor, live, "/", variant)
    expect(visitor.locator(".biglinks a")).to_have_count(3)
    checkpoint(visitor, "tour-home")

    visit(visitor, live, "/admin", variant)
    expect(visitor.locator("#signin")).to_be_visible()
    checkpoint(visitor, "tour-admin-signed-out")

    visit(visitor, live, "/me", variant)
    expect(visitor.locator("#signin")).to_be_visible()
    checkpoint(visitor, "tour-me-signed-out")

    visit(visitor, live, "/kiosk", variant)
    expect(visitor.locator("#not-configured")).to_be_visible()
    checkpoint(visitor, "tour-kiosk-not-configured")

    # The gate device's own link. Only its fragment may differ from the tab's address, which
    # would not load the page again.
    gate = tour.gate
    gate.goto("about:blank")
    open_page(gate, live.kiosk_url(), variant.lang, variant.width)
    expect(gate.locator("#alternatives")).to_be_visible()
    expect(gate.locator("#not-configured")).to_be_hidden()
    checkpoint(gate, "tour-kiosk")
    gate.click("#alt-pin")
    expect(gate.locator("#keypad")).to_be_visible()
    checkpoint(gate, "tour-kiosk-keypad")

    admin = tour.admin
    visit(admin, live, "/admin", variant)
    expect(admin.locator("#console")).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    expect(admin.locator("#site-name")).to_have_text("Sunny Garden")
    expect(admin.locator("#residents tbody tr").first).to_be_visible()
    checkpoint(admin, "tour-admin")
    # The compliance report the console links to, in the manager's language.
    visit(admin, live, f"/api/v1/sites/{SITE}/compliance?format=html", variant)
    expect(admin.locator("#cr-title")).to_be_visible()
    checkpoint(admin, "tour-compliance")

    resident = tour.resident
    visit(resident, live, "/me", variant)
    expect(resident.locator("#self")).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    expect(resident.locator("#me-name")).to_have_text(TOUR_RESIDENTS[0])
    expect(resident.locator("#notice-zh dd").first).not_to_be_empty()
    checkpoint(resident, "tour-me")
    # The export as a page a resident can read and print.
    visit(resident, live, "/me/export", variant)
    expect(resident.locator("#export-body")).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    checkpoint(resident, "tour-me-export")


def test_a_table_wider_than_the_phone_says_it_scrolls_sideways(page: Page, live: LiveSite) -> None:
    open_page(page, live.url + "/", "zh", VIEWPORTS["phone"][0])
    # A table added by a script after the page loaded, as the console's are.
    page.evaluate(
        """() => {
          const box = document.createElement("div");
          box.className = "scroll";
          box.id = "wide-box";
          const table = document.createElement("table");
          table.style.width = "900px";
          table.innerHTML = "<tr><td>很宽的表格</td></tr>";
          box.append(table);
          document.querySelector("main").append(box);
        }"""
    )
    hint = page.locator("#wide-box").locator("xpath=preceding-sibling::p[1]")
    expect(hint).to_have_text(SCROLL_HINT_ZH)
    expect(hint).to_have_class("scroll-hint")
    expect(hint).to_be_visible()
    check_now(page)  # the table scrolls in its box: the page itself is not wider
    page.set_viewport_size({"width": VIEWPORTS["desktop"][0], "height": VIEWPORTS["desktop"][1]})
    page.evaluate('document.querySelector("#wide-box table").style.width = "600px"')
    expect(hint).to_be_hidden()
