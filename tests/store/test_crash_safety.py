"""SIGKILL at random points never leaves half an enrollment, withdrawal or deletion, and the
audit chain still verifies (R-23, R-27).

A worker (``crash_worker.py``) is forked and killed at seeded random moments while it
mostly enrolls, mostly withdraws or mostly deletes. After each kill the store is reopened
(which runs ``reconcile``) and every operation must be whole or absent, on SQLite and on
PostgreSQL (where the server lives on and rolls the killed connection's transaction back):

- an active subject's templates are whole batches, match the audit log exactly, all
  decrypt, and have a data key; a subject without templates has no key;
- a withdrawn consent has no templates, one receipt, and is in the erasure log;
- a deleted subject has no templates, no key, no name, one ``subject.deleted`` event with
  its receipt, and is in the erasure log;
- no key is left without a live owner, and reconcile never had to erase templates
  (which would mean a template had been left without its key).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import select
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from facegate.errors import NotFoundError
from facegate.store import Store, SubjectInfo, SubjectStatus
from facegate.store.engine import make_engine
from facegate.store.keystore_schema import ErasedKind

from .crash_worker import BATCH, MODEL, MODES, SITE, run, settings_for

#: Kill points per mode: 3 modes × 10 kills.
KILLS_PER_MODE = 10
SEED = 20251123
#: The worker must be ready (store open, site set up) within this many seconds.
READY_TIMEOUT_S = 60
#: Audit actions that erase templates, with the count in ``templates_deleted``.
ERASING_ACTIONS = frozenset({"consent.withdrawn", "subject.deleted", "templates.erased"})


def _run_and_kill(
    data_dir: Path,
    database_url: str | None,
    seed: int,
    mode: str,
    delay: float,
    wait_ready: bool,
) -> None:
    context = multiprocessing.get_context("fork")
    read_fd, write_fd = os.pipe()
    worker = context.Process(
        target=run, args=(data_dir, seed, mode, write_fd, database_url), daemon=True
    )
    worker.start()
    os.close(write_fd)
    try:
        if wait_ready:
            ready, _, _ = select.select([read_fd], [], [], READY_TIMEOUT_S)
            assert ready, "the worker never got ready"
            assert os.read(read_fd, 1) == b"r", f"the worker died early ({worker.exitcode})"
        time.sleep(delay)
        assert worker.pid is not None
        os.kill(worker.pid, signal.SIGKILL)
        worker.join(timeout=10)
    finally:
        os.close(read_fd)
    assert worker.exitcode == -signal.SIGKILL, f"worker died on its own: {worker.exitcode}"


def _check_invariants(data_dir: Path, database_url: str | None, counts: Counter[str]) -> None:
    settings = settings_for(data_dir, database_url)
    with Store.open(settings) as store:
        report = store.verify_audit()
        assert report.ok, report
        reconciled = store.last_reconcile
        assert reconciled is not None
        # Reconcile may destroy a key or log an erasure a kill left pending, but it must
        # never find templates without their key.
        assert reconciled.receipts == [], reconciled
        try:
            subjects = store.list_subjects(SITE, include_deleted=True)
        except NotFoundError:
            return  # killed before the site was created
        keys = store.keystore.owners()
        logged = {e.owner_id for kind in ErasedKind for e in store.keystore.erasures(kind)}
        # Read past the store's API, on a connection of its own (SQLite or PostgreSQL).
        engine = make_engine(settings.resolved_database_url)
        try:
            with engine.connect() as db:
                receipts = [
                    tuple(row)
                    for row in db.exec_driver_sql(
                        "SELECT subject_id, reason, subject_erased, audit_event_id"
                        " FROM deletion_receipt"
                    )
                ]
                actions = {
                    row[0]: row[1]
                    for row in db.exec_driver_sql("SELECT id, action FROM audit_event")
                }
                withdrawn: list[tuple[str, str, int]] = [
                    (row[0], row[1], row[2])
                    for row in db.exec_driver_sql(
                        "SELECT consent.id, consent.subject_id, count(template.id) FROM consent"
                        " LEFT JOIN template ON template.consent_id = consent.id"
                        " WHERE consent.withdrawn_at IS NOT NULL"
                        " GROUP BY consent.id, consent.subject_id"
                    )
                ]
        finally:
            engine.dispose()
        assert "templates.erased" not in actions.values()
        for subject_id, reason, erased, event_id in receipts:
            # Every receipt committed with the audit event that records it.
            expected = "subject.deleted" if erased else "consent.withdrawn"
            assert actions[event_id] == expected, (subject_id, reason)
        for consent_id, _, templates in withdrawn:
            assert templates == 0
            assert consent_id in logged or _owner_deleted(subjects, withdrawn, consent_id)
        live_owners = set()
        expected_gallery = 0
        for subject in subjects:
            events = store.audit_events(subject.id)
            enrolled = sum(
                int(e.detail["count"] or 0) for e in events if e.action == "template.enrolled"
            )
            erased = sum(
                int(e.detail["templates_deleted"] or 0)
                for e in events
                if e.action in ERASING_ACTIONS
            )
            mine = [r for r in receipts if r[0] == subject.id]
            withdrawals = [e for e in events if e.action == "consent.withdrawn"]
            assert len([r for r in mine if not r[2]]) == len(withdrawals)
            counts["withdrawn"] += len(withdrawals)
            if subject.status is SubjectStatus.ACTIVE:
                assert subject.template_count % BATCH == 0
                # Templates and their audit events commit together or not at all.
                assert subject.template_count == enrolled - erased
                assert (subject.id in keys) == (subject.template_count > 0)
                if subject.template_count:
                    live_owners.add(subject.id)
                    vectors = store.load_subject_templates(subject.id, MODEL, "checker", "crash")
                    assert vectors.shape[0] == subject.template_count
                expected_gallery += subject.template_count
            else:
                assert subject.template_count == 0
                assert subject.id not in keys
                assert subject.id in logged
                assert subject.display_name is None
                deletions = [e for e in events if e.action == "subject.deleted"]
                assert len(deletions) == 1
                assert [r[3] for r in mine if r[2]] == [deletions[0].id]
                counts["deleted"] += 1
            counts["templates"] += enrolled
        assert keys == live_owners
        # Every stored ciphertext still decrypts: nothing torn.
        assert len(store.load_gallery(SITE, MODEL, "checker", "crash test")) == expected_gallery


def _owner_deleted(
    subjects: list[SubjectInfo], withdrawn: list[tuple[str, str, int]], consent_id: str
) -> bool:
    """A consent closed by its subject's deletion is covered by the subject's log entry."""
    owner = next(subject_id for cid, subject_id, _ in withdrawn if cid == consent_id)
    return any(s.id == owner and s.status is SubjectStatus.DELETED for s in subjects)


@pytest.mark.slow
@pytest.mark.rule("R-23", "R-27")
def test_r23_r27_sigkill_never_leaves_partial_writes(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    rng = random.Random(SEED)
    totals: Counter[str] = Counter()
    for mode in MODES:
        data_dir = tmp_path / mode
        # One database per mode, as each mode has its own data dir (site key, key store).
        database_url: str | None = None
        if backend == "postgresql":
            database_url = request.getfixturevalue("postgres_databases")()
        counts: Counter[str] = Counter()
        for kill in range(KILLS_PER_MODE):
            # Mostly mid-work; sometimes during start-up (key creation, migration, setup).
            wait_ready = rng.random() < 0.85
            delay = rng.uniform(0.05, 0.6) if wait_ready else rng.uniform(0.0, 1.0)
            _run_and_kill(data_dir, database_url, SEED + kill, mode, delay, wait_ready)
            counts = Counter()
            _check_invariants(data_dir, database_url, counts)
        totals[f"{mode}:templates"] = counts["templates"]
        totals[f"{mode}:withdrawn"] = counts["withdrawn"]
        totals[f"{mode}:deleted"] = counts["deleted"]
    # The workers really did each operation, so the checks above had something to check.
    assert totals["enroll:templates"] > 0, json.dumps(totals)
    assert totals["withdraw:withdrawn"] > 0, json.dumps(totals)
    assert totals["delete:deleted"] > 0, json.dumps(totals)
