"""The residents section as a property manager uses it: register an adult with their home,
then a child with that adult as guardian (and the guardian's consent); search; check a bad
CSV (every bad line named, in the page's language, nothing imported); export the list; hand
over a printable sign-in slip; and see a moved-out resident without the face buttons.

Each variant (zh/en at 1280 and 390 px) gets a site of its own."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from playwright.sync_api import FilePayload, Locator, Page, expect

from facegate.api.i18n import strings
from facegate.store.notices import Language
from tests.browser.checks import Variant, checkpoint, open_page
from tests.browser.conftest import ADMIN_PASSWORD, LiveSite
from tests.store.helpers import OPERATOR, ready_site

CHILD_BORN = (date.today() - timedelta(days=365 * 6)).isoformat()
GUARDIAN_BORN = "1985-03-01"
NAMES = {
    "zh": ("王建国", "王小明", "李四"),
    "en": ("Wang Jianguo", "Wang Xiaoming", "Li Si"),
}


def _bad_csv(adult: str) -> FilePayload:
    text = (
        "name,kind,building,unit,household\n"
        f"{adult} 2,resident,8,2,802\n"  # line 2: fine
        "张三,martian,8,2,803\n"  # 3: bad kind
        ",resident,8,2,804\n"  # 4: no name
        f"{adult} 2,resident,8,2,802\n"  # 5: same as line 2
    )
    return {"name": "residents.csv", "mimeType": "text/csv", "buffer": text.encode("utf-8")}


def _good_csv(name: str) -> FilePayload:
    text = f"name,building,unit,household\r\n{name} A,9,1,901\r\n{name} B,9,1,902\r\n"
    return {"name": "good.csv", "mimeType": "text/csv", "buffer": ("\ufeff" + text).encode()}


def _cell_right_edge(locator: Locator) -> float:
    box = locator.bounding_box()
    assert box is not None
    return box["x"] + box["width"]


@pytest.mark.rule("R-04")
def test_register_search_import_export_and_move_out(
    page: Page, live: LiveSite, variant: Variant
) -> None:
    words = strings(Language(variant.lang))
    adult, child, other = NAMES[variant.lang]
    site = f"residents-{variant}"
    ready_site(live.store, site, f"Residents {variant}")
    username = f"admin@{site}"
    live.store.accounts.create_admin(site, username, ADMIN_PASSWORD, actor=OPERATOR)
    open_page(page, live.url + "/admin", variant.lang, variant.width)
    page.fill("#admin-signin [name=username]", username)
    page.fill("#admin-signin [name=password]", ADMIN_PASSWORD)
    page.click("#admin-signin button[type=submit]")
    section = page.locator("#residents-section")
    expect(section).to_be_visible()
    expect(page.locator("#residents-count")).to_have_text(words["res_none_found"])

    # An adult with building, unit and household.
    form = page.locator("#add-resident")
    form.locator("[name=name]").fill(adult)
    form.locator("[name=building]").fill("8")
    form.locator("[name=unit]").fill("2")
    form.locator("[name=household]").fill("801")
    form.locator("button[type=submit]").click()
    row = page.locator(f'#residents tr[data-name="{adult}"]')
    expect(row).to_have_count(1)
    expect(row).to_contain_text("801")
    expect(page.locator("#add-resident-message")).to_contain_text(adult)

    # A child: the birth date shows the guardian's fields; the adult is offered as guardian.
    expect(page.locator("#guardian-fields")).to_be_hidden()
    form.locator("[name=name]").fill(child)
    form.locator("[name=born]").fill(CHILD_BORN)
    expect(page.locator("#guardian-fields")).to_be_visible()
    form.locator("[name=guardian_name]").fill(adult[:2])
    expect(page.locator(f'#guardian-options option[value="{adult}"]')).to_have_count(1)
    form.locator("[name=guardian_name]").fill(adult)
    form.locator("[name=relation]").select_option("parent")
    form.locator("[name=guardian_born]").fill(GUARDIAN_BORN)
    form.locator("[name=evidence]").fill("scan:guardian-1")
    checkpoint(page, "residents-child-form")
    form.locator("button[type=submit]").click()
    expect(page.locator("#add-resident-message")).to_have_text(
        words["res_child_registered"] + " · " + child
    )
    child_row = page.locator(f'#residents tr[data-name="{child}"]')
    expect(child_row).to_contain_text(words["res_child"])
    expect(child_row).to_contain_text(words["consent_given"])
    child_id = child_row.get_attribute("data-subject-id")
    assert child_id is not None
    guardians = live.store.consents.guardians(child_id)
    assert [g.display_name for g in guardians] == [adult]
    assert live.store.get_subject(child_id).has_active_consent
    # A later paper consent offers the recorded guardian instead of recording them again.
    child_row.get_by_role("button", name=words["paper_consent"]).click()
    choice = page.locator("#consent-form [name=guardian_id]")
    expect(choice).to_be_visible()
    expect(choice.locator("option").first).to_have_text(
        adult + " · " + words["res_relation_parent"]
    )
    expect(page.locator("#consent-guardian-new")).to_be_hidden()

    # Search by name: one match; every action of the row is on screen, even at 390 px.
    page.fill("#resident-search [name=q]", child)
    page.click("#resident-search button[type=submit]")
    expect(page.locator("#residents tbody tr")).to_have_count(1)
    last_button = child_row.locator("button").last
    expect(last_button).to_be_visible()
    assert _cell_right_edge(last_button) <= variant.width
    checkpoint(page, "residents-search")

    # A bad file, checked: each bad line is named in the page's words; nothing is imported.
    page.locator("#import-form [name=file]").set_input_files(_bad_csv(adult))
    page.click("#import-check")
    problems = page.locator("#import-problems tbody tr")
    expect(problems).to_have_count(3)
    expect(page.locator('#import-problems tr[data-line="3"]')).to_contain_text(
        words["import_reason_bad_kind"]
    )
    expect(page.locator('#import-problems tr[data-line="4"]')).to_contain_text(
        words["import_reason_required"]
    )
    expect(page.locator('#import-problems tr[data-line="5"]')).to_contain_text(
        words["res_import_same_as"].replace("{line}", "2")
    )
    expect(page.locator("#import-message")).to_have_text(
        words["res_import_bad"].replace("{count}", "3")
    )
    checkpoint(page, "residents-import-bad")
    assert len(live.store.list_subjects(site)) == 2
    # Importing it for real is refused the same way, all or nothing.
    page.click("#import-run")
    expect(page.locator("#import-message")).to_have_text(
        words["res_import_bad"].replace("{count}", "3")
    )
    expect(problems).to_have_count(3)
    assert len(live.store.list_subjects(site)) == 2
    # A good file is imported in one go, and the list shows it.
    page.locator("#import-form [name=file]").set_input_files(_good_csv(other))
    page.click("#import-check")
    expect(page.locator("#import-message")).to_have_text(
        words["res_import_ok"].replace("{rows}", "2")
    )
    page.click("#import-run")
    expect(page.locator("#import-message")).to_have_text(
        words["res_import_done"].replace("{count}", "2")
    )
    expect(page.locator("#import-problems")).to_be_hidden()
    assert len(live.store.list_subjects(site)) == 4

    # The list as CSV for Excel: UTF-8 with a byte-order mark, both people in it.
    with page.expect_download() as download_info:
        page.click("#residents-export")
    data = download_info.value.path().read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    exported = {r["name"]: r for r in csv.DictReader(io.StringIO(data.decode("utf-8-sig")))}
    assert set(exported) == {adult, child, f"{other} A", f"{other} B"}
    assert exported[adult]["household"] == "801"
    assert exported[child]["child_until"] != ""

    # The sign-in slip names the community code and the address /me asks for.
    page.fill("#resident-search [name=q]", "")
    page.click("#resident-search button[type=submit]")
    row.get_by_role("button", name=words["issue_signin_code"]).click()
    slip = page.locator("#secret-output")
    expect(slip).to_be_visible()
    expect(page.locator("#slip-site")).to_have_text(site)
    expect(page.locator("#slip-address")).to_have_text(live.url + "/me")
    assert page.locator("#secret-value").inner_text().strip().isdigit()
    expect(page.locator("#slip-print")).to_be_visible()
    checkpoint(page, "residents-slip")

    # Moved out: the dates, no consent shown as given, no credential or consent buttons.
    moved = live.store.add_subject(site, other, "resident", actor=OPERATOR)
    live.store.retention.record_move_out(moved.id, actor=OPERATOR)
    page.select_option("#resident-search [name=status]", "moved_out")
    page.click("#resident-search button[type=submit]")
    moved_row = page.locator(f'#residents tr[data-subject-id="{moved.id}"]')
    expect(page.locator("#residents tbody tr")).to_have_count(1)
    expect(moved_row).to_contain_text(words["res_consent_ended"])
    expect(moved_row.get_by_role("button", name=words["issue_signin_code"])).to_have_count(0)
    expect(moved_row.get_by_role("button", name=words["paper_consent"])).to_have_count(0)
    expect(moved_row.get_by_role("button", name=words["delete_subject"])).to_be_visible()
    expect(moved_row.get_by_role("button", name=words["res_export_one"])).to_be_visible()
    checkpoint(page, "residents-moved-out")
