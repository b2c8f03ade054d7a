"""What decides faces, built in one place for the service and the CLI.

The site's registry (packaged models, the site's signed calibration, the site's own
models), the face pipelines and the liveness checks. A model file refused when it is
loaded (its SHA-256 differs from the registry's) is recorded as an incident (R-28) on
every path that loads one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from facegate.bench.calibrate import CALIBRATION_FILE, apply_calibration
from facegate.core.config import Engine, Settings
from facegate.errors import ModelIntegrityError
from facegate.gate.decider import FaceDecider
from facegate.gate.legacy import LegacyPipelines
from facegate.gate.liveness import GateLiveness, LivenessCheck
from facegate.gate.matcher import CalibratedMatcher
from facegate.gate.pool import PipelinePool
from facegate.liveness.challenge import ChallengeIssuer
from facegate.liveness.passive import PassiveDetector
from facegate.models.registry import ModelRegistry
from facegate.models.site import apply_site_models, site_models_path
from facegate.store import Store
from facegate.store.crypto import SiteKey
from facegate.store.records import IncidentKind
from facegate.vision.pipeline import FacePipeline, check_detector

logger = logging.getLogger(__name__)


def site_registry(
    settings: Settings,
    site_key: SiteKey | Callable[[], SiteKey],
    base: ModelRegistry | None = None,
) -> ModelRegistry:
    """``base`` (default: the packaged registry) with the site's calibration and its own
    models, both checked against their signature. ``site_key`` may be a loader: the key is
    only read when the data directory holds one of those files.

    Raises:
        ConfigError: an edited or malformed calibration or site model list.
    """
    registry = base if base is not None else ModelRegistry.default()
    data_dir = settings.data_dir
    calibration = data_dir / CALIBRATION_FILE
    if not (calibration.exists() or site_models_path(data_dir).exists()):
        return registry
    key = site_key() if callable(site_key) else site_key
    return apply_site_models(apply_calibration(registry, calibration, key), data_dir, key)


def build_pipeline(
    registry: ModelRegistry, settings: Settings, engine: Engine | None = None
) -> FacePipeline:
    """A pipeline of the settings' engine (or ``engine``) and detector; loads its models.

    Raises:
        ModelIntegrityError: a model file differs from its registered hash.
        ConfigError / MissingDependencyError: the detector cannot be built.
    """
    return FacePipeline.default(
        registry, detector=settings.detector, engine=engine or settings.engine
    )


@contextmanager
def recording_model_incidents(store: Store) -> Iterator[None]:
    """Record a ``ModelIntegrityError`` raised in the block as an incident; re-raise it."""
    with store.incidents.reporting(IncidentKind.MODEL_INTEGRITY, on=ModelIntegrityError):
        yield


@dataclass(frozen=True, slots=True)
class Runtime:
    """The registry in force, the pool of face pipelines and the liveness checks."""

    registry: ModelRegistry
    pipelines: PipelinePool
    liveness: GateLiveness
    legacy: LegacyPipelines | None = None

    def decider(
        self,
        store: Store,
        max_pixels: int,
        *,
        liveness: LivenessCheck | None = None,
        challenges: ChallengeIssuer | None = None,
    ) -> FaceDecider:
        """A face decider on these parts (``liveness`` replaces the shipped checks)."""
        return FaceDecider(
            store=store,
            pipelines=self.pipelines,
            liveness=self.liveness if liveness is None else liveness,
            matcher=CalibratedMatcher(self.registry),
            max_pixels=max_pixels,
            challenges=challenges,
            legacy=self.legacy,
        )


def build_runtime(
    settings: Settings,
    store: Store,
    *,
    base: ModelRegistry | None = None,
    registry: ModelRegistry | None = None,
    pipelines: Sequence[FacePipeline] = (),
) -> Runtime:
    """The runtime of ``store``'s site.

    ``registry``: one already assembled (default :func:`site_registry` of ``base`` with the
    store's key). ``pipelines``: ready pipelines the pool lends (the CLI keeps its own
    between invocations); by default it builds up to ``settings.pipeline_workers`` on first
    use. Models load lazily: a card check needs none.

    Raises:
        ConfigError / MissingDependencyError: the settings' engine and detector cannot be
            built (checked now, without loading anything); an edited calibration or model
            list.
    """
    if registry is None:
        registry = site_registry(settings, store.site_key, base)
    check_detector(registry, settings.detector, settings.engine)
    assembled = registry

    def build() -> FacePipeline:
        with recording_model_incidents(store):
            return build_pipeline(assembled, settings)

    def load_pad() -> PassiveDetector:
        with recording_model_incidents(store):
            return PassiveDetector(assembled)

    def build_legacy(engine: Engine) -> FacePipeline:
        with recording_model_incidents(store):
            return FacePipeline.default(assembled, engine=engine)

    pool = PipelinePool(build, settings.pipeline_workers, settings.pipeline_wait_seconds)
    if pipelines:
        pool.seed(*pipelines)
    legacy = LegacyPipelines(build_legacy, settings.engine)
    return Runtime(assembled, pool, GateLiveness(assembled, load_pad), legacy)
