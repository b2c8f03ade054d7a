"""The compliance report (R-33): every rule, the tests that prove it, and the live site.

``build_report`` joins the rule catalogue (``privacy.rules``), a test run's rule results
(the last local run, ``privacy.run_results``, or the release's shipped and hashed results,
``privacy.release_results``) and the live checks of one site (``privacy.live``) into a
``ComplianceReport``; ``render_markdown`` and ``render_html`` write it out in English (the
console's localized page is ``api.compliance_page``). A rule's status is
``privacy.rule_status``'s.
"""

from __future__ import annotations

import html
import logging
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from facegate import __version__
from facegate.privacy.live import LiveCheck, LiveReport, LiveStatus, worst_status
from facegate.privacy.release_results import FREEZE_COMMAND, ReleaseResults, ReleaseState
from facegate.privacy.rule_status import RuleStatus, rule_status
from facegate.privacy.rules import Rule, all_rules
from facegate.privacy.run_results import RuleRun, TestOutcome, TestResult, write_text_atomic
from facegate.store.schema import utcnow

logger = logging.getLogger(__name__)

DEFAULT_REPORT_DIR = Path("artifacts/compliance")
MARKDOWN_NAME = "compliance-report.md"
HTML_NAME = "compliance-report.html"
#: What to run to record rule results.
RUN_TESTS_COMMAND = "make test"
_GIT_TIMEOUT_S = 5


__all__ = ["RuleStatus", "build_report", "render_html", "render_markdown", "rule_status"]


@dataclass(frozen=True, slots=True)
class RunInfo:
    """The test run the results come from (its tests are listed per rule)."""

    results_path: str
    started_at: datetime
    finished_at: datetime
    exit_status: int
    pytest_args: tuple[str, ...]
    rule_tests: int


@dataclass(frozen=True, slots=True)
class RuleEntry:
    """One rule's row of the report."""

    rule: Rule
    status: RuleStatus
    #: Why the status is what it is, in one line.
    status_note: str
    tests: tuple[TestResult, ...]
    #: The worst of the live checks bearing on this rule; None when none does.
    live_status: LiveStatus | None
    live_checks: tuple[LiveCheck, ...]
    #: What the live checks found, or why the rule has no live check.
    live_note: str


@dataclass(frozen=True, slots=True)
class ComplianceReport:
    generated_at: datetime
    facegate_version: str
    git_revision: str | None
    site_code: str | None
    #: None when the tests have not been run (no results file).
    run: RunInfo | None
    entries: tuple[RuleEntry, ...]
    live_checks: tuple[LiveCheck, ...]
    #: Things the reader must know (tests not run, unknown ids in the results...).
    notes: tuple[str, ...]
    #: The shipped release results the run came from; None for a local test run.
    release: ReleaseResults | None = None

    def count(self, status: RuleStatus) -> int:
        return sum(1 for entry in self.entries if entry.status is status)

    @property
    def all_proven(self) -> bool:
        return all(entry.status is RuleStatus.PROVEN for entry in self.entries)


def build_report(
    run: RuleRun | None,
    live: LiveReport | None,
    *,
    results_path: Path,
    rules: Iterable[Rule] | None = None,
    generated_at: datetime | None = None,
    git_rev: str | None = None,
    release: ReleaseResults | None = None,
) -> ComplianceReport:
    """The report for ``rules`` (default: the whole catalogue). ``run`` None means the tests
    have not been run; ``live`` None means no site was checked. With ``release`` the run is
    the release's shipped results (``release.run``, None when they cannot be trusted)."""
    catalogue = tuple(all_rules() if rules is None else rules)
    notes: list[str] = []
    info = None
    if release is not None:
        run = release.run
        notes += _release_notes(release)
        git_rev = git_rev or release.git_revision
    if run is None:
        # Shipped results that cannot be used have said so in their note already.
        if release is None:
            notes.append(
                f"The tests have not been run: no rule results at {results_path}. Run "
                f"`{RUN_TESTS_COMMAND}` (or `pytest`), then generate this report again."
            )
    else:
        info = RunInfo(
            # The packaged file's name only: where facegate is installed is not the reader's.
            results_path=results_path.name if release is not None else str(results_path),
            started_at=run.started_at,
            finished_at=run.finished_at,
            exit_status=run.exit_status,
            pytest_args=run.pytest_args,
            rule_tests=len(run.tests),
        )
        known = {rule.id.value for rule in catalogue}
        unknown = sorted({r for test in run.tests for r in test.rules} - known)
        if unknown:
            notes.append(
                f"The results name rule ids this catalogue does not have (ignored): "
                f"{', '.join(unknown)}"
            )
        if run.pytest_args and release is None:
            notes.append(
                f"The results come from `pytest {' '.join(run.pytest_args)}`: if that was not "
                "the whole suite, rules proven only by other tests show as untested."
            )
    if live is None:
        notes.append("No site was checked: the live configuration column is empty.")
    entries = tuple(_entry(rule, run, live) for rule in catalogue)
    return ComplianceReport(
        generated_at=generated_at or utcnow(),
        facegate_version=__version__,
        git_revision=git_rev,
        site_code=None if live is None else live.site_code,
        run=info,
        entries=entries,
        live_checks=() if live is None else live.checks,
        notes=tuple(notes),
        release=release,
    )


