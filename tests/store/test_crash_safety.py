"""SIGKILL at random points never leaves half an enrollment, half a deletion or a broken chain.

A worker process (``crash_worker.py``) enrolls in batches of 3 and deletes subjects; it is
killed at seeded random moments, and after each kill the store is reopened and checked.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from facegate.core.config import Environment, Settings
from facegate.errors import NotFoundError
from facegate.store import Store, SubjectStatus

from .crash_worker import BATCH, MODEL, SITE

WORKER = Path(__file__).with_name("crash_worker.py")
KILLS = 18
SEED = 20251123


def _run_and_kill(data_dir: Path, seed: int, delay: float, wait_ready: bool, log: Path) -> None:
    env = {**os.environ, "FACEGATE_DATA_DIR": str(data_dir), "FACEGATE_ENV": "development"}
    with log.open("wb") as stderr:
        worker = subprocess.Popen(
            [sys.executable, str(WORKER), str(seed)], env=env, stdout=subprocess.PIPE, stderr=stderr
        )
    assert worker.stdout is not None
    if wait_ready:
        assert worker.stdout.readline() == b"ready\n", log.read_text()
    time.sleep(delay)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    worker.stdout.close()
    assert worker.returncode == -signal.SIGKILL, f"worker died on its own:\n{log.read_text()}"


def _check_invariants(settings: Settings, counts: Counter[str]) -> None:
    with Store.open(settings) as store:
        report = store.verify_audit()
        assert report.ok, report
        try:
            subjects = store.list_subjects(SITE, include_deleted=True)
        except NotFoundError:
            return  # killed before the site was created
        db = sqlite3.connect(settings.data_dir / "facegate.sqlite")
        try:
            keys = dict(db.execute("SELECT subject_id, count(*) FROM subject_key GROUP BY 1"))
        finally:
            db.close()
        expected_gallery = 0
        for subject in subjects:
            events = store.audit_events(subject.id)
            enrolled = sum(
                int(e.detail["count"] or 0) for e in events if e.action == "template.enrolled"
            )
            if subject.status is SubjectStatus.ACTIVE:
                assert subject.template_count % BATCH == 0
                # Templates and their audit event commit together or not at all.
                assert subject.template_count == enrolled
                assert keys.get(subject.id, 0) == (1 if subject.template_count else 0)
                expected_gallery += subject.template_count
            else:
                assert subject.template_count == 0
                assert subject.id not in keys
                assert subject.display_name is None
                assert [e.action for e in events].count("subject.deleted") == 1
                counts["deleted"] += 1
            counts["templates"] += subject.template_count
        # Every stored ciphertext still decrypts: nothing torn.
        assert len(store.load_gallery(SITE, MODEL, "checker", "crash test")) == expected_gallery


@pytest.mark.slow
def test_r23_r27_sigkill_never_leaves_partial_writes(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, env=Environment.DEVELOPMENT)
    rng = random.Random(SEED)
    counts: Counter[str] = Counter()
    for kill in range(KILLS):
        # Mostly mid-work; sometimes during start-up (key creation, migration).
        wait_ready = rng.random() < 0.8
        delay = rng.uniform(0.02, 0.4) if wait_ready else rng.uniform(0.0, 1.0)
        _run_and_kill(data_dir, SEED + kill, delay, wait_ready, tmp_path / f"worker-{kill}.log")
        _check_invariants(settings, counts)
    # The workers really did enroll and delete, so the checks above had something to check.
    assert counts["templates"] > 0
    assert counts["deleted"] > 0
