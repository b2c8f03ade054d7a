"""Decisions from scores at named, calibrated operating points."""

from __future__ import annotations

from enum import StrEnum

from facegate.errors import ConfigError
from facegate.models.registry import ModelEntry, OperatingPointInfo


class OperatingPoint(StrEnum):
    """Named thresholds, each calibrated for a false match rate (see the registry entry).

    FMR_1E4 is stricter (fewer false matches, more false non-matches) than FMR_1E3 and is
    the default for doors; FMR_1E5 is stricter still. For 1:N at a site's gallery size see
    :func:`facegate.matching.community.identification_threshold`.
    """

    FMR_1E3 = "fmr_1e-3"
    FMR_1E4 = "fmr_1e-4"
    #: Calibrated only where the impostor comparisons resolve it (>= 100,000).
    FMR_1E5 = "fmr_1e-5"


DEFAULT_OPERATING_POINT = OperatingPoint.FMR_1E4


class Decision(StrEnum):
    """Outcome of comparing a probe with references."""

    MATCH = "match"
    NO_MATCH = "no_match"


class Outcome(StrEnum):
    """Outcome of 1:N identification."""

    IDENTIFIED = "identified"
    UNKNOWN = "unknown"


def decide(similarity: float, threshold: float) -> Decision:
    """MATCH when ``similarity >= threshold``; a higher threshold is stricter."""
    return Decision.MATCH if similarity >= threshold else Decision.NO_MATCH


def operating_point(entry: ModelEntry, point: OperatingPoint | str) -> OperatingPointInfo:
    """The calibrated threshold ``point`` of the model ``entry``.

    Raises:
        ValueError: ``point`` is not an :class:`OperatingPoint` name.
        ConfigError: the model has not been calibrated for that point.
    """
    name = OperatingPoint(point).value
    try:
        return entry.operating_points[name]
    except KeyError:
        raise ConfigError(
            f"model {entry.name!r} has no calibrated operating point {name!r}; "
            "run `facegate calibrate` on labelled data"
        ) from None
