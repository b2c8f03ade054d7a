"""Calibrating operating points: the threshold that meets each target false match rate.

The packaged thresholds come from the LFW development subset, all-vs-all. A site can
recalibrate on its own labelled images with ``facegate calibrate``; the result is written
to ``<data_dir>/calibration.json`` and overrides the packaged points for that site.

The file may also carry the fitted impostor tail (``impostor_tails``, one per model) from
which 1:N thresholds are set for the site's gallery size
(:func:`facegate.matching.community.identification_threshold`). A file without it (written
before tails existed) loads as before; with it, the signature covers both parts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from facegate.bench.metrics import fnmr_at_fmr
from facegate.bench.report import write_json
from facegate.errors import ConfigError, FacegateError
from facegate.matching.community import (
    DEFAULT_FPIR,
    IdentificationThreshold,
    identification_threshold,
)
from facegate.matching.decide import OperatingPoint
from facegate.models.impostor_tail import ImpostorTail, parse_impostor_tail
from facegate.models.registry import ModelRegistry, OperatingPointInfo
from facegate.store.audit import canonical_json
from facegate.store.crypto import SiteKey

CALIBRATION_FILE = "calibration.json"
TARGET_FMR = {
    OperatingPoint.FMR_1E3: 1e-3,
    OperatingPoint.FMR_1E4: 1e-4,
    OperatingPoint.FMR_1E5: 1e-5,
}
#: Calibrated only when the impostor comparisons resolve them; the others are required.
OPTIONAL_POINTS = frozenset({OperatingPoint.FMR_1E5})
#: Gallery sizes (templates) whose 1:N threshold ``facegate calibrate`` reports.
REPORTED_GALLERY_SIZES = (100, 1_000, 10_000)


def calibrate(
    genuine: NDArray[np.float64], impostor: NDArray[np.float64], source: str, command: str
) -> dict[str, OperatingPointInfo]:
    """One operating point per :class:`OperatingPoint`, each the smallest threshold whose
    FMR on ``impostor`` does not exceed the target. :data:`OPTIONAL_POINTS` that the
    impostor comparisons cannot resolve are left out.

    Raises:
        ConfigError: too few impostor comparisons to resolve a required target (fewer
            than 1/FMR).
    """
    if genuine.size == 0:
        raise ConfigError("no same-person pairs with a face in both images: nothing to calibrate")
    points: dict[str, OperatingPointInfo] = {}
    for point, target in TARGET_FMR.items():
        if impostor.size * target < 1:
            if point in OPTIONAL_POINTS:
                continue
            raise ConfigError(
                f"{impostor.size} impostor comparisons cannot resolve FMR {target:g}; "
                f"at least {round(1 / target)} are needed (add images of more people)"
            )
        result = fnmr_at_fmr(genuine, impostor, target)
        points[point.value] = OperatingPointInfo(
            name=point.value,
            threshold=result.threshold,
            target_fmr=target,
            fmr_measured=result.fmr_achieved,
            fnmr_measured=result.fnmr,
            n_impostor=result.n_impostor,
            n_genuine=result.n_genuine,
            calibrated_on=source,
            command=command,
        )
    return points


def community_thresholds(
    tail: ImpostorTail, fpir: float = DEFAULT_FPIR
) -> list[IdentificationThreshold]:
    """The 1:N threshold at ``fpir`` for each of :data:`REPORTED_GALLERY_SIZES`."""
    return [identification_threshold(tail, n, fpir) for n in REPORTED_GALLERY_SIZES]


def write_calibration(
    path: Path,
    model_name: str,
    points: Mapping[str, OperatingPointInfo],
    site_key: SiteKey,
    impostor_tail: ImpostorTail | None = None,
) -> Path:
    """Write ``points`` (and the fitted ``impostor_tail``) signed with the site key, so an
    edited file is refused on load."""
    models = {model_name: {name: asdict(p) for name, p in points.items()}}
    tails = None if impostor_tail is None else {model_name: asdict(impostor_tail)}
    signature = site_key.sign_config(_signed_payload(models, tails))
    document: dict[str, Any] = {"models": models, "signature": signature}
    if tails is not None:
        document["impostor_tails"] = tails
    return write_json(document, path)


def _signed_payload(models: object, tails: object | None) -> bytes:
    """What the signature covers: the points alone in a file without tails (the original
    format, so old files still verify), else points and tails together."""
    signed = models if tails is None else {"models": models, "impostor_tails": tails}
    return canonical_json(signed).encode("utf-8")


def apply_calibration(registry: ModelRegistry, path: Path, site_key: SiteKey) -> ModelRegistry:
    """``registry`` with the operating points of a signed calibration file, if one exists.

    Raises:
        ConfigError: the file is unreadable, its signature does not match the site key
            (edited, or from another site), or a value is not a sane threshold.
    """
    if not path.exists():
        return registry
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        models, signature = document["models"], document["signature"]
        tails = document.get("impostor_tails")
        if not isinstance(signature, str) or not site_key.config_signature_valid(
            _signed_payload(models, tails), signature
        ):
            raise ConfigError(
                f"{path}: signature does not match this site's key; the thresholds may have "
                "been edited. Run `facegate calibrate` again or remove the file."
            )
        for model_name, points in models.items():
            registry.entry(model_name)
            parsed = {name: _checked_point(name, p) for name, p in points.items()}
            registry = registry.with_operating_points(model_name, parsed)
        for model_name, raw_tail in (tails or {}).items():
            registry.entry(model_name)
            registry = registry.with_impostor_tail(model_name, parse_impostor_tail(raw_tail))
    except ConfigError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError, FacegateError) as exc:
        raise ConfigError(f"{path}: not a valid calibration file ({exc})") from exc
    return registry


def _checked_point(name: str, raw: Mapping[str, object]) -> OperatingPointInfo:
    point = OperatingPointInfo(**raw)  # type: ignore[arg-type]
    OperatingPoint(name)
    threshold = point.threshold
    if point.name != name or not isinstance(threshold, float) or not -1.0 <= threshold <= 1.0:
        raise ValueError(f"operating point {name!r} has no threshold in [-1, 1]")
    return point
