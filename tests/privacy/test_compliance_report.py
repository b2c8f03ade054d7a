"""The compliance report (R-33): the rule catalogue, the pytest plugin that records rule
tests, the report built from its results, the live site checks and the CLI."""

from __future__ import annotations

import hashlib
import importlib
import json
import re
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from facegate.cli.main import main
from facegate.core.config import Environment, Settings
from facegate.errors import InvalidRecordError, NotFoundError
from facegate.privacy.compliance import (
    HTML_NAME,
    MARKDOWN_NAME,
    RuleStatus,
    build_report,
    git_revision,
    render_html,
    render_markdown,
)
from facegate.privacy.live import (
    LiveReport,
    LiveStatus,
    check_key_separation,
    check_site,
)
from facegate.privacy.rules import RULES, RuleId, all_rules, get_rule, parse_rule_id
from facegate.privacy.run_results import (
    RESULTS_ENV,
    RuleRun,
    TestOutcome,
    TestResult,
    read_run,
    run_to_json,
    write_run,
)
from facegate.store import Store, SubjectKind
from facegate.store.filing import FILING_THRESHOLD
from facegate.store.records import ConsentMethod, IncidentKind, LivenessLevel, SubjectStatus
from facegate.store.schema import (
    Consent,
    FilingAlert,
    Gate,
    ImpactAssessment,
    Incident,
    Notice,
    Site,
    Subject,
    new_id,
    utcnow,
)

pytestmark = pytest.mark.rule("R-33")

REPO_ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = REPO_ROOT.parent / "shared" / "docs" / "compliance-requirements.md"
PLUGIN = "facegate.testing.rule_results"
_ROW = re.compile(r"^\| (R-\d\d) \| (.+) \| (.+) \|$")

RUN_START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


# The catalogue


def test_catalogue_has_exactly_the_documented_rules() -> None:
    if not REQUIREMENTS.is_file():
        pytest.skip(f"the requirements document is not at {REQUIREMENTS}")
    documented = {}
    for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        match = _ROW.match(line.strip())
        if match:
            documented[match[1]] = (match[2].strip(), match[3].strip())
    assert sorted(documented) == sorted(rule_id.value for rule_id in RuleId)
    for rule in all_rules():
        statement, source = documented[rule.id.value]
        assert rule.statement == statement, rule.id
        assert rule.source == source, rule.id


def test_catalogue_is_complete_and_in_document_order() -> None:
    rules = all_rules()
    assert [rule.id for rule in rules] == list(RuleId)
    assert set(RULES) == set(RuleId)
    for rule in rules:
        assert rule.title, rule.id
        assert rule.mechanism, rule.id
        assert rule.components, rule.id
    # Rules that software cannot fully show name what the operator must do.
    for rule_id in (RuleId.R22, RuleId.R30, RuleId.R23, RuleId.R27):
        assert get_rule(rule_id).operator_duty, rule_id


@pytest.mark.parametrize("rule", all_rules(), ids=lambda rule: rule.id.value)
def test_catalogue_mechanism_components_exist(rule: Any) -> None:
    for name in rule.components:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError:
            module, _, attribute = name.rpartition(".")
            assert hasattr(importlib.import_module(module), attribute), name


@pytest.mark.parametrize("text", ["R-09", "r-20", "R20", "R-20 ", ""])
def test_unknown_rule_id_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="unknown compliance rule id"):
        parse_rule_id(text)
    assert parse_rule_id("R-20") is RuleId.R20


# The pytest plugin

_RULE_TESTS = """
import pytest

@pytest.mark.rule("R-20")
def test_passes():
    assert 1 + 1 == 2

@pytest.mark.rule("R-23", "R-27")
def test_fails():
    assert 41 + 1 == 43, "deletion left a copy"

@pytest.mark.rule("R-24")
@pytest.mark.skip(reason="needs the retention job")
def test_skipped():
    pass

@pytest.mark.rule("R-21")
@pytest.mark.parametrize("n", [1, 2])
def test_param(n):
    assert n > 0

@pytest.mark.rule("R-10")
class TestGates:
    def test_in_class(self):
        pass

def test_unmarked():
    pass
"""


