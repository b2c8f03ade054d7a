"""Training and subject-disjoint evaluation of the passive PAD model.

Presentations come from a PAD folder with ``labels.csv``: ``path,label,attack_type[,subject]``
where ``label`` is ``live`` or ``spoof`` (the NUAA and Silent-Face layouts of
``../shared/data``), or from the development corpus (:mod:`facegate.liveness.corpus`).
Faces are found with the gate's detector (YuNet); a frame with no face cannot be scored
and is counted as a failure to acquire, never silently dropped from the report.

Cross-validation leaves one subject out per fold, so no person's frames are in both the
training and the test side of any fold (NUAA's frames of one person are near duplicates;
a random split would measure memory, not generalisation).
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

from facegate.errors import DatasetError, MissingDependencyError
from facegate.liveness.features import FeatureSpec, pad_features
from facegate.liveness.pad_metrics import BONA_FIDE
from facegate.liveness.passive import DEFAULT_THRESHOLD, LinearPadModel
from facegate.vision.image import RGBImage, load_image
from facegate.vision.stages import Detector

#: Inverse L2 strength of the logistic regression. Chosen among 0.01, 0.1, 1 on the
#: subject-disjoint NUAA folds of the first model (0.1 and 1 tied; the stronger penalty kept).
DEFAULT_C = 0.1
LIVE_LABEL = "live"
SPOOF_LABEL = "spoof"
REQUIRED_COLUMNS = ("path", "label", "attack_type")


class Presentation(Protocol):
    """One labelled presentation: its species, its person, and the frame the camera gave."""

    @property
    def species(self) -> str: ...

    @property
    def subject(self) -> str: ...

    @property
    def bona_fide(self) -> bool: ...

    @property
    def name(self) -> str: ...

    def load(self) -> RGBImage: ...


@dataclass(frozen=True, slots=True)
class PadSample:
    """A presentation listed in a PAD folder's ``labels.csv``."""

    path: Path
    species: str
    subject: str

    @property
    def bona_fide(self) -> bool:
        return self.species == BONA_FIDE

    @property
    def name(self) -> str:
        return self.path.name

    def load(self) -> RGBImage:
        return load_image(self.path)


def species_of(attack_type: str) -> str:
    """Presentation attack instrument species: ``print`` or ``replay`` (or bona fide)."""
    kind = attack_type.strip().lower()
    if kind in ("", "none"):
        return BONA_FIDE
    if "replay" in kind or "screen" in kind:
        return "replay"
    if "print" in kind or "photo" in kind or "poster" in kind:
        return "print"
    return kind.split(" ")[0]


def read_samples(folder: Path) -> list[PadSample]:
    """The samples listed in ``folder/labels.csv``.

    Raises:
        DatasetError: missing file or columns, unknown label, or a missing image,
            naming the file and line.
    """
    labels = folder / "labels.csv"
    if not labels.is_file():
        raise DatasetError(f"{labels}: no such file")
    samples: list[PadSample] = []
    with labels.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DatasetError(f"{labels}:1: missing column(s) {', '.join(missing)}")
        for line, row in enumerate(reader, start=2):
            label = (row["label"] or "").strip()
            if label not in (LIVE_LABEL, SPOOF_LABEL):
                raise DatasetError(f"{labels}:{line}: label must be live or spoof: {label!r}")
            path = folder / row["path"]
            if not path.is_file():
                raise DatasetError(f"{labels}:{line}: image {row['path']!r} not found")
            species = BONA_FIDE if label == LIVE_LABEL else species_of(row["attack_type"] or "")
            if label == SPOOF_LABEL and species == BONA_FIDE:
                raise DatasetError(f"{labels}:{line}: a spoof needs an attack_type")
            subject = (row.get("subject") or "").strip() or f"{folder.name}:{line}"
            samples.append(PadSample(path, species, subject))
    if not samples:
        raise DatasetError(f"{labels}: no samples")
    return samples


