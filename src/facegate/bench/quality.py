"""How a set of photos fares at the quality gate: the data behind its limits."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.progress import Progress

from facegate.errors import FacegateError
from facegate.vision.image import load_image
from facegate.vision.pipeline import FacePipeline, Selection

#: Percentiles reported for each measurement.
PERCENTILES = (0, 1, 5, 50, 95, 99, 100)


@dataclass(frozen=True, slots=True)
class QualitySurvey:
    """Percentiles (``PERCENTILES``) of each quality measurement, and reason counts."""

    images: int
    faces: int
    failures_to_acquire: int
    percentiles: dict[str, list[float]]
    reasons: dict[str, int]


def survey_quality(
    paths: Sequence[Path], pipeline: FacePipeline, progress: Progress | None = None
) -> QualitySurvey:
    """Measure every image's subject face (the central one) with the pipeline's quality stage."""
    values: dict[str, list[float]] = {
        "face_width": [],
        "sharpness": [],
        "brightness": [],
        "abs_yaw": [],
        "abs_roll_degrees": [],
    }
    reasons: Counter[str] = Counter()
    failures = 0
    task = progress.add_task("quality", total=len(paths)) if progress is not None else None
    for path in paths:
        try:
            face = pipeline.subject(load_image(path), Selection.CENTRAL)
        except FacegateError:
            failures += 1
            face = None
        if face is not None and face.quality is not None:
            q = face.quality
            values["face_width"].append(q.face_width)
            values["sharpness"].append(q.sharpness)
            values["brightness"].append(q.brightness)
            values["abs_yaw"].append(abs(q.yaw))
            values["abs_roll_degrees"].append(abs(q.roll_degrees))
            reasons.update(r.value for r in q.reasons)
        if progress is not None and task is not None:
            progress.advance(task)
    percentiles = {
        name: [float(v) for v in np.percentile(column, PERCENTILES)] if column else []
        for name, column in values.items()
    }
    return QualitySurvey(
        len(paths), len(values["face_width"]), failures, percentiles, dict(reasons)
    )