def _release_notes(release: ReleaseResults) -> list[str]:
    if release.state is ReleaseState.ALTERED:
        return [
            "The rule-test results shipped with this release were altered after release "
            f"({release.problem}): they are not used, and every rule shows as untested. "
            "Reinstall facegate to restore them."
        ]
    if release.state is ReleaseState.MISSING:
        return [
            "This installation has no shipped rule-test results: every rule shows as "
            "untested. Reinstall facegate to restore them."
        ]
    if release.state is ReleaseState.STALE:
        return [
            f"The shipped rule-test results do not match this release's rules "
            f"({release.problem}); regenerate them with `{FREEZE_COMMAND}`."
        ]
    return []


def _entry(rule: Rule, run: RuleRun | None, live: LiveReport | None) -> RuleEntry:
    status, note, tests = rule_status(rule.id, run)
    checks = () if live is None else live.for_rule(rule.id)
    if checks:
        live_note = "; ".join(check.explanation for check in checks)
    elif live is None:
        live_note = "no site checked"
    else:
        live_note = "no live setting bears on this rule: the tests alone show it"
    return RuleEntry(
        rule=rule,
        status=status,
        status_note=note,
        tests=tests,
        live_status=worst_status(tuple(check.status for check in checks)),
        live_checks=checks,
        live_note=live_note,
    )


