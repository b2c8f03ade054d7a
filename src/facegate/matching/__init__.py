"""Scores, decisions at calibrated operating points, 1:1 verification and 1:N identification."""

from facegate.matching.decide import (
    DEFAULT_OPERATING_POINT,
    Decision,
    OperatingPoint,
    Outcome,
    decide,
    operating_point,
)
from facegate.matching.index import TemplateIndex
from facegate.matching.score import score
from facegate.matching.search import (
    Identification,
    IndexedGalleryLike,
    Verification,
    identify,
    nearest_subjects,
    verify,
)

__all__ = [
    "DEFAULT_OPERATING_POINT",
    "Decision",
    "Identification",
    "IndexedGalleryLike",
    "OperatingPoint",
    "Outcome",
    "TemplateIndex",
    "Verification",
    "decide",
    "identify",
    "nearest_subjects",
    "operating_point",
    "score",
    "verify",
]