@pytest.fixture
def results_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "out" / "rule-results.json"
    monkeypatch.setenv(RESULTS_ENV, str(path))
    return path


def test_plugin_records_outcomes_in_a_real_pytest_run(
    pytester: pytest.Pytester, results_file: Path
) -> None:
    pytester.makepyfile(test_rules=_RULE_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:playwright", "-p", PLUGIN)
    result.assert_outcomes(passed=5, failed=1, skipped=1)
    run = read_run(results_file)
    assert run is not None
    by_name = {test.nodeid.split("::", 1)[1]: test for test in run.tests}
    assert sorted(by_name) == [
        "TestGates::test_in_class",
        "test_fails",
        "test_param[1]",
        "test_param[2]",
        "test_passes",
        "test_skipped",
    ]
    assert by_name["test_passes"] == TestResult(
        by_name["test_passes"].nodeid,
        ("R-20",),
        TestOutcome.PASSED,
        None,
        by_name["test_passes"].duration_s,
    )
    failed = by_name["test_fails"]
    assert failed.outcome is TestOutcome.FAILED
    assert failed.rules == ("R-23", "R-27")
    assert failed.reason is not None
    assert "deletion left a copy" in failed.reason
    skipped = by_name["test_skipped"]
    assert (skipped.outcome, skipped.reason) == (TestOutcome.SKIPPED, "needs the retention job")
    assert by_name["TestGates::test_in_class"].rules == ("R-10",)
    assert by_name["test_param[2]"].rules == ("R-21",)
    assert run.exit_status == 1
    assert run.started_at <= run.finished_at
    assert "rule tests covering" in result.stdout.str()


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ('rule("R-99")', "unknown compliance rule id 'R-99'"),
        ('rule("r-20")', "unknown compliance rule id 'r-20'"),
        ("rule()", "takes rule ids only"),
        ("rule(20)", "rule id 20 is not a string"),
    ],
)
def test_plugin_makes_a_bad_rule_marker_a_collection_error(
    pytester: pytest.Pytester, results_file: Path, marker: str, message: str
) -> None:
    pytester.makepyfile(
        test_typo=f"""
        import pytest

        @pytest.mark.rule("R-20")
        def test_good():
            pass

        @pytest.mark.{marker}
        def test_typo():
            pass
        """
    )
    result = pytester.runpytest("-p", "no:playwright", "-p", PLUGIN)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.assert_outcomes(errors=1)
    assert message in result.stdout.str()
    assert "test_typo.py::test_typo" in result.stdout.str()
    assert not results_file.exists()


def test_plugin_writes_nothing_when_only_collecting(
    pytester: pytest.Pytester, results_file: Path
) -> None:
    pytester.makepyfile(test_rules=_RULE_TESTS)
    result = pytester.runpytest("-p", "no:playwright", "-p", PLUGIN, "--collect-only")
    assert result.ret == pytest.ExitCode.OK
    assert not results_file.exists()


def test_plugin_writes_nothing_when_no_rule_test_ran(
    pytester: pytest.Pytester, results_file: Path
) -> None:
    results_file.parent.mkdir(parents=True)
    results_file.write_text("previous results", encoding="utf-8")
    pytester.makepyfile(test_plain="def test_plain():\n    pass\n")
    pytester.runpytest("-p", "no:playwright", "-p", PLUGIN).assert_outcomes(passed=1)
    assert results_file.read_text(encoding="utf-8") == "previous results"