def git_revision(directory: Path | None = None) -> str | None:
    """``git describe --always --dirty`` of facegate's source checkout; None when facegate
    is not running from a git checkout or git is missing."""
    where = directory or Path(__file__).resolve().parent
    git = shutil.which("git")
    if git is None or "site-packages" in where.parts:
        return None
    try:
        # Fixed arguments, no shell: nothing user-controlled reaches the command.
        done = subprocess.run(  # noqa: S603
            [git, "-C", str(where), "describe", "--always", "--dirty", "--abbrev=12"],
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        logger.info("git revision unavailable", exc_info=True)
        return None
    revision = done.stdout.strip()
    return revision if done.returncode == 0 and revision else None


def write_report(report: ComplianceReport, out_dir: Path) -> tuple[Path, Path]:
    """Write the Markdown and HTML files into ``out_dir``; returns their paths."""
    markdown = write_text_atomic(out_dir / MARKDOWN_NAME, render_markdown(report))
    page = write_text_atomic(out_dir / HTML_NAME, render_html(report))
    return markdown, page


# Markdown

_STATUS_LABEL = {
    RuleStatus.PROVEN: "PROVEN",
    RuleStatus.FAILING: "FAILING",
    RuleStatus.UNTESTED: "UNTESTED",
}
_LIVE_LABEL = {
    LiveStatus.OK: "OK",
    LiveStatus.ATTENTION: "ATTENTION",
    LiveStatus.NOT_CONFIGURED: "NOT CONFIGURED",
    LiveStatus.NOT_APPLICABLE: "NOT APPLICABLE",
}


def live_label(status: LiveStatus | None) -> str:
    return "—" if status is None else _LIVE_LABEL[status]


def status_label(status: RuleStatus) -> str:
    return _STATUS_LABEL[status]


def _md_cell(text: str) -> str:
    # A table cell is one line, a pipe would end it, and Markdown passes raw HTML through.
    one_line = " ".join(text.split()).replace("\\", "\\\\").replace("|", "\\|")
    return html.escape(one_line, quote=False)


def _md_code(text: str) -> str:
    return f"``{text}``" if "`" in text else f"`{text}`"


def _meta_lines(report: ComplianceReport) -> list[tuple[str, str]]:
    run = report.run
    lines = [
        ("Generated", report.generated_at.isoformat(timespec="seconds")),
        ("facegate", report.facegate_version),
        ("Revision", report.git_revision or "unknown"),
        ("Site", report.site_code or "none checked"),
    ]
    release = report.release
    if release is not None:
        lines.append(("Release results", _release_line(release)))
    if run is None:
        if release is None:
            lines.append(("Test run", f"not run: run `{RUN_TESTS_COMMAND}`"))
    else:
        lines.append(
            (
                "Test run",
                f"finished {run.finished_at.isoformat(timespec='seconds')}, pytest exit "
                f"status {run.exit_status}, {run.rule_tests} rule tests ({run.results_path})",
            )
        )
    counts = ", ".join(f"{report.count(s)} {status_label(s).lower()}" for s in RuleStatus)
    lines.append(("Rules", f"{len(report.entries)}: {counts}"))
    return lines


def _release_line(release: ReleaseResults) -> str:
    digest = release.sha256 or "none"
    if release.state is ReleaseState.VERIFIED:
        return f"verified (sha256 {digest})"
    return f"{release.state.value}: {release.problem} (sha256 {digest})"


def render_markdown(report: ComplianceReport) -> str:
    out = ["# facegate compliance report", ""]
    out += [f"- **{key}:** {_md_cell(value)}" for key, value in _meta_lines(report)]
    out.append("")
    out += [f"> {_md_cell(note)}" for note in report.notes]
    if report.notes:
        out.append("")
    out += [
        "| Rule | Title | Status | Tests | Live configuration |",
        "| --- | --- | --- | --- | --- |",
    ]
    for entry in report.entries:
        rule = entry.rule
        out.append(
            f"| [{rule.id.value}](#{rule.id.value.lower()}) | {_md_cell(rule.title)} "
            f"| **{status_label(entry.status)}** | {_md_cell(entry.status_note)} "
            f"| {_md_cell(_live_cell(entry))} |"
        )
    out.append("")
    for entry in report.entries:
        out += _md_details(entry)
    return "\n".join(out).rstrip() + "\n"


def _live_cell(entry: RuleEntry) -> str:
    if entry.live_status is None:
        return entry.live_note
    return f"{live_label(entry.live_status)}: {entry.live_note}"


def _md_details(entry: RuleEntry) -> list[str]:
    rule = entry.rule
    out = [
        f"## {rule.id.value}",
        "",
        f"**{_md_cell(rule.title)}** ({_md_cell(rule.group.value)}). {_md_cell(rule.statement)}",
        "",
        f"- **Source:** {_md_cell(rule.source)}",
        f"- **Mechanism:** {_md_cell(rule.mechanism)}",
        f"- **Code:** {', '.join(_md_code(name) for name in rule.components)}",
    ]
    if rule.operator_duty:
        out.append(f"- **Operator's duty:** {_md_cell(rule.operator_duty)}")
    out.append(f"- **Status:** {status_label(entry.status)}: {_md_cell(entry.status_note)}")
    for test in entry.tests:
        reason = f": {_md_cell(test.reason)}" if test.reason else ""
        out.append(f"  - {test.outcome.value} {_md_code(test.nodeid)}{reason}")
    out.append(f"- **Live:** {live_label(entry.live_status)}")
    if entry.live_checks:
        out += [
            f"  - {check.name}: {live_label(check.status)}: {_md_cell(check.explanation)}"
            for check in entry.live_checks
        ]
    else:
        out.append(f"  - {_md_cell(entry.live_note)}")
    out.append("")
    return out


# HTML

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1a1a1a; max-width: 80rem; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: 0.35rem 0.5rem; text-align: left;
         vertical-align: top; }
