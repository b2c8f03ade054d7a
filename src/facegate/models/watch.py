"""Re-hashing the model files while the service runs (R-28).

Each file is hash-checked when it is loaded (:meth:`ModelRegistry.verified_path`), but a
pipeline keeps its model in memory and the next load may be days away: a file swapped on
disk would go unnoticed until a restart, then load refused or, worse, the check itself
changed. :class:`ModelWatch` re-hashes every file the gates may load (the current engine,
older engines' pipelines loaded on first need, the presentation-attack model, the site's
own models: every registry entry with a file) each ``FACEGATE_MODEL_CHECK_INTERVAL_S``.

The first mismatch is recorded as a ``model_integrity`` incident (through
``Incidents.reporting``, as a refused load is) and face
decisions fail closed (``face_unavailable``) until the service is restarted with good files;
cards, PINs and codes keep working (R-10). The state is this process's.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence

from facegate.errors import ModelIntegrityError
from facegate.models.registry import ModelRegistry
from facegate.store import Store
from facegate.store.records import IncidentKind

logger = logging.getLogger(__name__)


class ModelWatch:
    """Re-hashes ``registry``'s model files; remembers the first mismatch.

    ``names``: the models to watch (default: every entry of ``registry`` with a file).
    """

    def __init__(self, registry: ModelRegistry, names: Sequence[str] | None = None) -> None:
        self.registry = registry
        if names is None:
            names = [n for n in registry.names if registry.entry(n).has_file]
        self.names = tuple(names)
        self._failure: str | None = None
        self._lock = threading.Lock()

    @property
    def failure(self) -> str | None:
        """The first mismatch found (the check's message), or None while every file matched."""
        with self._lock:
            return self._failure

    @property
    def intact(self) -> bool:
        """No mismatch was found since the service started: faces may be decided."""
        return self.failure is None

    def check(self) -> None:
        """Hash every watched file once.

        Raises:
            ModelIntegrityError: a file is missing or differs from the registry (the first
                one found; later checks keep failing until a restart).
        """
        for name in self.names:
            try:
                self.registry.verified_path(name)
            except ModelIntegrityError as exc:
                with self._lock:
                    if self._failure is None:
                        self._failure = str(exc)
                raise


def tick(watch: ModelWatch, store: Store) -> str | None:
    """One re-hash of ``watch``'s files; a mismatch is recorded as an incident (once while it
    stays open: the store keeps one open incident per detail). Returns the mismatch, if any
    (also any found by an earlier tick)."""
    try:
        with store.incidents.reporting(IncidentKind.MODEL_INTEGRITY, on=ModelIntegrityError):
            watch.check()
    except ModelIntegrityError:
        logger.exception("a model file changed while the service ran: faces are refused")
    return watch.failure


async def run_watch(watch: ModelWatch, store: Store, interval_s: float) -> None:
    """:func:`tick` every ``interval_s`` seconds, off the event loop, until cancelled."""
    if not interval_s > 0:
        raise ValueError(f"interval_s: must be > 0, got {interval_s}")
    while True:
        await asyncio.sleep(interval_s)
        try:
            await asyncio.to_thread(tick, watch, store)
        except Exception:  # a store hiccup must not end the checks for good
            logger.exception("the model-file check failed to run; trying again next interval")