P = TypeVar("P", bound=Presentation)


@dataclass(frozen=True, slots=True, eq=False)
class FeatureSet(Generic[P]):
    """Features of the samples whose face was found; ``missed`` lists the others.

    ``seconds``: the time each found face's features took (detection not included), the
    cost the passive check adds to a decision.
    """

    samples: list[P]
    features: NDArray[np.float64]
    missed: list[P]
    spec: FeatureSpec
    seconds: list[float] = field(default_factory=list)

    @property
    def bona_fide(self) -> NDArray[np.bool_]:
        return np.array([s.bona_fide for s in self.samples], dtype=bool)

    @property
    def species(self) -> list[str]:
        return [s.species for s in self.samples]

    @property
    def subjects(self) -> NDArray[np.str_]:
        return np.array([s.subject for s in self.samples])


def extract(
    samples: Sequence[P],
    detector: Detector,
    spec: FeatureSpec,
    advance: Callable[[], None] | None = None,
) -> FeatureSet[P]:
    """Detect the largest face of each sample and take its features."""
    kept: list[P] = []
    rows: list[NDArray[np.float64]] = []
    missed: list[P] = []
    seconds: list[float] = []
    for sample in samples:
        image = sample.load()
        faces = detector.detect(image)
        if faces:
            face = max(faces, key=lambda f: f.box.area)
            started = time.perf_counter()
            rows.append(pad_features(image, face.box, spec))
            seconds.append(time.perf_counter() - started)
            kept.append(sample)
        else:
            missed.append(sample)
        if advance is not None:
            advance()
    matrix = np.vstack(rows) if rows else np.zeros((0, spec.length))
    return FeatureSet(kept, matrix, missed, spec, seconds)


def require_training() -> None:
    """Fail before minutes of feature extraction when scikit-learn (``facegate[eval]``) is
    absent: serving the model needs numpy only, training needs the extra."""
    try:
        import sklearn.linear_model  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(
            "training the PAD model needs scikit-learn: install facegate[eval]"
        ) from exc


def fit(
    features: NDArray[np.float64],
    bona_fide: NDArray[np.bool_],
    spec: FeatureSpec,
    c: float = DEFAULT_C,
    metadata: dict[str, object] | None = None,
) -> LinearPadModel:
    """A standardised L2 logistic regression (scikit-learn, deterministic lbfgs)."""
    from sklearn.linear_model import LogisticRegression  # training-only dependency

    if bona_fide.all() or not bona_fide.any():
        raise ValueError("training needs both bona fide and attack samples")
    mean = features.mean(axis=0)
    scale = features.std(axis=0)
    scale = np.where(scale > 1e-12, scale, 1.0)
    # Balanced: the corpus's class shares are an accident of the data at hand, and the
    # boundary (threshold 0.5) should sit between the classes, not follow their sizes.
    model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced")
    model.fit((features - mean) / scale, bona_fide)
    return LinearPadModel(
        spec=spec,
        mean=mean,
        scale=scale,
        weights=np.asarray(model.coef_[0], dtype=np.float64),
        bias=float(model.intercept_[0]),
        threshold=DEFAULT_THRESHOLD,
        metadata=metadata or {},
    )


def leave_one_subject_out(
    data: FeatureSet[PadSample], c: float = DEFAULT_C, advance: Callable[[], None] | None = None
) -> NDArray[np.float64]:
    """Out-of-fold P(bona fide) for every sample: each subject scored by a model that never
    saw any of their frames."""
    subjects = data.subjects
    bona_fide = data.bona_fide
    scores = np.zeros(len(data.samples))
    for subject in sorted(set(subjects.tolist())):
        held = subjects == subject
        model = fit(data.features[~held], bona_fide[~held], data.spec, c)
        scores[held] = [model.score_features(row) for row in data.features[held]]
        if advance is not None:
            advance()
    return scores