th { background: #f0f0f0; }
code { font-size: 0.9em; }
.status { font-weight: bold; white-space: nowrap; }
.proven, .ok { background: #d8f0d8; }
.failing, .attention { background: #f7d4d4; }
.untested, .not_configured { background: #fbeec8; }
.not_applicable, .none { background: #eeeeee; }
.note { border-left: 4px solid #d9a400; padding: 0.3rem 0.8rem; background: #fff8e0; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2rem 1rem; }
dt { font-weight: bold; }
""".strip()


def _h(text: str) -> str:
    return html.escape(text, quote=True)


def _live_class(status: LiveStatus | None) -> str:
    return "none" if status is None else status.value


def render_html(report: ComplianceReport) -> str:
    """A self-contained page (inline CSS, no scripts, no external assets); every value
    from data is escaped."""
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        "<title>facegate compliance report</title>",
        f"<style>\n{_STYLE}\n</style>",
        "</head>",
        "<body>",
        "<h1>facegate compliance report</h1>",
        "<dl>",
    ]
    out += [f"<dt>{_h(key)}</dt><dd>{_h(value)}</dd>" for key, value in _meta_lines(report)]
    out.append("</dl>")
    out += [f'<p class="note">{_h(note)}</p>' for note in report.notes]
    out += [
        "<table>",
        "<thead><tr><th>Rule</th><th>Title</th><th>Status</th><th>Tests</th>"
        "<th>Live configuration</th></tr></thead>",
        "<tbody>",
    ]
    for entry in report.entries:
        rule_id = _h(entry.rule.id.value)
        live_class = _live_class(entry.live_status)
        out.append(
            f'<tr><td><a href="#{rule_id}">{rule_id}</a></td><td>{_h(entry.rule.title)}</td>'
            f'<td class="status {entry.status.value}">{_h(status_label(entry.status))}</td>'
            f"<td>{_h(entry.status_note)}</td>"
            f'<td class="{live_class}"><span class="status">'
            f"{_h(live_label(entry.live_status))}</span> {_h(entry.live_note)}</td></tr>"
        )
    out += ["</tbody>", "</table>"]
    for entry in report.entries:
        out += _html_details(entry)
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


def _html_details(entry: RuleEntry) -> list[str]:
    rule = entry.rule
    out = [
        f'<section id="{_h(rule.id.value)}">',
        f"<h2>{_h(rule.id.value)}: {_h(rule.title)}</h2>",
        f"<p>{_h(rule.statement)}</p>",
        "<dl>",
        f"<dt>Group</dt><dd>{_h(rule.group.value)}</dd>",
        f"<dt>Source</dt><dd>{_h(rule.source)}</dd>",
        f"<dt>Mechanism</dt><dd>{_h(rule.mechanism)}</dd>",
        "<dt>Code</dt><dd>"
        + ", ".join(f"<code>{_h(name)}</code>" for name in rule.components)
        + "</dd>",
    ]
    if rule.operator_duty:
        out.append(f"<dt>Operator's duty</dt><dd>{_h(rule.operator_duty)}</dd>")
    out += [
        f'<dt>Status</dt><dd><span class="status {entry.status.value}">'
        f"{_h(status_label(entry.status))}</span> {_h(entry.status_note)}</dd>",
        "</dl>",
    ]
    if entry.tests:
        out.append("<ul>")
        for test in entry.tests:
            reason = f": {_h(test.reason)}" if test.reason else ""
            out.append(
                f'<li><span class="status {_h(_test_class(test.outcome))}">'
                f"{_h(test.outcome.value)}</span> <code>{_h(test.nodeid)}</code>{reason}</li>"
            )
        out.append("</ul>")
    out.append("<ul>")
    if entry.live_checks:
        out += [
            f'<li><span class="status {_live_class(check.status)}">'
            f"{_h(live_label(check.status))}</span> {_h(check.name)}: "
            f"{_h(check.explanation)}</li>"
            for check in entry.live_checks
        ]
    else:
        out.append(f"<li>{_h(entry.live_note)}</li>")
    out += ["</ul>", "</section>"]
    return out


def _test_class(outcome: TestOutcome) -> str:
    return {
        TestOutcome.PASSED: "proven",
        TestOutcome.FAILED: "failing",
        TestOutcome.SKIPPED: "untested",
    }[outcome]
