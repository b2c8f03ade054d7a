"""The admin console's tools: credentials, audit verification, retention, decisions, the
compliance report and the notice editor, each through the page against the live API."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Page, expect

from facegate.store import SubjectKind, SubjectStatus
from tests.browser.conftest import ADMIN_PASSWORD, ADMIN_USER, SITE, LiveSite
from tests.store.helpers import OPERATOR

CARD = "04A1B2C3D4"


def sign_in_admin(page: Page, live: LiveSite) -> None:
    page.goto(live.url + "/admin?lang=en")
    page.fill("#admin-signin [name=username]", ADMIN_USER)
    page.fill("#admin-signin [name=password]", ADMIN_PASSWORD)
    page.click("#admin-signin button[type=submit]")
    expect(page.locator("#console")).to_be_visible()


def test_admin_issues_a_pin_a_card_and_a_one_time_code(page: Page, live: LiveSite) -> None:
    subject = live.store.add_subject(SITE, "Zhao Liu", SubjectKind.RESIDENT, actor=OPERATOR)
    sign_in_admin(page, live)
    row = page.locator(f'#residents tr[data-subject-id="{subject.id}"]')
    expect(row).to_contain_text("Active")

    row.get_by_role("button", name="Set PIN").click()
    page.fill("#credential-form [name=secret]", "730415")
    page.click("#credential-form button[type=submit]")
    expect(page.locator("#residents-message")).to_have_text("Done: Set PIN · Zhao Liu")
    row.get_by_role("button", name="Register card").click()
    page.fill("#credential-form [name=secret]", CARD)
    page.click("#credential-form button[type=submit]")
    expect(page.locator("#residents-message")).to_have_text("Done: Register card · Zhao Liu")
    row.get_by_role("button", name="Issue one-time code").click()
    expect(page.locator("#secret-label")).to_have_text("One-time code")
    assert page.locator("#secret-value").inner_text().isdigit()

    kinds = sorted(c.kind.value for c in live.store.credentials.list_for_subject(subject.id))
    assert kinds == ["card", "otp", "pin"]


def test_admin_verifies_the_audit_runs_retention_and_opens_the_report(
    page: Page, live: LiveSite, artifacts: Path
) -> None:
    sign_in_admin(page, live)
    page.click("#verify-audit")
    expect(page.locator("#audit-result")).to_contain_text("events checked, chain intact")
    page.click("#run-retention")
    expect(page.locator("#retention-result")).to_contain_text("Retention run done:")
    page.click("#log-filter button[type=submit]")
    expect(page.locator("#log-message")).to_have_text("")

    href = page.locator("#compliance-link").get_attribute("href")
    assert href == f"/api/v1/sites/{SITE}/compliance?format=html"
    report = page.request.get(live.url + href)
    assert report.status == 200
    assert "R-02" in report.text()
    page.screenshot(path=artifacts / "admin-tools-en.png", full_page=True)


def test_admin_publishes_a_notice_version_from_the_editor(page: Page, live: LiveSite) -> None:
    sign_in_admin(page, live)
    current = live.store.notices.current(SITE)
    expect(page.locator("#notice-current")).to_have_text(current.version)
    prefilled = json.loads(current.content.to_json())
    contact = page.locator("#notice-form [name=text_en_contact]")
    expect(contact).to_have_value(prefilled["texts"]["en"]["contact"])

    # An emptied field is named in words next to it; nothing is published.
    contact.fill("")
    page.fill("#notice-form [name=version]", "2026-2")
    page.click("#notice-form button[type=submit]")
    expect(page.locator('[data-error-for="text_en_contact"]')).to_have_text("Required")
    expect(page.locator("#notice-message")).to_have_text("Fix the items marked in red first.")

    contact.fill("front desk, room 101")
    page.click("#notice-form button[type=submit]")
    expect(page.locator("#notice-current")).to_have_text("2026-2")
    published = live.store.notices.current(SITE)
    assert published.version == "2026-2"
    assert (
        json.loads(published.content.to_json())["texts"]["en"]["contact"] == "front desk, room 101"
    )


def test_admin_deletes_a_resident_with_a_receipt_and_a_face_only_gate_is_refused(
    page: Page, live: LiveSite, artifacts: Path
) -> None:
    subject = live.store.add_subject(SITE, "Qian Qi", SubjectKind.RESIDENT, actor=OPERATOR)
    live.store.credentials.set_pin(subject.id, "581374", OPERATOR)
    sign_in_admin(page, live)
    row = page.locator(f'#residents tr[data-subject-id="{subject.id}"]')

    # Dismissing the confirmation deletes nothing.
    page.once("dialog", lambda dialog: dialog.dismiss())
    row.get_by_role("button", name="Delete").click()
    expect(page.locator("#receipt-output")).to_be_hidden()
    assert live.store.get_subject(subject.id).status is SubjectStatus.ACTIVE

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Delete").click()
    expect(page.locator("#receipt-output")).to_be_visible()
    expect(page.locator("#receipt-for")).to_have_text("Qian Qi")
    expect(page.locator("#receipt-reason")).to_have_text("deletion on request")
    expect(page.locator("#receipt-templates")).to_have_text("0")
    expect(page.locator("#receipt-credentials")).to_have_text("1")
    assert page.locator("#receipt-keys").inner_text().isdigit()
    expect(row).to_have_count(0)
    assert live.store.get_subject(subject.id).status is SubjectStatus.DELETED

    page.locator('#gates tr[data-gate="main"]').get_by_role("button", name="Edit").click()
    for kind in ("card", "pin", "otp"):
        page.uncheck(f"#gate-form [name=accepts_{kind}]")
    page.check("#gate-form [name=accepts_face]")
    page.click("#gate-form button[type=submit]")
    expect(page.locator("#gate-message")).to_contain_text("one way in without the face")
    gate = next(g for g in live.store.gates.list(SITE) if g.code == "main")
    assert (gate.accepts_card, gate.accepts_pin, gate.accepts_otp) == (True, True, True)
    page.screenshot(path=artifacts / "admin-delete-receipt-en.png", full_page=True)

    # The liveness level is the gate's to choose; set it, then put it back for the journey.
    levels = (
        ("passive_active", "Passive + challenge (recommended for unattended gates)"),
        ("passive", "Passive (one frame)"),
    )
    for level, shown in levels:
        page.locator('#gates tr[data-gate="main"]').get_by_role("button", name="Edit").click()
        for kind in ("card", "pin", "otp"):
            page.check(f"#gate-form [name=accepts_{kind}]")
        page.select_option("#gate-form [name=liveness]", level)
        page.click("#gate-form button[type=submit]")
        expect(page.locator('#gates tr[data-gate="main"] td').nth(3)).to_have_text(shown)
        gate = next(g for g in live.store.gates.list(SITE) if g.code == "main")
        assert gate.liveness.value == level