def test_plugin_path_from_ini_option_then_default(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(RESULTS_ENV, raising=False)
    pytester.makepyfile(
        test_rules="import pytest\n\n@pytest.mark.rule('R-20')\ndef test_a():\n    pass\n"
    )
    pytester.runpytest("-p", "no:playwright", "-p", PLUGIN).assert_outcomes(passed=1)
    default = pytester.path / "artifacts" / "compliance" / "rule-results.json"
    run = read_run(default)
    assert run is not None
    assert [t.rules for t in run.tests] == [("R-20",)]

    pytester.makeini("[pytest]\nfacegate_rule_results = custom/results.json\n")
    pytester.runpytest("-p", "no:playwright", "-p", PLUGIN).assert_outcomes(passed=1)
    assert read_run(pytester.path / "custom" / "results.json") is not None


# The report


def _result(
    name: str, rules: tuple[str, ...], outcome: TestOutcome, reason: str | None = None
) -> TestResult:
    return TestResult(f"tests/test_x.py::{name}", rules, outcome, reason, 0.01)


@pytest.fixture
def fixture_run() -> RuleRun:
    return RuleRun(
        started_at=RUN_START,
        finished_at=RUN_START + timedelta(minutes=3),
        exit_status=1,
        pytest_args=(),
        tests=(
            _result("test_encrypted", ("R-20",), TestOutcome.PASSED),
            _result("test_key_apart", ("R-20", "R-23"), TestOutcome.PASSED),
            _result("test_backup_shredded", ("R-23",), TestOutcome.FAILED, "key still present"),
            _result("test_retention", ("R-24",), TestOutcome.SKIPPED, "needs cron"),
            _result("test_retention_2", ("R-24",), TestOutcome.SKIPPED, "needs cron"),
            _result("test_mixed", ("R-27",), TestOutcome.PASSED),
            _result("test_mixed_skip", ("R-27",), TestOutcome.SKIPPED, "slow"),
        ),
    )


@pytest.fixture
def fixture_json(tmp_path: Path, fixture_run: RuleRun) -> Path:
    return write_run(fixture_run, tmp_path / "results" / "rule-results.json")


def test_report_marks_proven_failing_and_untested(fixture_json: Path) -> None:
    run = read_run(fixture_json)
    report = build_report(run, None, results_path=fixture_json)
    status = {entry.rule.id: entry for entry in report.entries}
    assert status[RuleId.R20].status is RuleStatus.PROVEN
    assert status[RuleId.R20].status_note == "2 of 2 passed"
    assert status[RuleId.R23].status is RuleStatus.FAILING
    assert status[RuleId.R23].status_note == "1 of 2 test(s) failed"
    assert status[RuleId.R24].status is RuleStatus.UNTESTED
    assert status[RuleId.R24].status_note == "all 2 test(s) were skipped: needs cron"
    assert status[RuleId.R27].status is RuleStatus.PROVEN
    assert status[RuleId.R27].status_note == "1 of 2 passed, 1 skipped"
    assert status[RuleId.R22].status is RuleStatus.UNTESTED
    assert status[RuleId.R22].tests == ()
    assert status[RuleId.R22].status_note == "no test in the last run carries R-22"
    assert (report.count(RuleStatus.PROVEN), report.count(RuleStatus.FAILING)) == (2, 1)
    assert report.count(RuleStatus.UNTESTED) == len(RuleId) - 3
    assert not report.all_proven
    assert report.run is not None
    assert report.run.finished_at == RUN_START + timedelta(minutes=3)
    assert [t.nodeid for t in status[RuleId.R23].tests] == [
        "tests/test_x.py::test_key_apart",
        "tests/test_x.py::test_backup_shredded",
    ]


def test_report_without_results_says_how_to_run_the_tests(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    run = read_run(missing)
    assert run is None
    report = build_report(run, None, results_path=missing)
    assert {entry.status for entry in report.entries} == {RuleStatus.UNTESTED}
    assert report.run is None
    markdown = render_markdown(report)
    assert "The tests have not been run" in markdown
    assert "`make test`" in markdown
    assert "The tests have not been run" in render_html(report)


def test_malformed_results_file_is_a_typed_error(tmp_path: Path, fixture_run: RuleRun) -> None:
    path = tmp_path / "results.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(InvalidRecordError, match="not valid JSON"):
        read_run(path)
    broken = run_to_json(fixture_run)
    broken["tests"][0]["outcome"] = "maybe"
    path.write_text(json.dumps(broken), encoding="utf-8")
    with pytest.raises(InvalidRecordError, match="not a rule-results file"):
        read_run(path)


def test_markdown_lists_every_catalogue_rule(fixture_run: RuleRun, tmp_path: Path) -> None:
    markdown = render_markdown(build_report(fixture_run, None, results_path=tmp_path))
    rows = [line for line in markdown.splitlines() if line.startswith("| [R-")]
    assert [row.split("]")[0].removeprefix("| [") for row in rows] == [r.value for r in RuleId]
    for rule in all_rules():
        assert f"## {rule.id.value}\n" in markdown
        assert rule.source in markdown
    assert "| [R-23](#r-23) | Deletion reaches every copy | **FAILING** |" in markdown
    assert "- failed `tests/test_x.py::test_backup_shredded`: key still present" in markdown


def test_html_escapes_test_names_and_has_no_external_assets(tmp_path: Path) -> None:
    hostile = "tests/test_x.py::test_a[<script>alert(1)</script>]"
    run = RuleRun(
        started_at=RUN_START,
        finished_at=RUN_START,
        exit_status=1,
        pytest_args=(),
        tests=(TestResult(hostile, ("R-20",), TestOutcome.FAILED, 'x < y & "z"', 0.0),),
    )
    page = render_html(build_report(run, None, results_path=tmp_path))
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "x &lt; y &amp; &quot;z&quot;" in page
    for external in ("http://", "https://", "<link", " src="):
        assert external not in page
    assert page.count('<section id="R-') == len(RuleId)
    assert '<td class="status failing">FAILING</td>' in page
    markdown = render_markdown(build_report(run, None, results_path=tmp_path))
    assert "<script>" not in markdown.replace(f"`{hostile}`", "")


def test_git_revision_outside_a_checkout_is_none(tmp_path: Path) -> None:
    assert git_revision(tmp_path) is None


# Live checks


def _statuses(live: LiveReport) -> dict[str, LiveStatus]:
    return {check.name: check.status for check in live.checks}


def _configure_site(store: Store, site_code: str, *, retain_years: int = 3) -> None:
    """A published notice, an impact assessment and a gate, written straight through the
    ORM so this test does not depend on the notice, assessment and gate APIs."""
    now = utcnow()
    content = json.dumps({"purposes": ["gate_entry"], "methods": ["verify_1_1"]})
    with store.transaction() as session:
        site_id = store.get_site(site_code).id
        session.add(
            Notice(
                id=new_id(),
                site_id=site_id,
                version="v1",
                seq=1,
                published_at=now,
                published_by="operator:li",
                content=content,
                content_sha256=hashlib.sha256(content.encode()).hexdigest(),
                widens=False,
            )
        )
        session.add(
            ImpactAssessment(
                id=new_id(),
                site_id=site_id,
                assessed_at=now,
                assessor="Assessor Wang",
                summary="gate entry by face, local storage",
                document_sha256="0" * 64,
                retain_until=now + timedelta(days=365 * retain_years + 1),
                recorded_by="operator:li",
            )
        )
        session.add(
            Gate(
                id=new_id(),
                site_id=site_id,
                code="north",
                name="North gate",
                accepts_face=True,
                accepts_card=True,
                accepts_pin=False,
                accepts_otp=False,
                liveness=LivenessLevel.PASSIVE,
            )
        )


def test_live_checks_on_a_fresh_site_then_after_configuration(store: Store) -> None:
    store.create_site("fresh-garden", "Fresh Garden", actor="operator:li")
    fresh = _statuses(check_site(store, "fresh-garden"))
    assert fresh["notice"] is LiveStatus.NOT_CONFIGURED
    assert fresh["impact_assessment"] is LiveStatus.NOT_CONFIGURED
    assert fresh["gates"] is LiveStatus.NOT_CONFIGURED
    assert fresh["audit_chain"] is LiveStatus.OK
    assert fresh["key_separation"] is LiveStatus.OK
    assert fresh["raw_frames"] is LiveStatus.OK
    assert fresh["bystander_redaction"] is LiveStatus.NOT_APPLICABLE
    assert fresh["consent_renewal"] is LiveStatus.OK
    assert fresh["filing_threshold"] is LiveStatus.OK
    assert fresh["open_incidents"] is LiveStatus.OK
    assert fresh["subject_retention"] is LiveStatus.OK

    _configure_site(store, "fresh-garden")
    live = check_site(store, "fresh-garden")
    configured = _statuses(live)
    assert configured["notice"] is LiveStatus.OK
    assert configured["impact_assessment"] is LiveStatus.OK
    assert configured["gates"] is LiveStatus.OK
    gates = next(check for check in live.checks if check.name == "gates")
    assert gates.explanation == "all 1 gates accept a card, PIN or one-time code (1 also the face)"
    assert live.for_rule(RuleId.R10) == (gates,)

    report = build_report(None, live, results_path=Path("none.json"))
    entries = {entry.rule.id: entry for entry in report.entries}
    assert entries[RuleId.R01].live_status is LiveStatus.OK
    assert entries[RuleId.R25].live_status is LiveStatus.NOT_APPLICABLE
    assert entries[RuleId.R26].live_status is None
    assert "no live setting" in entries[RuleId.R26].live_note


def test_live_checks_raise_attention_for_what_the_operator_must_fix(
    store: Store, raw_db: sqlite3.Connection
) -> None:
    site = store.create_site("busy-garden", "Busy Garden", operator="Busy Property Co.")
    _configure_site(store, "busy-garden", retain_years=1)
    now = utcnow()
    with store.transaction() as session:
        # Frames kept, but the notice (methods: verify_1_1 only) does not say so.
        session.get_one(Site, site.id).keep_disputed_frames = True
        notice_id = session.query(Notice.id).filter(Notice.site_id == site.id).scalar()
        moved = Subject(
            id=new_id(),
            site_id=site.id,
            display_name="Moved Out",
            kind=SubjectKind.RESIDENT,
            status=SubjectStatus.ACTIVE,
            created_at=now - timedelta(days=400),
            moved_out_at=now - timedelta(days=40),
        )
        session.add(moved)
        session.flush()
        session.add(
            Consent(
                id=new_id(),
                subject_id=moved.id,
                notice_version="v1",
                given_at=now - timedelta(days=400),
                method=ConsentMethod.SIGNATURE,
                given_by="Moved Out",
                collected_by="operator:li",
                notice_id=notice_id,
                expires_at=now + timedelta(days=300),
                renewal_required_at=now - timedelta(days=1),
            )
        )
        session.add(
            Incident(
                id=new_id(),
                site_id=site.id,
                detected_at=now,
                kind=IncidentKind.MODEL_INTEGRITY,
                detail="{}",
            )
        )
        session.add(
            FilingAlert(
                operator="Busy Property Co.",
                raised_at=now,
                enrolled_people=FILING_THRESHOLD,
                due_by=date(2027, 1, 10),
            )
        )
    statuses = _statuses(check_site(store, "busy-garden"))
    for name in (
        "raw_frames",
        "impact_assessment",
        "subject_retention",
        "consent_renewal",
        "open_incidents",
        "filing_threshold",
    ):
        assert statuses[name] is LiveStatus.ATTENTION, name
    assert statuses["audit_chain"] is LiveStatus.OK
    assert statuses["bystander_redaction"] is LiveStatus.OK

    raw_db.execute("DROP TRIGGER audit_event_no_update")
    raw_db.execute("UPDATE audit_event SET actor = 'someone else' WHERE id = 1")
    audit = next(c for c in check_site(store, "busy-garden").checks if c.name == "audit_chain")
    assert audit.status is LiveStatus.ATTENTION
    assert audit.explanation.startswith("the audit chain is broken at event 1")


def test_live_check_of_an_unknown_site_is_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError, match="no site with code 'nowhere'"):
        check_site(store, "nowhere")


def test_key_separation_flags_a_key_store_inside_the_database(tmp_path: Path) -> None:
    data = tmp_path / "data"
    apart = Settings(data_dir=data, env=Environment.DEVELOPMENT)
    assert check_key_separation(apart).status is LiveStatus.OK
    same = Settings(
        data_dir=data, env=Environment.DEVELOPMENT, keystore_path=data / "facegate.sqlite"
    )
    check = check_key_separation(same)
    assert check.status is LiveStatus.ATTENTION
    assert check.rules == (RuleId.R20, RuleId.R23)


def test_key_separation_names_files_but_never_where_they_lie(tmp_path: Path) -> None:
    """The report goes to auditors and a browser: no server paths of keys or database."""
    data = tmp_path / "secret-place" / "data"
    for settings in (
        Settings(data_dir=data, env=Environment.DEVELOPMENT),
        Settings(
            data_dir=data, env=Environment.DEVELOPMENT, keystore_path=data / "facegate.sqlite"
        ),
    ):
        explanation = check_key_separation(settings).explanation
        assert "secret-place" not in explanation
        assert str(tmp_path) not in explanation


# The CLI


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    code = main(["--json", *args])
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1]) if out else None


