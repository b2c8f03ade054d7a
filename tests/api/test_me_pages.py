"""The resident's pages as served: the PIN rule from the start, the checklist, the visitor
pass form, the printable export page in both languages, the schedule editor's section."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from facegate.api.i18n import strings
from facegate.store.notices import Language


@pytest.mark.parametrize("language", list(Language))
def test_self_service_shows_the_pin_rule_and_the_steps(
    client: TestClient, language: Language
) -> None:
    page = client.get(f"/me?lang={language.value}")
    assert page.status_code == 200
    words = strings(language)
    for key in ("me_pin_rule", "me_step_notice", "me_step_face", "pass_title", "pass_share_hint"):
        assert words[key] in page.text, key
    assert 'id="confirm"' in page.text
    assert "me-passes.js" in page.text


@pytest.mark.parametrize("language", list(Language))
def test_the_printable_export_page_is_in_the_pages_language(
    client: TestClient, language: Language
) -> None:
    page = client.get(f"/me/export?lang={language.value}")
    assert page.status_code == 200
    words = strings(language)
    for key in ("exp_title", "exp_print", "exp_consents", "exp_credentials", "exp_decisions"):
        assert words[key] in page.text, key
    other = strings(Language.EN if language is Language.ZH else Language.ZH)
    assert other["exp_consents"] not in page.text
    # A page holds no one's data: the script reads the export API under the resident's role.
    assert "me-export.js" in page.text
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")


def test_the_console_has_the_schedule_editor_for_administrators(client: TestClient) -> None:
    page = client.get("/admin?lang=en")
    assert 'id="schedules" data-roles="admin"' in page.text
    assert "admin-schedules.js" in page.text


def test_every_word_of_this_part_has_both_languages() -> None:
    from facegate.api.words import me

    for key, (zh, en) in me.STRINGS.items():
        assert zh.strip(), key
        assert en.strip(), key
        assert zh != en or key.startswith("sched_day"), key
