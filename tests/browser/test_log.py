"""The manager's access log, live feed, remote opening, audit check in words and notice
form, at 1280 and 390 px in Chinese and English, as an administrator uses them."""

from __future__ import annotations

import itertools
import json
import re
from datetime import date, timedelta

import httpx
from playwright.sync_api import Page, expect

from facegate.store import SubjectKind
from tests.browser.checks import Variant, checkpoint, open_page
from tests.browser.conftest import ADMIN_PASSWORD, ADMIN_USER, GATE, SITE, LiveSite
from tests.store.helpers import OPERATOR

#: Card numbers unique across the session's variants (the live site is shared).
_CARDS = itertools.count(1)
#: Words each language shows (the page's words, not the API's).
WORDS = {
    "zh": {
        "card": "门禁卡",
        "opened": "已开门",
        "unknown": "未知人员",
        "remote": "远程开门",
        "why": "快递或外卖",
        "audit": "审计链完整",
        "retention": "数据保留清理已完成",
        "live_on": "实时显示中",
        "open_gate": "远程开门",
        "required": "必填",
    },
    "en": {
        "card": "Card",
        "opened": "Opened",
        "unknown": "Unknown person",
        "remote": "Remote opening",
        "why": "A delivery",
        "audit": "chain intact",
        "retention": "Retention run done",
        "live_on": "Live: new decisions",
        "open_gate": "Open remotely",
        "required": "Required",
    },
}


def _sign_in(page: Page, live: LiveSite, variant: Variant) -> None:
    open_page(page, live.url + "/admin", variant.lang, variant.width)
    page.fill("#admin-signin [name=username]", ADMIN_USER)
    page.fill("#admin-signin [name=password]", ADMIN_PASSWORD)
    page.click("#admin-signin button[type=submit]")
    expect(page.locator("#console")).to_be_visible()


def _card_decision(live: LiveSite, card: str) -> None:
    response = httpx.post(
        f"{live.url}/api/v1/decisions",
        data={"gate": GATE, "kind": "card", "secret": card},
        headers={"Authorization": f"Bearer {live.device_key}"},
    )
    assert response.status_code == 200, response.text


def test_the_log_the_live_feed_and_a_remote_opening(
    page: Page, live: LiveSite, variant: Variant
) -> None:
    words = WORDS[variant.lang]
    n = next(_CARDS)
    name = {"zh": "李秀英", "en": "Li Xiuying"}[variant.lang] + f" {n}"
    card = f"LOG{n:06d}"
    subject = live.store.add_subject(SITE, name, SubjectKind.RESIDENT, actor=OPERATOR)
    live.store.credentials.issue_card(subject.id, card, actor=OPERATOR)
    _card_decision(live, card)
    _sign_in(page, live, variant)

    # The log: names, the kind and outcome in words; a search finds the resident.
    page.fill("#log-filter [name=person]", name)
    page.click("#log-filter button[type=submit]")
    first = page.locator("#decisions tbody tr").first
    expect(first).to_contain_text(name)
    expect(first).to_contain_text("Main gate")
    expect(first).to_contain_text("Kiosk 1")
    expect(first).to_contain_text(words["card"])
    expect(first).to_contain_text(words["opened"])
    expect(page.locator("#decisions")).not_to_contain_text("card,")
    checkpoint(page, "log-search")

    # The CSV for a date range: downloaded in the page's words, with a byte order mark.
    today = date.today()
    page.fill("#log-filter [name=from]", (today - timedelta(days=1)).isoformat())
    page.fill("#log-filter [name=to]", (today + timedelta(days=1)).isoformat())
    with page.expect_download() as download:
        page.click("#log-export")
    path = download.value.path()
    data = path.read_bytes()
    assert data.startswith("\ufeff".encode())
    assert name in data.decode("utf-8")
    assert words["card"] in data.decode("utf-8")

    # The live feed prepends a card decision made at the gate, with the person's name.
    page.click("#log-reset")
    page.click("#live-toggle")
    expect(page.locator("#live-status")).to_contain_text(words["live_on"])
    _card_decision(live, card)
    newest = page.locator("#decisions tbody tr.log-new").first
    expect(newest).to_contain_text(name)
    checkpoint(page, "log-live")

    # Opening the gate remotely: a reason is required; the opening shows in the feed.
    page.locator(f'#gates tr[data-gate="{GATE}"]').get_by_role(
        "button", name=words["open_gate"]
    ).click()
    expect(page.locator("#open-dialog")).to_be_visible()
    page.click("#open-form button[type=submit]")  # no reason chosen
    expect(page.locator("#open-message")).not_to_be_empty()
    checkpoint(page, "log-remote-open")
    page.select_option("#open-form [name=why]", "delivery")
    page.click("#open-form button[type=submit]")
    expect(page.locator("#open-dialog")).to_be_hidden()
    remote = page.locator('#decisions tbody tr[data-kind="remote"]').first
    expect(remote).to_contain_text(words["remote"])
    expect(remote).to_contain_text(words["why"])
    page.click("#live-toggle")

    # The audit check in words.
    page.click("#verify-audit")
    expect(page.locator("#audit-result")).to_contain_text(words["audit"])
    expect(page.locator("#audit-result")).to_have_text(re.compile(r"\d"))
    page.click("#run-retention")
    expect(page.locator("#retention-result")).to_contain_text(words["retention"])
    checkpoint(page, "log-audit")


def test_the_notice_form_and_the_device_gate_picker(
    page: Page, live: LiveSite, variant: Variant
) -> None:
    words = WORDS[variant.lang]
    _sign_in(page, live, variant)
    current = live.store.notices.current(SITE)
    form = page.locator("#notice-form")
    texts = json.loads(current.content.to_json())["texts"]
    expect(form.locator("[name=text_zh_purpose]")).to_have_value(texts["zh"]["purpose"])
    expect(form.locator("[name=text_en_contact]")).to_have_value(texts["en"]["contact"])
    expect(form.locator("[name=retention_days]")).to_have_value(str(current.content.retention_days))
    assert form.locator("[name=version]").input_value() != current.version
    form.locator("[name=text_zh_contact]").fill("")
    form.locator("button[type=submit]").click()
    expect(page.locator('[data-error-for="text_zh_contact"]')).to_have_text(words["required"])
    checkpoint(page, "log-notice")
    assert live.store.notices.current(SITE).version == current.version

    # The device form picks from the site's gates (ticked already when there is only one);
    # other tests may have added gates, so tick it, then send the form with none ticked.
    picker = page.locator(f'#device-gates input[value="{GATE}"]')
    picker.check()
    picker.uncheck()
    page.fill("#add-device [name=name]", "Spare kiosk")
    page.click("#add-device button[type=submit]")
    expect(page.locator("#device-message")).not_to_be_empty()
    expect(page.locator("#device-output")).to_be_hidden()
