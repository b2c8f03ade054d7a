"""An operator reaching 100,000 enrolled people is told to file with the CAC (R-31).

The threshold test builds a real database of 100,000 people: 99,998 are bulk-inserted with
consents and template rows of the real shape (their ciphertext is random bytes of the right
length: they are counted, never decrypted), the last two are enrolled through the API.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import ColumnElement, String, cast, func, insert, literal, select, text

from facegate.cli import main as cli_main
from facegate.core.config import Settings
from facegate.errors import InvalidRecordError, NotFoundError
from facegate.privacy.notice_template import starter_notice
from facegate.store import SiteInfo, Store
from facegate.store.crypto import NONCE_BYTES, TEMPLATE_CIPHERTEXT_BYTES
from facegate.store.filing import (
    FILING_DEADLINE_WORKING_DAYS,
    FILING_THRESHOLD,
    add_working_days,
)
from facegate.store.records import ConsentMethod, SubjectKind, SubjectStatus
from facegate.store.schema import Consent, Notice, Site, Subject, Template

from .helpers import MODEL, NOTICE_VERSION, OPERATOR, consented_subject, random_embeddings

COMPANY = "Sunny Property Co."
#: The operator's two sites share the count; a third site of another operator does not.
EAST, WEST, OTHER = "sunny-east", "sunny-west", "moon-court"
BULK_CACHE_KIB = 128 * 1024
#: Where the row-specific half of a 32-character id starts (SQL substr counts from 1).
ID_TAIL_START = 17


def _site(store: Store, code: str, operator: str) -> SiteInfo:
    site = store.create_site(
        code, code.replace("-", " ").title(), operator=operator, actor=OPERATOR
    )
    store.notices.publish(
        code, NOTICE_VERSION, starter_notice(site.name, operator, "front desk"), actor=OPERATOR
    )
    store.assessments.record(code, "Wang Assessor", "Reviewed.", actor=OPERATOR)
    return site


def _bulk_enrolled(store: Store, site_code: str, people: int) -> None:
    """``people`` active residents at ``site_code``, each with a consent under the site's
    notice and one template row, in one transaction.

    INSERT ... SELECT from a counting CTE (SQLAlchemy Core): SQLite makes the rows itself,
    about 3 s for 100,000 people where an executemany of Python rows took about 16 s on the
    same machine. Ids are 32 hex digits like ``new_id``'s, in insertion order; the
    ciphertext is random bytes of the real length.
    """
    now = datetime.now(UTC)
    created = literal(now, Subject.created_at.type)
    with store.transaction() as session:
        # Plenty of page cache for this connection: the indexes grow by 100,000 entries.
        session.execute(text(f"PRAGMA cache_size = -{BULK_CACHE_KIB}"))
        site_id, notice_id = session.execute(
            select(Site.id, Notice.id)
            .join(Notice, Notice.site_id == Site.id)
            .where(Site.code == site_code)
        ).one()
        counter = select(literal(1).label("n")).cte("counter", recursive=True)
        counter = counter.union_all(select(counter.c.n + 1).where(counter.c.n < people))
        session.execute(
            insert(Subject).from_select(
                ["id", "site_id", "display_name", "kind", "status", "created_at"],
                select(
                    _numbered_id(counter.c.n),
                    literal(site_id),
                    literal("resident ") + cast(counter.c.n, String),
                    literal(SubjectKind.RESIDENT.value),
                    literal(SubjectStatus.ACTIVE.value),
                    created,
                ),
            )
        )
        new_subjects = (
            select(Subject.id)
            .where(
                Subject.site_id == site_id,
                ~select(Consent.id).where(Consent.subject_id == Subject.id).exists(),
            )
            .subquery()
        )
        session.execute(
            insert(Consent).from_select(
                [
                    "id",
                    "subject_id",
                    "notice_id",
                    "notice_version",
                    "given_at",
                    "expires_at",
                    "method",
                    "evidence_ref",
                    "given_by",
                    "collected_by",
                ],
                select(
                    _derived_id(new_subjects.c.id),
                    new_subjects.c.id,
                    literal(notice_id),
                    literal(NOTICE_VERSION),
                    created,
                    literal(now + timedelta(days=365), Consent.expires_at.type),
                    literal(ConsentMethod.SIGNATURE.value),
                    literal("scan:bulk"),
                    literal("resident"),
                    literal(OPERATOR),
                ),
            )
        )
        unenrolled = (
            select(Consent.id, Consent.subject_id)
            .join(Subject, Subject.id == Consent.subject_id)
            .where(
                Subject.site_id == site_id,
                ~select(Template.id).where(Template.subject_id == Subject.id).exists(),
            )
            .subquery()
        )
        session.execute(
            insert(Template).from_select(
                [
                    "id",
                    "subject_id",
                    "consent_id",
                    "model_name",
                    "nonce",
                    "ciphertext",
                    "quality",
                    "created_at",
                ],
                select(
                    _derived_id(unenrolled.c.subject_id),
                    unenrolled.c.subject_id,
                    unenrolled.c.id,
                    literal(MODEL),
                    func.randomblob(NONCE_BYTES),
                    func.randomblob(TEMPLATE_CIPHERTEXT_BYTES),
                    literal(0.9),
                    created,
                ),
            )
        )
        enrolled = session.scalar(
            select(func.count(Template.id))
            .join(Subject, Subject.id == Template.subject_id)
            .where(Subject.site_id == site_id)
        )
        assert enrolled == people


def _numbered_id(number: ColumnElement[int]) -> ColumnElement[str]:
    """A 32-hex-digit id: a random prefix (one per call) and the row number, so rows enter
    the indexes in order (appending to a B-tree is much faster than random inserts)."""
    return literal(os.urandom(8).hex()) + func.printf("%016x", number)


def _derived_id(subject_id: ColumnElement[str]) -> ColumnElement[str]:
    """A 32-hex-digit id in the order of ``subject_id`` (see ``_numbered_id``)."""
    return literal(os.urandom(8).hex()) + func.substr(subject_id, ID_TAIL_START)


def _enroll_one(store: Store, site_code: str, seed: int) -> str:
    subject = consented_subject(store, site_code=site_code, name=f"Person {seed}")
    store.enroll(subject.id, random_embeddings(2, seed), MODEL, [0.9, 0.9], OPERATOR)
    return subject.id


@pytest.mark.rule("R-31")
def test_the_hundred_thousandth_person_raises_the_filing_alert(
    store: Store, raw_db: sqlite3.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    _site(store, EAST, COMPANY)
    _site(store, WEST, COMPANY)
    _site(store, OTHER, "Moon Estates Ltd.")
    east_people = 60_000
    _bulk_enrolled(store, EAST, east_people)
    _bulk_enrolled(store, WEST, FILING_THRESHOLD - 2 - east_people)
    _bulk_enrolled(store, OTHER, 5)  # another operator's people do not count

    # Two templates for one person count once; a deleted person does not count.
    gone = _enroll_one(store, WEST, seed=1)
    store.delete_subject(gone, "request", OPERATOR)
    _enroll_one(store, WEST, seed=2)  # person 99,999
    below = store.filing.status(EAST)
    assert (below.enrolled_people, below.filing_due, below.due_by) == (
        FILING_THRESHOLD - 1,
        False,
        None,
    )
    assert raw_db.execute("SELECT count(*) FROM filing_alert").fetchone() == (0,)

    with caplog.at_level(logging.WARNING, logger="facegate.store.filing"):
        _enroll_one(store, EAST, seed=3)  # person 100,000

    status = store.filing.status(WEST)
    today = datetime.now(UTC).date()
    expected_due = add_working_days(today, FILING_DEADLINE_WORKING_DAYS)
    assert status.operator == COMPANY
    assert (status.enrolled_people, status.threshold) == (FILING_THRESHOLD, FILING_THRESHOLD)
    assert status.filing_due
    assert status.alert_enrolled_people == FILING_THRESHOLD
    assert status.due_by == expected_due
    assert status.alert_raised_at is not None
    assert status.alert_raised_at.date() == today
    assert store.filing.status(OTHER).enrolled_people == 5
    assert not store.filing.status(OTHER).filing_due

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert COMPANY in warnings[0].getMessage()
    assert expected_due.isoformat() in warnings[0].getMessage()

    (detail,) = raw_db.execute(
        "SELECT detail FROM audit_event WHERE action = 'operator.filing_due'"
    ).fetchone()
    assert json.loads(detail) == {
        "operator": COMPANY,
        "enrolled_people": FILING_THRESHOLD,
        "threshold": FILING_THRESHOLD,
        "due_by": expected_due.isoformat(),
    }

    # Raised once: the next enrollment neither adds an alert nor warns again.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="facegate.store.filing"):
        _enroll_one(store, WEST, seed=4)
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]
    assert raw_db.execute("SELECT count(*) FROM filing_alert").fetchone() == (1,)
    assert store.filing.status(EAST).enrolled_people == FILING_THRESHOLD + 1
    assert store.verify_audit().ok


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        (date(2026, 11, 23), 0, date(2026, 11, 23)),  # Monday
        (date(2026, 11, 23), 1, date(2026, 11, 24)),
        (date(2026, 11, 27), 1, date(2026, 11, 30)),  # Friday -> Monday
        (date(2026, 11, 28), 1, date(2026, 11, 30)),  # Saturday -> Monday
        (date(2026, 11, 29), 5, date(2026, 12, 4)),  # Sunday -> Friday
        (date(2026, 11, 23), 30, date(2027, 1, 4)),  # six whole weeks
        (date(2026, 11, 25), 30, date(2027, 1, 6)),
    ],
)
def test_working_days_skip_weekends(start: date, days: int, due: date) -> None:
    assert add_working_days(start, days) == due


def test_working_days_refuse_a_negative_count() -> None:
    with pytest.raises(ValueError, match="days must be >= 0"):
        add_working_days(date(2026, 1, 1), -1)


@pytest.mark.rule("R-31")
def test_a_small_operator_is_not_alerted(store: Store, site: SiteInfo) -> None:
    _enroll_one(store, site.code, seed=5)
    status = store.filing.status(site.code)
    assert (status.enrolled_people, status.filing_due, status.alert_raised_at) == (1, False, None)
    assert store.filing.operator_status(status.operator) == status


def test_status_of_an_unknown_site_or_operator(store: Store, site: SiteInfo) -> None:
    with pytest.raises(NotFoundError):
        store.filing.status("nowhere")
    with pytest.raises(InvalidRecordError):
        store.filing.operator_status("  ")
    assert store.filing.operator_status("Nobody Ltd.").enrolled_people == 0


def test_cli_shows_the_filing_status(
    store: Store,
    site: SiteInfo,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _enroll_one(store, site.code, seed=6)
    monkeypatch.setenv("FACEGATE_ENV", "development")
    code = cli_main.main(
        ["--json", "--data-dir", str(settings.data_dir), "filing", "status", "--site", site.code]
    )
    assert code == 0
    body = json.loads(capsys.readouterr().out)
    assert body["filing"]["enrolled_people"] == 1
    assert body["filing"]["threshold"] == FILING_THRESHOLD
    assert body["filing_due"] is False
