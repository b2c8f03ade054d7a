"""Which engine made a template, and how far a site's move to a new engine has got.

Raw images are never kept, so nobody's templates can be re-embedded when a site changes
engine: each person is matched with the engine of their templates until they enroll again,
and the people still on an older engine are counted and asked to re-enroll.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from facegate.core.config import Engine
from facegate.vision.embed import RESNET_V1
from facegate.vision.sface import SFACE

#: The embedding model each engine's templates carry (``Template.model_name``).
ENGINE_MODELS: dict[Engine, str] = {Engine.SFACE: SFACE, Engine.DLIB: RESNET_V1}


def embedding_model(engine: Engine) -> str:
    return ENGINE_MODELS[Engine(engine)]


def engine_of(model_name: str) -> Engine | None:
    """The engine whose templates carry ``model_name``; None for a model no engine makes."""
    for engine, model in ENGINE_MODELS.items():
        if model == model_name:
            return engine
    return None


def needs_reenrollment(models: frozenset[str], current: Engine) -> bool:
    """Someone with templates, none of them the current engine's."""
    return bool(models) and embedding_model(current) not in models


@dataclass(frozen=True, slots=True)
class EngineCensus:
    """People whose face can be matched now, by the engine they can be matched with."""

    engine: Engine
    people: int
    on_engine: int
    #: People with templates of an older engine only: matched with it, asked to re-enroll.
    legacy_only: dict[str, int] = field(default_factory=dict)

    @property
    def to_reenroll(self) -> int:
        return sum(self.legacy_only.values())


def census(models_by_person: Mapping[str, frozenset[str]], current: Engine) -> EngineCensus:
    current_model = embedding_model(current)
    legacy: Counter[str] = Counter()
    for models in models_by_person.values():
        if current_model in models:
            continue
        for model in models:
            engine = engine_of(model)
            legacy[engine.value if engine is not None else model] += 1
    on_engine = sum(1 for models in models_by_person.values() if current_model in models)
    return EngineCensus(current, len(models_by_person), on_engine, dict(sorted(legacy.items())))
