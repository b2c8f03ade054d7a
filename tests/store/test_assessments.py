"""Enrollment waits for an impact assessment, which is kept at least three years (R-30)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from facegate.cli import main as cli_main
from facegate.core.config import Settings
from facegate.errors import AssessmentRequiredError, InvalidRecordError, NotFoundError
from facegate.privacy.notice_template import starter_notice
from facegate.store import SiteInfo, Store
from facegate.store.assessments import ASSESSMENT_RETENTION

from .helpers import MODEL, NOTICE_VERSION, OPERATOR, consented_subject, random_embeddings

NEW_SITE = "north-gate"


def _site_without_assessment(store: Store) -> SiteInfo:
    """A site with a published notice (so consent can be given) but no assessment yet."""
    site = store.create_site(NEW_SITE, "North Gate", actor=OPERATOR)
    store.notices.publish(
        NEW_SITE,
        NOTICE_VERSION,
        starter_notice("North Gate", "North Property Co.", "front desk"),
        actor=OPERATOR,
    )
    return site


def _count(raw_db: sqlite3.Connection, sql: str, *args: object) -> int:
    (value,) = raw_db.execute(sql, args).fetchone()
    return int(value)


@pytest.mark.rule("R-30")
def test_enrollment_is_refused_without_an_assessment_and_writes_nothing(
    store: Store, raw_db: sqlite3.Connection
) -> None:
    site = _site_without_assessment(store)
    subject = consented_subject(store, site_code=NEW_SITE)
    events_before = store.verify_audit().events_checked

    with pytest.raises(AssessmentRequiredError, match="impact assessment"):
        store.enroll(subject.id, random_embeddings(2), MODEL, [0.9, 0.9], OPERATOR)

    assert _count(raw_db, "SELECT count(*) FROM template WHERE subject_id = ?", subject.id) == 0
    assert store.keystore.get(subject.id, site.id) is None
    assert subject.id not in store.keystore.owners()
    assert store.verify_audit().events_checked == events_before
    assert store.get_subject(subject.id).template_count == 0


@pytest.mark.rule("R-30")
def test_enrollment_opens_once_an_assessment_is_recorded(store: Store) -> None:
    site = _site_without_assessment(store)
    subject = consented_subject(store, site_code=NEW_SITE)
    with pytest.raises(AssessmentRequiredError):
        store.enroll(subject.id, random_embeddings(1), MODEL, [0.9], OPERATOR)

    info = store.assessments.record(
        NEW_SITE, "Wang Assessor", "Necessity, risks and safeguards reviewed.", actor=OPERATOR
    )
    ids = store.enroll(subject.id, random_embeddings(1), MODEL, [0.9], OPERATOR)

    assert len(ids) == 1
    assert store.get_subject(subject.id).template_count == 1
    assert store.keystore.get(subject.id, site.id) is not None
    assert [a.id for a in store.assessments.list(NEW_SITE)] == [info.id]


@pytest.mark.rule("R-30")
def test_an_assessment_of_another_site_does_not_count(store: Store, site: SiteInfo) -> None:
    # ``site`` has an assessment; the new site does not, and may not borrow it.
    assert store.assessments.list(site.code)
    _site_without_assessment(store)
    subject = consented_subject(store, site_code=NEW_SITE)
    with pytest.raises(AssessmentRequiredError):
        store.enroll(subject.id, random_embeddings(1), MODEL, [0.9], OPERATOR)


@pytest.mark.rule("R-30")
def test_assessment_is_kept_at_least_three_years(store: Store, site: SiteInfo) -> None:
    assessed_at = datetime(2024, 2, 29, 9, 30, tzinfo=UTC)  # a leap day, the hard case
    info = store.assessments.record(
        site.code, "Wang Assessor", "Second review.", assessed_at=assessed_at, actor=OPERATOR
    )
    three_years_later = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)
    assert info.assessed_at == assessed_at
    assert info.retain_until >= three_years_later
    assert info.retain_until == assessed_at + ASSESSMENT_RETENTION
    for day in range(4 * 366):
        # Whatever the start day, the retention covers three calendar years.
        start = datetime(2023, 1, 1, tzinfo=UTC) + timedelta(days=day)
        assert start + ASSESSMENT_RETENTION >= _three_years_after(start)


def _three_years_after(start: datetime) -> datetime:
    try:
        return start.replace(year=start.year + 3)
    except ValueError:  # 29 February
        return start.replace(year=start.year + 3, month=3, day=1)


@pytest.mark.rule("R-30")
def test_database_refuses_to_change_an_assessment_or_drop_it_early(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    info = store.assessments.list(site.code)[0]
    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        raw_db.execute(
            "UPDATE impact_assessment SET summary = 'nothing to see' WHERE id = ?", (info.id,)
        )
    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        raw_db.execute(
            "UPDATE impact_assessment SET retain_until = '2000-01-01 00:00:00.000000' WHERE id = ?",
            (info.id,),
        )
    with pytest.raises(sqlite3.IntegrityError, match="kept until retain_until"):
        raw_db.execute("DELETE FROM impact_assessment WHERE id = ?", (info.id,))
    assert store.assessments.list(site.code) == [info]


@pytest.mark.rule("R-30")
def test_an_assessment_past_its_retention_may_be_deleted(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    # The trigger guards the retention period, not the row forever.
    old = store.assessments.record(
        site.code,
        "Wang Assessor",
        "First review, long ago.",
        assessed_at=datetime.now(UTC) - ASSESSMENT_RETENTION - timedelta(days=1),
        actor=OPERATOR,
    )
    assert old.retain_until < datetime.now(UTC)
    raw_db.execute("DELETE FROM impact_assessment WHERE id = ?", (old.id,))
    assert old.id not in [a.id for a in store.assessments.list(site.code)]


@pytest.mark.rule("R-30")
def test_recording_an_assessment_is_audited(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    info = store.assessments.record(
        site.code,
        "Wang Assessor",
        "Review after adding a gate.",
        document_sha256="ab" * 32,
        actor=OPERATOR,
    )
    assert info.document_sha256 == "ab" * 32
    assert info.recorded_by == OPERATOR
    action, actor, site_id, detail = raw_db.execute(
        "SELECT action, actor, site_id, detail FROM audit_event ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert (action, actor, site_id) == ("assessment.recorded", OPERATOR, site.id)
    assert json.loads(detail) == {"assessment_id": info.id}
    assert store.verify_audit().ok


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"assessor": "  "}, InvalidRecordError, "assessor must not be empty"),
        ({"summary": ""}, InvalidRecordError, "summary must not be empty"),
        ({"summary": "x" * 4001}, InvalidRecordError, "longer than 4000"),
        ({"document_sha256": "AB" * 32}, InvalidRecordError, "64 lowercase hex"),
        ({"document_sha256": "ab" * 31}, InvalidRecordError, "64 lowercase hex"),
        ({"assessed_at": datetime(2025, 1, 1)}, InvalidRecordError, "timezone-aware"),
        (
            {"assessed_at": datetime.now(UTC) + timedelta(days=2)},
            InvalidRecordError,
            "in the future",
        ),
        ({"site_code": "nowhere"}, NotFoundError, "no site"),
    ],
)
def test_bad_assessments_are_refused(
    store: Store,
    site: SiteInfo,
    kwargs: dict[str, object],
    error: type[Exception],
    message: str,
) -> None:
    args: dict[str, object] = {
        "site_code": site.code,
        "assessor": "Wang Assessor",
        "summary": "A review.",
        "actor": OPERATOR,
    }
    args.update(kwargs)
    before = store.assessments.list(site.code)
    with pytest.raises(error, match=message):
        store.assessments.record(**args)  # type: ignore[arg-type]
    assert store.assessments.list(site.code) == before


def _cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, data_dir: Path, *args: str
) -> tuple[int, Any]:
    monkeypatch.setenv("FACEGATE_ENV", "development")
    code = cli_main.main(["--json", "--data-dir", str(data_dir), *args])
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1]) if out else None


@pytest.mark.rule("R-30")
def test_cli_records_and_lists_assessments(
    store: Store,
    settings: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _site_without_assessment(store)
    document = tmp_path / "pia.pdf"
    document.write_bytes(b"%PDF-1.7 the full assessment")
    code, body = _cli(
        capsys,
        monkeypatch,
        settings.data_dir,
        "assessment",
        "record",
        "--site",
        NEW_SITE,
        "--assessor",
        "Wang Assessor",
        "--summary",
        "Necessity and safeguards reviewed.",
        "--assessed-at",
        "2026-01-05",
        "--document",
        str(document),
    )
    assert code == 0
    recorded = body["assessment"]
    assert recorded["document_sha256"] == hashlib.sha256(document.read_bytes()).hexdigest()
    assert recorded["assessed_at"] == "2026-01-05T00:00:00+00:00"
    assert recorded["recorded_by"] == "cli"

    code, body = _cli(
        capsys, monkeypatch, settings.data_dir, "assessment", "list", "--site", NEW_SITE
    )
    assert code == 0
    assert [a["id"] for a in body["assessments"]] == [recorded["id"]]

    for bad in ("2026-01-05T10:00:00", "yesterday"):
        code, body = _cli(
            capsys,
            monkeypatch,
            settings.data_dir,
            "assessment",
            "record",
            "--site",
            NEW_SITE,
            "--assessor",
            "Wang Assessor",
            "--summary",
            "x",
            "--assessed-at",
            bad,
        )
        assert (code, body["error"]["code"]) == (InvalidRecordError.exit_code, "invalid_record")
    assert len(store.assessments.list(NEW_SITE)) == 1
