"""Crash-test worker: enrolls, withdraws and deletes until it is SIGKILLed.

``test_crash_safety.py`` forks it (``run(data_dir, seed, mode, ready_fd, database_url)``)
so that no second interpreter has to import facegate;
``python crash_worker.py DATA_DIR SEED MODE [DATABASE_URL]`` runs it by hand. It writes
one byte to ``ready_fd`` once the store is open and the site is ready for enrollment.
``mode`` picks what it mostly does: one of ``MODES``.
"""

from __future__ import annotations

import contextlib
import os
import random
import sys
from pathlib import Path

import numpy as np

from facegate.core.config import Environment, Settings
from facegate.errors import AlreadyExistsError, NotFoundError
from facegate.privacy.notice_template import starter_notice
from facegate.store import EMBEDDING_DIM, Store, SubjectKind
from facegate.store.records import DeletionReason

SITE = "crash-site"
MODEL = "crash-model"
NOTICE = "crash-1"
BATCH = 3
ACTOR = "crash-worker"
#: What the worker mostly does in each mode; the rest of the time it sets subjects up.
MODES = ("enroll", "withdraw", "delete")


def settings_for(data_dir: Path, database_url: str | None = None) -> Settings:
    """SQLite in ``data_dir`` unless ``database_url`` names another database."""
    return Settings(data_dir=data_dir, env=Environment.DEVELOPMENT, database_url=database_url)


def _ready_site(store: Store) -> None:
    # Every step is repeatable: an earlier worker may have died half-way through setup.
    with contextlib.suppress(AlreadyExistsError):
        store.create_site(SITE, "Crash Site", actor=ACTOR)
    try:
        store.notices.current(SITE)
    except NotFoundError:
        notice = starter_notice("Crash Site", "Crash Property Co.", "front desk")
        store.notices.publish(SITE, NOTICE, notice, actor=ACTOR)
    if not store.assessments.list(SITE):
        store.assessments.record(SITE, "Assessor", "PIA for the crash test.", actor=ACTOR)


def run(
    data_dir: Path,
    seed: int,
    mode: str,
    ready_fd: int | None = None,
    database_url: str | None = None,
) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    pick = random.Random(seed)
    rng = np.random.default_rng(seed)
    with Store.open(settings_for(data_dir, database_url)) as store:
        _ready_site(store)
        if ready_fd is not None:
            os.write(ready_fd, b"r")
        while True:
            subjects = store.list_subjects(SITE)
            waiting = [s for s in subjects if not s.has_active_consent]
            enrolled = [s for s in subjects if s.has_active_consent and s.template_count]
            consented = [s for s in subjects if s.has_active_consent]
            roll = pick.random()
            if waiting and roll < 0.5:
                # A new subject, or one who withdrew and now consents again.
                store.consents.record(
                    pick.choice(waiting).id, NOTICE, "signature", "scan:form", actor=ACTOR
                )
            elif not consented or roll < 0.6:
                store.add_subject(
                    SITE, f"resident {pick.randrange(10**6)}", SubjectKind.RESIDENT, actor=ACTOR
                )
            elif not enrolled or (mode == "enroll" and roll < 0.9):
                vectors = rng.standard_normal((BATCH, EMBEDDING_DIM)).astype(np.float32)
                store.enroll(pick.choice(consented).id, list(vectors), MODEL, [0.9] * BATCH, ACTOR)
            elif mode == "withdraw" or (mode == "enroll" and roll < 0.95):
                target = pick.choice(enrolled)
                consent = next(c for c in store.consents.list(target.id) if c.withdrawn_at is None)
                store.consents.withdraw(consent.id, actor=ACTOR)
            else:
                store.delete_subject(pick.choice(enrolled).id, DeletionReason.REQUEST, ACTOR)


if __name__ == "__main__":
    url = sys.argv[4] if len(sys.argv) > 4 else None
    run(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3], database_url=url)
