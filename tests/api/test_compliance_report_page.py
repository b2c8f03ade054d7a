"""The compliance report the console opens (R-33): the release's shipped rule-test results
(hash-checked) and live checks of the site, in the manager's language, as JSON or a page."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from facegate.api.compliance_page import release_text
from facegate.api.i18n import LANGUAGE_COOKIE, STRINGS, strings
from facegate.privacy.release_results import (
    RELEASE_RESULTS_ENV,
    RELEASE_RESULTS_PATH,
    ReleaseResults,
    ReleaseState,
)
from facegate.privacy.rules import all_rules
from facegate.store import Store
from facegate.store.accounts import Role
from facegate.store.notices import Language
from tests.api.conftest import ADMIN_PASSWORD, SITE, Setup
from tests.api.signin import API, admin_token, bearer
from tests.store.helpers import OPERATOR

pytestmark = pytest.mark.rule("R-33")

REPORT = f"{API}/sites/{SITE}/compliance"
SITE_NAME = "Sunny Garden"
AUDITOR = f"auditor@{SITE}"
#: What a report of a deployed site must never say: it has no test run and no checkout.
DEVELOPER_WORDING = ("make test", "not a git checkout", "Run `")
_CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def admin(client: TestClient, setup: Setup) -> dict[str, str]:
    return bearer(admin_token(client, setup.admin_user))


def _packaged() -> dict[str, Any]:
    content: dict[str, Any] = json.loads(RELEASE_RESULTS_PATH.read_text(encoding="utf-8"))
    return content


def _report(client: TestClient, headers: dict[str, str], **params: str) -> dict[str, Any]:
    response = client.get(REPORT, headers=headers, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_chinese_report_has_chinese_titles_live_checks_and_verified_release(
    client: TestClient, admin: dict[str, str]
) -> None:
    report = _report(client, admin)
    assert report["lang"] == "zh"
    assert report["site_name"] == SITE_NAME
    assert [e["rule"] for e in report["entries"]] == [r.id.value for r in all_rules()]
    titles = {e["rule"]: e["title"] for e in report["entries"]}
    assert titles["R-10"] == "每个大门都有不用人脸的方式"
    assert all(_CJK.search(title) for title in titles.values())
    assert {e["title_en"] for e in report["entries"]} == {r.title for r in all_rules()}
    # The shipped results verify and prove every rule; no test ran on this machine.
    assert report["release"]["state"] == "verified"
    assert report["release"]["sha256"] == _packaged()["sha256"]
    assert report["release"]["text"].startswith("已校验")
    assert {e["status"] for e in report["entries"]} == {"proven"}
    assert all(e["tests"] for e in report["entries"])
    # Live checks of this site, said in Chinese.
    checks = {c["name"]: c for c in report["live_checks"]}
    assert {"notice", "gates", "audit_chain", "key_separation", "retention_run"} <= set(checks)
    assert checks["audit_chain"]["status"] == "ok"
    assert checks["audit_chain"]["text"].startswith("审计链校验通过")
    assert (
        checks["gates"]["text"]
        == "全部 1 个大门都可用门禁卡、密码或一次性验证码开门（其中 1 个也可刷脸）"
    )
    assert all(_CJK.search(c["text"]) for c in checks.values())
    assert not any(word in json.dumps(report) for word in DEVELOPER_WORDING)


def test_english_report_follows_the_query_or_the_cookie(
    client: TestClient, admin: dict[str, str]
) -> None:
    by_query = _report(client, admin, lang="en")
    client.cookies.set(LANGUAGE_COOKIE, "en")
    by_cookie = _report(client, admin)
    for report in (by_query, by_cookie):
        assert report["lang"] == "en"
        assert [e["title"] for e in report["entries"]] == [r.title for r in all_rules()]
        assert report["release"]["text"].startswith("release results verified")
        checks = {c["name"]: c for c in report["live_checks"]}
        assert checks["gates"]["text"] == (
            "all 1 gates accept a card, PIN or one-time code (1 also the face)"
        )
        assert checks["retention_run"]["status"] == "not_configured"
        assert not _CJK.search(checks["retention_run"]["text"])


def test_retention_check_reports_the_last_run(client: TestClient, admin: dict[str, str]) -> None:
    assert client.post(f"{API}/sites/{SITE}/retention/run", headers=admin).status_code == 200
    checks = {c["name"]: c for c in _report(client, admin, lang="en")["live_checks"]}
    assert checks["retention_run"]["status"] == "ok"
    assert checks["retention_run"]["text"].startswith("the retention job last ran ")


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("zh", ["合规报告 · Sunny Garden", "已校验", "本小区实时检查", "审计日志完整性", "已证明"]),
        ("en", ["Compliance report · Sunny Garden", "release results verified", "PROVEN"]),
    ],
)
def test_report_page_in_each_language(
    client: TestClient, admin: dict[str, str], lang: str, expected: list[str]
) -> None:
    response = client.get(REPORT, headers=admin, params={"format": "html", "lang": lang})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    page = response.text
    for words in expected:
        assert words in page
    for rule in all_rules():
        assert f'data-rule="{rule.id.value}"' in page
    assert _packaged()["sha256"][:16] in page
    # The language switch keeps the page a page.
    assert f"?format=html&amp;lang={'en' if lang == 'zh' else 'zh'}" in page
    assert not any(word in page for word in DEVELOPER_WORDING)


def test_an_altered_results_file_is_reported_and_not_trusted(
    client: TestClient,
    admin: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    content = _packaged()
    # Someone marks a rule's results without rerunning the tests, keeping the old hash.
    content["run"]["tests"][0]["outcome"] = "failed"
    altered = tmp_path / "release-rule-results.json"
    altered.write_text(json.dumps(content), encoding="utf-8")
    monkeypatch.setenv(RELEASE_RESULTS_ENV, str(altered))
    report = _report(client, admin, lang="en")
    assert report["release"]["state"] == "altered"
    assert report["release"]["text"].startswith("results file altered")
    assert {e["status"] for e in report["entries"]} == {"untested"}
    assert report["live_checks"], "the live checks do not depend on the results file"
    zh_page = client.get(REPORT, headers=admin, params={"format": "html", "lang": "zh"}).text
    assert "测试结果文件已被改动" in zh_page
    assert "已校验" not in zh_page


def test_an_auditor_reads_the_report(client: TestClient, store: Store, setup: Setup) -> None:
    store.accounts.create_admin(SITE, AUDITOR, ADMIN_PASSWORD, actor=OPERATOR, role=Role.AUDITOR)
    report = _report(client, bearer(admin_token(client, AUDITOR)))
    assert report["release"]["state"] == "verified"


def test_every_live_message_has_both_languages_with_the_same_values() -> None:
    def fields(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    live = {key: pair for key, pair in STRINGS.items() if key.startswith("cr_live_")}
    assert len(live) > 20
    for key, (zh, en) in live.items():
        assert fields(zh) == fields(en), key


def test_english_rule_titles_are_the_catalogues() -> None:
    for rule in all_rules():
        key = f"cr_rule_{rule.id.value.replace('-', '').lower()}"
        assert STRINGS[key][1] == rule.title, key


def test_stale_results_name_the_rules_in_the_pages_language() -> None:
    """The staleness problem is English for the CLI; a Chinese page gets only rule ids."""
    stale = ReleaseResults(
        state=ReleaseState.STALE,
        run=None,
        facegate_version=None,
        git_revision=None,
        frozen_at=None,
        sha256=None,
        tests_sha256=None,
        problem="rules missing: R-07; titles changed: R-12, R-07",
    )
    text = release_text(stale, strings(Language.ZH))
    assert "R-07, R-12" in text
    assert "missing" not in text
    assert "changed" not in text
