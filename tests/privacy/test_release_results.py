"""The rule-test results shipped with the release (R-33): the packaged file verifies, covers
every documented rule and proves each one; an edited, stale or missing file says so."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import UTC, datetime
from importlib.metadata import PathDistribution
from pathlib import Path
from typing import Any

import pytest

from facegate.cli.main import main
from facegate.core.config import Environment, Settings
from facegate.privacy.compliance import build_report, render_html, render_markdown
from facegate.privacy.release_results import (
    FREEZE_COMMAND,
    RELEASE_FORMAT,
    RELEASE_RESULTS_ENV,
    RELEASE_RESULTS_PATH,
    ReleaseState,
    content_sha256,
    freeze,
    installed_sha256,
    load_release,
    write_release,
)
from facegate.privacy.rule_status import RuleStatus
from facegate.privacy.rules import all_rules
from facegate.privacy.run_results import (
    RuleRun,
    TestOutcome,
    TestResult,
    write_run,
)
from facegate.store import Store

pytestmark = pytest.mark.rule("R-33")

REPO_ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = REPO_ROOT.parent / "shared" / "docs" / "compliance-requirements.md"
_ROW = re.compile(r"^\| (R-\d\d) \|")
FROZEN_AT = datetime(2026, 12, 6, 18, 0, tzinfo=UTC)
REGENERATE = f"regenerate the packaged results after a full test run: `{FREEZE_COMMAND}`"


def _run(*tests: TestResult) -> RuleRun:
    return RuleRun(
        started_at=FROZEN_AT,
        finished_at=FROZEN_AT,
        exit_status=0,
        pytest_args=(),
        tests=tests,
    )


def _every_rule_passed() -> RuleRun:
    return _run(
        *(
            TestResult(
                f"tests/test_x.py::test_{rule.id.value}", (rule.id.value,), TestOutcome.PASSED
            )
            for rule in all_rules()
        )
    )


def _frozen(run: RuleRun, tmp_path: Path) -> Path:
    content = freeze(
        run,
        facegate_version="9.9.9",
        git_revision="abc123",
        frozen_at=FROZEN_AT,
        tests_digest="0" * 64,
    )
    return write_release(content, tmp_path / "release.json")


# The packaged file: what a deployed site shows


def test_packaged_results_verify_and_prove_every_rule() -> None:
    release = load_release()
    assert release.state is ReleaseState.VERIFIED, f"{release.problem}: {REGENERATE}"
    assert release.run is not None
    report = build_report(None, None, results_path=RELEASE_RESULTS_PATH, release=release)
    unproven = [e.rule.id.value for e in report.entries if e.status is not RuleStatus.PROVEN]
    assert not unproven, f"rules not proven by the shipped results: {unproven}; {REGENERATE}"
    assert release.facegate_version
    assert re.fullmatch(r"[0-9a-f]{64}", release.sha256 or "")


def test_packaged_results_cover_every_documented_rule() -> None:
    # CI runs from a clean clone beside ../shared, so the document is there.
    if not REQUIREMENTS.is_file():
        pytest.skip(f"the requirements document is not at {REQUIREMENTS}")
    documented = {
        match.group(1)
        for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines()
        if (match := _ROW.match(line.strip()))
    }
    packaged = json.loads(RELEASE_RESULTS_PATH.read_text(encoding="utf-8"))
    shipped = {rule["id"] for rule in packaged["rules"]}
    assert documented - shipped == set(), f"rules missing from the shipped results; {REGENERATE}"
    assert shipped - documented == set(), f"rules no longer documented; {REGENERATE}"


def test_written_file_is_readable_by_any_user(tmp_path: Path) -> None:
    # Package data: the service may run as another user than the one who froze it.
    path = _frozen(_every_rule_passed(), tmp_path)
    assert path.stat().st_mode & 0o777 == 0o644


# Freezing and checking


def test_frozen_results_round_trip_and_verify(tmp_path: Path) -> None:
    path = _frozen(_every_rule_passed(), tmp_path)
    content: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    assert content["sha256"] == content_sha256(content)
    assert [rule["id"] for rule in content["rules"]] == [r.id.value for r in all_rules()]
    assert {rule["status"] for rule in content["rules"]} == {"proven"}
    release = load_release(path)
    assert release.state is ReleaseState.VERIFIED
    assert (release.facegate_version, release.git_revision) == ("9.9.9", "abc123")
    assert release.run == _every_rule_passed()


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda c: c["rules"][0].update(status="failing"), id="a-status"),
        pytest.param(lambda c: c["run"]["tests"].pop(), id="a-test-removed"),
        pytest.param(lambda c: c.update(facegate_version="1.0"), id="the-version"),
    ],
)
def test_an_edited_file_is_altered_and_not_used(tmp_path: Path, edit: Any) -> None:
    path = _frozen(_every_rule_passed(), tmp_path)
    content = json.loads(path.read_text(encoding="utf-8"))
    edit(content)
    path.write_text(json.dumps(content), encoding="utf-8")
    release = load_release(path)
    assert release.state is ReleaseState.ALTERED
    assert release.run is None
    report = build_report(None, None, results_path=path, release=release)
    assert {e.status for e in report.entries} == {RuleStatus.UNTESTED}
    assert "altered" in render_markdown(report)


@pytest.mark.parametrize("stated", [RELEASE_FORMAT + 1, "1", None], ids=["next", "text", "none"])
def test_a_file_of_another_format_is_altered_even_with_a_matching_hash(
    tmp_path: Path, stated: object
) -> None:
    path = _frozen(_every_rule_passed(), tmp_path)
    content = json.loads(path.read_text(encoding="utf-8"))
    if stated is None:
        del content["format"]
    else:
        content["format"] = stated
    content["sha256"] = content_sha256(content)
    path.write_text(json.dumps(content), encoding="utf-8")
    release = load_release(path)
    assert release.state is ReleaseState.ALTERED
    assert release.run is None
    assert release.sha256 == content["sha256"]
    assert release.problem is not None
    assert release.problem.startswith("not a release results file: format")
    assert f"is not {RELEASE_FORMAT}" in release.problem


@pytest.mark.parametrize("text", ["", "{not json", "[]", '{"sha256": "x"}'])
def test_a_damaged_file_is_altered(tmp_path: Path, text: str) -> None:
    path = tmp_path / "release.json"
    path.write_text(text, encoding="utf-8")
    assert load_release(path).state is ReleaseState.ALTERED


def test_a_missing_file_is_missing_and_the_report_does_not_say_run_make_test(
    tmp_path: Path,
) -> None:
    release = load_release(tmp_path / "nowhere.json")
    assert release.state is ReleaseState.MISSING
    report = build_report(None, None, results_path=tmp_path, release=release)
    for text in (render_markdown(report), render_html(report)):
        assert "make test" not in text
        assert "not a git checkout" not in text
        assert "no shipped rule-test results" in text


def test_results_for_another_catalogue_are_stale(tmp_path: Path) -> None:
    rules = all_rules()
    # Frozen before the last rule existed, then read by a release that has it.
    content = freeze(
        _every_rule_passed(),
        facegate_version="9.9.9",
        git_revision=None,
        frozen_at=FROZEN_AT,
        tests_digest="0" * 64,
        rules=rules[:-1],
    )
    path = write_release(content, tmp_path / "release.json")
    release = load_release(path)
    assert release.state is ReleaseState.STALE
    assert release.problem == f"rules missing: {rules[-1].id.value}"
    report = build_report(None, None, results_path=path, release=release)
    assert FREEZE_COMMAND in render_markdown(report)


def test_a_verified_release_is_named_with_its_hash_in_the_report(tmp_path: Path) -> None:
    path = _frozen(_every_rule_passed(), tmp_path)
    release = load_release(path)
    report = build_report(None, None, results_path=path, release=release)
    markdown = render_markdown(report)
    assert f"verified (sha256 {release.sha256})" in markdown
    assert "abc123" in markdown  # the release's revision, not this machine's
    assert str(tmp_path) not in markdown  # the file's name only


# The commands


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    code = main(["--json", *args])
    return code, json.loads(capsys.readouterr().out)


def test_cli_freezes_a_run_and_verifies_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = write_run(_every_rule_passed(), tmp_path / "rule-results.json")
    out = tmp_path / "release.json"
    code, frozen = _cli(
        capsys, "compliance", "freeze", "--results", str(results), "--out", str(out),
        "--revision", "v1",
    )  # fmt: skip
    assert code == 0
    assert frozen["proven"] == len(all_rules())
    code, checked = _cli(capsys, "compliance", "verify-release", "--path", str(out))
    assert (code, checked["state"], checked["sha256"]) == (0, "verified", frozen["sha256"])
    out.write_text(out.read_text(encoding="utf-8").replace('"proven"', '"failing"', 1))
    code, checked = _cli(capsys, "compliance", "verify-release", "--path", str(out))
    assert (code, checked["state"]) == (1, "altered")


def test_cli_refuses_to_freeze_without_a_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["compliance", "freeze", "--results", str(tmp_path / "none.json"), "--out",
                 str(tmp_path / "release.json")])  # fmt: skip
    assert code != 0
    assert "run the tests first" in " ".join(capsys.readouterr().err.split())
    assert not (tmp_path / "release.json").exists()


def test_cli_report_from_the_shipped_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    with Store.open(Settings(data_dir=data_dir, env=Environment.DEVELOPMENT)) as store:
        store.create_site("demo", "Demo community")
    shipped = _frozen(_every_rule_passed(), tmp_path)
    monkeypatch.setenv(RELEASE_RESULTS_ENV, str(shipped))
    args = ["--data-dir", str(data_dir), "compliance", "report", "--site", "demo", "--release"]
    code, body = _cli(capsys, *args, "--out", str(tmp_path / "report"), "--strict")
    assert code == 0
    assert {entry["status"] for entry in body["report"]["entries"]} == {"proven"}
    assert body["report"]["git_revision"] == "abc123"
    assert body["report"]["release"]["state"] == "verified"
    markdown = (tmp_path / "report" / "compliance-report.md").read_text(encoding="utf-8")
    assert "make test" not in markdown


def _installed(site: Path, shipped: Path, recorded: bytes) -> PathDistribution:
    """A wheel-installed facegate in ``site`` whose RECORD lists ``shipped`` with the
    SHA-256 of ``recorded``, as pip writes it."""
    info = site / "facegate-9.9.9.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: facegate\nVersion: 9.9.9\n")
    digest = base64.urlsafe_b64encode(hashlib.sha256(recorded).digest()).rstrip(b"=").decode()
    relative = shipped.relative_to(site).as_posix()
    (info / "RECORD").write_text(f"{relative},sha256={digest},{len(recorded)}\n")
    return PathDistribution(info)


def test_installed_file_is_checked_against_the_installers_record(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    shipped = site / "facegate" / "privacy" / "release-rule-results.json"
    shipped.parent.mkdir(parents=True)
    original = _frozen(_every_rule_passed(), tmp_path).read_bytes()
    shipped.write_bytes(original)
    installed = _installed(site, shipped, original)
    assert installed_sha256(shipped, installed) == hashlib.sha256(original).hexdigest()
    assert load_release(shipped, installed=installed).state is ReleaseState.VERIFIED

    # Edited after installation, its own hash recomputed: RECORD still tells.
    content = json.loads(original)
    content["rules"][0]["status"] = "failing"
    content["sha256"] = content_sha256(content)
    shipped.write_text(json.dumps(content), encoding="utf-8")
    release = load_release(shipped, installed=installed)
    assert release.state is ReleaseState.ALTERED
    assert release.problem == "the file is not the one facegate was installed with"
    assert release.run is None


def test_this_installation_matches_its_record_if_it_has_one() -> None:
    # An editable install (a checkout) records nothing: the content hash alone counts there.
    recorded = installed_sha256(RELEASE_RESULTS_PATH)
    actual = hashlib.sha256(RELEASE_RESULTS_PATH.read_bytes()).hexdigest()
    assert recorded in {None, actual}
