"""Calibrating operating points: the threshold that meets each target false match rate.

The packaged thresholds come from the LFW development subset, all-vs-all. A site can
recalibrate on its own labelled images with ``facegate calibrate``; the result is written
to ``<data_dir>/calibration.json`` and overrides the packaged points for that site.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from facegate.bench.metrics import fnmr_at_fmr
from facegate.bench.report import write_json
from facegate.errors import ConfigError, FacegateError
from facegate.matching.decide import OperatingPoint
from facegate.models.registry import ModelRegistry, OperatingPointInfo
from facegate.store.audit import canonical_json
from facegate.store.crypto import SiteKey

CALIBRATION_FILE = "calibration.json"
TARGET_FMR = {OperatingPoint.FMR_1E3: 1e-3, OperatingPoint.FMR_1E4: 1e-4}


def calibrate(
    genuine: NDArray[np.float64], impostor: NDArray[np.float64], source: str, command: str
) -> dict[str, OperatingPointInfo]:
    """One operating point per :class:`OperatingPoint`, each the smallest threshold whose
    FMR on ``impostor`` does not exceed the target.

    Raises:
        ConfigError: too few impostor comparisons to resolve a target (fewer than 1/FMR).
    """
    if genuine.size == 0:
        raise ConfigError("no same-person pairs with a face in both images: nothing to calibrate")
    points: dict[str, OperatingPointInfo] = {}
    for point, target in TARGET_FMR.items():
        if impostor.size * target < 1:
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


def write_calibration(
    path: Path, model_name: str, points: Mapping[str, OperatingPointInfo], site_key: SiteKey
) -> Path:
    """Write ``points`` signed with the site key, so an edited file is refused on load."""
    models = {model_name: {name: asdict(p) for name, p in points.items()}}
    signature = site_key.sign_config(canonical_json(models).encode("utf-8"))
    return write_json({"models": models, "signature": signature}, path)


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
        if not isinstance(signature, str) or not site_key.config_signature_valid(
            canonical_json(models).encode("utf-8"), signature
        ):
            raise ConfigError(
                f"{path}: signature does not match this site's key; the thresholds may have "
                "been edited. Run `facegate calibrate` again or remove the file."
            )
        for model_name, points in models.items():
            registry.entry(model_name)
            parsed = {name: _checked_point(name, p) for name, p in points.items()}
            registry = registry.with_operating_points(model_name, parsed)
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