def test_cli_writes_markdown_and_html(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fixture_json: Path
) -> None:
    data_dir = tmp_path / "data"
    with Store.open(Settings(data_dir=data_dir, env=Environment.DEVELOPMENT)) as store:
        store.create_site("demo", "Demo community")
    out = tmp_path / "report"
    args = ["--data-dir", str(data_dir), "compliance", "report", "--site", "demo"]
    code, body = _cli(capsys, *args, "--results", str(fixture_json), "--out", str(out))
    assert code == 0
    markdown, page = out / MARKDOWN_NAME, out / HTML_NAME
    assert body["files"] == {"markdown": str(markdown), "html": str(page)}
    assert "| **FAILING** |" in markdown.read_text(encoding="utf-8")
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    entries = {entry["rule"]["id"]: entry for entry in body["report"]["entries"]}
    assert len(entries) == len(RuleId)
    assert entries["R-23"]["status"] == "failing"
    assert entries["R-01"]["live_status"] == "not_configured"
    assert body["report"]["site_code"] == "demo"

    code, _ = _cli(capsys, *args, "--results", str(fixture_json), "--out", str(out), "--strict")
    assert code == 1
    code, body = _cli(capsys, *args, "--results", str(tmp_path / "none.json"), "--out", str(out))
    assert code == 0
    assert body["report"]["run"] is None
    assert "make test" in body["report"]["notes"][0]
    code, body = _cli(capsys, *args[:-1], "nowhere", "--out", str(out))
    assert code == NotFoundError.exit_code
    assert body["error"]["code"] == "not_found"


def test_cli_human_output_shows_failing_rules(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fixture_json: Path
) -> None:
    data_dir = tmp_path / "data"
    with Store.open(Settings(data_dir=data_dir, env=Environment.DEVELOPMENT)) as store:
        store.create_site("demo", "Demo community")
    code = main(
        [
            "--data-dir",
            str(data_dir),
            "compliance",
            "report",
            "--site",
            "demo",
            "--results",
            str(fixture_json),
            "--out",
            str(tmp_path / "report"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "FAILING" in out
    assert "1 failing" in out
