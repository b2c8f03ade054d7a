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
from facegate.errors import ConfigError
from facegate.matching.decide import OperatingPoint
from facegate.models.registry import ModelRegistry, OperatingPointInfo

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
    path: Path, model_name: str, points: Mapping[str, OperatingPointInfo]
) -> Path:
    document = {"models": {model_name: {name: asdict(p) for name, p in points.items()}}}
    return write_json(document, path)


def apply_calibration(registry: ModelRegistry, path: Path) -> ModelRegistry:
    """``registry`` with the operating points from a calibration file, if the file exists."""
    if not path.exists():
        return registry
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        for model_name, points in document["models"].items():
            registry = registry.with_operating_points(
                model_name, {name: OperatingPointInfo(**p) for name, p in points.items()}
            )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: not a valid calibration file ({exc})") from exc
    return registry
