"""Crash-test worker: adds, consents, enrolls and deletes subjects until it is SIGKILLed.

Run by ``test_crash_safety.py`` as ``python crash_worker.py SEED`` with FACEGATE_DATA_DIR and
FACEGATE_ENV=development set. Prints ``ready`` once the store is open.
"""

from __future__ import annotations

import contextlib
import random
import sys

import numpy as np

from facegate.core.config import load_settings
from facegate.errors import AlreadyExistsError
from facegate.store import EMBEDDING_DIM, Store, SubjectKind

SITE = "crash-site"
MODEL = "crash-model"
BATCH = 3
ACTOR = "crash-worker"


def main(seed: int) -> None:
    pick = random.Random(seed)
    rng = np.random.default_rng(seed)
    with Store.open(load_settings()) as store:
        with contextlib.suppress(AlreadyExistsError):
            store.create_site(SITE, "Crash Site")
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        while True:
            subjects = store.list_subjects(SITE)
            waiting = [s for s in subjects if not s.has_active_consent]
            consented = [s for s in subjects if s.has_active_consent]
            roll = pick.random()
            if waiting:
                store.record_consent(waiting[0].id, "notice-v1", "signature", "resident")
            elif not consented or roll < 0.2:
                store.add_subject(SITE, f"resident {pick.randrange(10**6)}", SubjectKind.RESIDENT)
            elif roll < 0.8:
                vectors = rng.standard_normal((BATCH, EMBEDDING_DIM)).astype(np.float32)
                store.enroll(pick.choice(consented).id, list(vectors), MODEL, [0.9] * BATCH, ACTOR)
            else:
                store.delete_subject(pick.choice(consented).id, "crash test", ACTOR)


if __name__ == "__main__":
    main(int(sys.argv[1]))
