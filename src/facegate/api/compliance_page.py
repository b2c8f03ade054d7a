"""The compliance report as the console shows it: in the manager's language, from the rule
results shipped with the release and the live checks of the site, as JSON or a page.

``privacy.compliance`` builds the report; this module only says it in words from
``api.words.reports`` (rule titles, statuses, the release results' state, each live check's
message with its values) and renders ``compliance.html``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from fastapi import Request
from fastapi.responses import Response

from facegate.api.i18n import LANGUAGE_COOKIE, LANGUAGE_QUERY, Words, choose_language, strings
from facegate.api.routes.pages import CONTENT_SECURITY_POLICY, page_limits, templates
from facegate.api.schemas.reports import (
    ComplianceOut,
    LiveCheckOut,
    ReleaseOut,
    RuleEntryOut,
)
from facegate.privacy.compliance import ComplianceReport, RuleEntry
from facegate.privacy.live import LiveCheck, LiveStatus
from facegate.privacy.release_results import ReleaseResults, ReleaseState
from facegate.privacy.rule_status import RuleStatus
from facegate.privacy.rules import RuleGroup, RuleId
from facegate.privacy.run_results import TestOutcome
from facegate.store.notices import Language

#: How much of a SHA-256 the page shows (the JSON has all of it).
SHORT_HASH = 16

_GROUP_KEYS = {
    RuleGroup.NOTICE_AND_CONSENT: "cr_group_notice",
    RuleGroup.ALTERNATIVES: "cr_group_alternatives",
    RuleGroup.STORAGE: "cr_group_storage",
    RuleGroup.ACCOUNTABILITY: "cr_group_accountability",
}


def request_language(request: Request) -> Language:
    """``?lang=`` if it names a language, else the ``facegate_lang`` cookie, else Chinese."""
    return choose_language(
        request.query_params.get(LANGUAGE_QUERY), request.cookies.get(LANGUAGE_COOKIE)
    )


def rule_title(rule_id: RuleId, words: Mapping[str, str]) -> str:
    return words[f"cr_rule_{rule_id.value.replace('-', '').lower()}"]


def status_word(status: RuleStatus, words: Mapping[str, str]) -> str:
    return words[f"cr_status_{status.value}"]


def live_word(status: LiveStatus | None, words: Mapping[str, str]) -> str:
    return words["cr_no_live"] if status is None else words[f"cr_live_status_{status.value}"]


#: A rule id (``R-07``) inside the English problem text.
RULE_ID = re.compile(r"\bR-\d{2}\b")


def check_text(check: LiveCheck, words: Mapping[str, str]) -> str:
    """The check's finding in the page's language."""
    return words[f"cr_live_{check.key}"].format(**check.values)


def release_text(release: ReleaseResults | None, words: Mapping[str, str]) -> str:
    if release is None:
        return words["cr_release_missing"]
    if release.state is ReleaseState.VERIFIED:
        return words["cr_release_verified"].format(sha256=(release.sha256 or "")[:SHORT_HASH])
    if release.state is ReleaseState.STALE:
        # The problem is worded in English for the CLI; the page names only the rules.
        rules = ", ".join(dict.fromkeys(RULE_ID.findall(release.problem or "")))
        return words["cr_release_stale"].format(problem=rules)
    return words[f"cr_release_{release.state.value}"]


def tests_text(entry: RuleEntry, words: Mapping[str, str]) -> str:
    if not entry.tests:
        return words["cr_no_tests"]
    passed = sum(1 for test in entry.tests if test.outcome is TestOutcome.PASSED)
    return words["cr_tests_count"].format(passed=passed, total=len(entry.tests))


def summary_text(report: ComplianceReport, words: Mapping[str, str]) -> str:
    return words["cr_summary"].format(
        total=len(report.entries),
        proven=report.count(RuleStatus.PROVEN),
        failing=report.count(RuleStatus.FAILING),
        untested=report.count(RuleStatus.UNTESTED),
    )


def tested_text(report: ComplianceReport, words: Mapping[str, str]) -> str | None:
    if report.run is None:
        return None
    return words["cr_tested_run"].format(
        finished=f"{report.run.finished_at:%Y-%m-%d %H:%M} UTC", tests=report.run.rule_tests
    )


def compliance_out(
    report: ComplianceReport, site_code: str, site_name: str, language: Language
) -> ComplianceOut:
    """The JSON form: the same content as the page, words in ``language``."""
    words = strings(language)
    english = strings(Language.EN)
    release = report.release
    return ComplianceOut(
        site=site_code,
        site_name=site_name,
        lang=language.value,
        generated_at=report.generated_at,
        facegate_version=report.facegate_version,
        git_revision=report.git_revision,
        summary=summary_text(report, words),
        release=ReleaseOut(
            state=ReleaseState.MISSING.value if release is None else release.state.value,
            text=release_text(release, words),
            sha256=None if release is None else release.sha256,
            tests_sha256=None if release is None else release.tests_sha256,
            facegate_version=None if release is None else release.facegate_version,
            git_revision=None if release is None else release.git_revision,
            frozen_at=None if release is None else release.frozen_at,
            tested=tested_text(report, words),
        ),
        entries=[
            RuleEntryOut(
                rule=e.rule.id.value,
                group=words[_GROUP_KEYS[e.rule.group]],
                title=rule_title(e.rule.id, words),
                title_en=rule_title(e.rule.id, english),
                status=e.status.value,
                status_text=status_word(e.status, words),
                status_note=e.status_note,
                tests=[test.nodeid for test in e.tests],
                tests_text=tests_text(e, words),
                live_status=None if e.live_status is None else e.live_status.value,
                live_text=live_word(e.live_status, words),
                live_note=e.live_note,
            )
            for e in report.entries
        ],
        live_checks=[
            LiveCheckOut(
                name=c.name,
                title=words[f"cr_check_{c.name}"],
                rules=[r.value for r in c.rules],
                status=c.status.value,
                status_text=live_word(c.status, words),
                text=check_text(c, words),
                explanation=c.explanation,
            )
            for c in report.live_checks
        ],
        notes=list(report.notes),
    )


def compliance_page(
    request: Request, report: ComplianceReport, site_code: str, site_name: str
) -> Response:
    """``compliance.html`` in the request's language, with the pages' security headers.
    The language is remembered by the console's pages, not by this report (an API route)."""
    language = request_language(request)
    words = strings(language)
    view = compliance_out(report, site_code, site_name, language)
    response = templates.TemplateResponse(
        request,
        "compliance.html",
        {
            "lang": language.value,
            "t": Words(words),
            "words": words,
            "limits": page_limits(request),
            "report": view,
        },
    )
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
