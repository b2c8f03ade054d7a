"""The server-rendered pages without a browser: language choice, headers, static files, and
the consent box that is never pre-ticked (R-02). The browser suite drives them for real."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from facegate.api.app import create_app
from facegate.api.i18n import LANGUAGE_COOKIE, STRINGS, choose_language
from facegate.api.routes.pages import CONTENT_SECURITY_POLICY, STATIC_DIR
from facegate.core.config import Settings
from facegate.gate.outcome import FailedCheck
from facegate.store import Store
from facegate.store.checks import GUARDIAN_CONSENT_AGE
from facegate.store.notices import Language

PAGES = ("/", "/admin", "/me", "/kiosk")


@pytest.mark.parametrize("path", PAGES)
def test_page_renders_in_chinese_by_default(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert '<html lang="zh-CN">' in response.text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in response.text
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert LANGUAGE_COOKIE not in response.cookies


def test_lang_query_switches_and_the_cookie_remembers(client: TestClient) -> None:
    english = client.get("/me?lang=en")
    assert '<html lang="en">' in english.text
    assert "Sign in with the code from the front desk" in english.text
    assert english.cookies[LANGUAGE_COOKIE] == "en"
    remembered = client.get("/kiosk")
    assert '<html lang="en">' in remembered.text
    assert "Other ways in" in remembered.text
    back = client.get("/kiosk?lang=zh")
    assert "其他开门方式" in back.text


def test_unknown_language_falls_back_to_chinese(client: TestClient) -> None:
    response = client.get("/admin?lang=fr")
    assert '<html lang="zh-CN">' in response.text
    assert LANGUAGE_COOKIE not in response.cookies


def test_consent_checkbox_is_not_pre_ticked(client: TestClient) -> None:
    for lang in ("zh", "en"):
        html = client.get(f"/me?lang={lang}").text
        tag = re.search(r'<input type="checkbox" id="consent-check"[^>]*>', html)
        assert tag is not None
        assert "checked" not in tag.group(0)


def test_kiosk_always_offers_the_non_face_ways(client: TestClient) -> None:
    html = client.get("/kiosk").text
    for button in ('id="alt-pin"', 'id="alt-otp"', 'id="alt-card"'):
        assert button in html


@pytest.mark.parametrize("name", ["app.css", "fg.js", "admin.js", "me.js", "kiosk.js"])
def test_static_files_are_served(client: TestClient, name: str) -> None:
    response = client.get(f"/static/{name}")
    assert response.status_code == 200
    assert len(response.content) > 100


@pytest.mark.parametrize(("lang", "index"), [("zh", 0), ("en", 1)])
def test_the_kiosk_has_words_for_every_failed_check(
    client: TestClient, lang: str, index: int
) -> None:
    """A ``liveness_failed`` answer's ``check`` is shown under its reason, in the page's
    language; the words name the check, never a score."""
    html = client.get(f"/kiosk?lang={lang}").text
    assert 'id="result-check"' in html
    for check in FailedCheck:
        words = STRINGS[f"check_{check.value}"][index]
        assert json.dumps(words)[1:-1] in html  # in the page's string table, for kiosk.js
        assert not re.search(r"\d", words)
    assert '"check_" + check' in client.get("/static/kiosk.js").text


def test_pages_are_not_in_the_openapi_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not set(PAGES) & set(paths)


def test_every_string_has_both_languages() -> None:
    for key, (zh, en) in STRINGS.items():
        assert zh.strip(), key
        assert en.strip(), key
        # Every Chinese string holds Chinese, except the link that switches to English.
        assert re.search(r"[\u4e00-\u9fff]", zh) or key == "language", key


@pytest.mark.parametrize(
    ("query", "cookie", "expected"),
    [
        (None, None, Language.ZH),
        ("en", None, Language.EN),
        (None, "en", Language.EN),
        ("zh", "en", Language.ZH),
        ("xx", "en", Language.EN),
        ("xx", "yy", Language.ZH),
    ],
)
def test_choose_language(query: str | None, cookie: str | None, expected: Language) -> None:
    assert choose_language(query, cookie) is expected


def test_pages_carry_the_servers_limits_not_copies(settings: Settings, store: Store) -> None:
    """A site that raises its upload limit sees the pages check against the new one."""
    raised = settings.model_copy(update={"max_upload_bytes": 3 * 1024 * 1024})
    with TestClient(create_app(raised, store=store)) as client:
        page = client.get("/admin").text
    found = re.search(r'<script type="application/json" id="fg-limits">(.*?)</script>', page)
    assert found is not None
    limits = json.loads(found.group(1))
    assert limits["max_upload_bytes"] == 3 * 1024 * 1024
    assert limits["guardian_consent_age"] == GUARDIAN_CONSENT_AGE
    for script in ("admin-frontdesk.js", "admin-residents.js", "admin-log.js"):
        text = (STATIC_DIR / script).read_text(encoding="utf-8")
        assert "FG.limits" in text
        assert "8 * 1024 * 1024" not in text
