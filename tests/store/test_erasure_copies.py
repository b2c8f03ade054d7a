"""Deleting a resident reaches the copies the console issue added (R-23): their home
labels, their visitor passes (which name a visitor) and any create answer kept for an
idempotent retry that mentions them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import ColumnElement, func, select

from facegate.store import Store, SubjectKind
from facegate.store.homes import Home
from facegate.store.records import DeletionReason
from facegate.store.schema import (
    Base,
    IdempotencyRecord,
    Subject,
    VisitorPass,
    VisitorPassGate,
    utcnow,
)

from .helpers import OPERATOR, SITE_CODE, ready_site


def _count(store: Store, model: type[Base], *where: ColumnElement[bool]) -> int:
    with store.reading() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


@pytest.mark.rule("R-23")
def test_deleting_a_resident_leaves_no_home_pass_or_kept_answer(store: Store) -> None:
    ready_site(store)
    store.gates.configure(
        SITE_CODE, "main", "Main",
        accepts_face=False, accepts_card=True, accepts_pin=True, accepts_otp=True,
        actor=OPERATOR,
    )  # fmt: skip
    home = Home(building="12", unit="3", household="1202")
    gone = store.add_subject(SITE_CODE, "Li Lei", SubjectKind.RESIDENT, home=home, actor=OPERATOR)
    kept = store.add_subject(SITE_CODE, "Han Meimei", SubjectKind.RESIDENT, actor=OPERATOR)
    start = utcnow()
    store.passes.create(gone.id, ["main"], start, start + timedelta(hours=2), label="Aunt Li",
                        actor=f"resident:{gone.id}")  # fmt: skip
    for number, subject in enumerate((gone, kept)):
        key = f"key-{number}"
        store.idempotency.claim(OPERATOR, key, "fingerprint")
        body = f'{{"id": "{subject.id}", "name": "{subject.display_name}"}}'
        store.idempotency.finish(OPERATOR, key, 201, body, secret=False)

    store.delete_subject(gone.id, DeletionReason.REQUEST, actor=OPERATOR)

    with store.reading() as session:
        row = session.execute(
            select(Subject.building, Subject.unit, Subject.household).where(Subject.id == gone.id)
        ).one()
    assert tuple(row) == (None, None, None)
    assert _count(store, VisitorPass, VisitorPass.subject_id == gone.id) == 0
    assert _count(store, VisitorPassGate) == 0
    assert _count(store, IdempotencyRecord, IdempotencyRecord.body.contains(gone.id)) == 0
    # Another resident's kept answer is untouched.
    assert _count(store, IdempotencyRecord, IdempotencyRecord.body.contains(kept.id)) == 1
