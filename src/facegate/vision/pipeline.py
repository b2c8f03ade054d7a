"""The thin pipeline: detect → landmarks → align → quality → embed.

It only wires stages; each stage is swappable through the constructor and adds to the one
:class:`~facegate.vision.record.Face` record.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Sequence
from enum import StrEnum

from facegate.core.config import DetectorChoice, Engine
from facegate.errors import ConfigError, MissingDependencyError, MultipleFacesError, NoFaceError
from facegate.models.registry import ModelRegistry
from facegate.vision.align import DlibAligner
from facegate.vision.detect import CascadeDetector, HogDetector, MmodDetector
from facegate.vision.embed import DlibResNetEmbedder
from facegate.vision.image import RGBImage
from facegate.vision.landmarks import FivePointLandmarker
from facegate.vision.quality import SFACE_QUALITY_LIMITS, QualityAssessor
from facegate.vision.rcnn.config import SITE_DETECTOR_MODEL
from facegate.vision.record import Face
from facegate.vision.sface import SfaceAligner, SfaceEmbedder
from facegate.vision.stages import Detector, FaceStage
from facegate.vision.yunet import YunetDetector

#: With :attr:`Selection.SINGLE`, another face at least this fraction of the largest face's
#: width makes the image ambiguous; smaller faces far behind are ignored.
AMBIGUOUS_FACE_RATIO = 0.5
#: ... and only if its detection score is at least this fraction of the best one's: HOG's
#: weak false positives (margins near 0, e.g. on clothing) neither block enrollment nor
#: become the subject; a second real face (margins ~1) is refused.
AMBIGUOUS_SCORE_RATIO = 0.25
#: What the ``rcnn`` detector imports (the optional extra ``facegate[rcnn]``).
RCNN_EXTRA_MODULES = ("torch", "torchvision")


_RCNN_NEEDS_DLIB = (
    "the sface engine runs its own detector (YuNet), whose 5 points SFace aligns on: "
    "--detector rcnn and the flip average are for the dlib engine (--engine dlib)"
)


class Selection(StrEnum):
    """Which face in an image is the subject.

    SINGLE: the one face; refuses images with two comparable faces (enrollment).
    LARGEST: the largest face, i.e. the person nearest the camera (gates).
    CENTRAL: the face nearest the image centre (centred photos such as LFW's).
    """

    SINGLE = "single"
    LARGEST = "largest"
    CENTRAL = "central"


class FacePipeline:
    """Runs a detector, then each face stage in order, timing every stage.

    >>> pipeline = FacePipeline.default()                      # doctest: +SKIP
    >>> face = pipeline.subject(image, Selection.LARGEST)      # doctest: +SKIP
    >>> face.embedding.shape                                   # doctest: +SKIP
    (128,)
    """

    def __init__(self, detector: Detector, stages: Sequence[FaceStage]) -> None:
        self.detector = detector
        self.stages = tuple(stages)

    @classmethod
    def default(
        cls,
        registry: ModelRegistry | None = None,
        *,
        flip_average: bool = False,
        detector: DetectorChoice = DetectorChoice.HOG,
        engine: Engine = Engine.SFACE,
    ) -> FacePipeline:
        """The ``engine``'s stages: for :attr:`Engine.SFACE` (the default) YuNet detection
        with its 5 points, SFace alignment, quality, SFace embedding; for
        :attr:`Engine.DLIB` detection, 5 landmarks, dlib alignment, quality, ResNet
        embedding. ``detector`` and ``flip_average`` apply to the dlib engine only.

        ``detector``: :attr:`DetectorChoice.HOG` runs HOG, then the MMOD CNN on images HOG
        finds no face in; :attr:`DetectorChoice.RCNN` runs the site's own Faster R-CNN
        (:data:`SITE_DETECTOR_MODEL` in ``registry``, hash-checked when loaded).
        ``flip_average``: see :class:`~facegate.vision.embed.DlibResNetEmbedder`.

        Raises:
            ValueError: ``detector`` is not a :class:`DetectorChoice`.
            MissingDependencyError: rcnn without torch (``facegate[rcnn]``).
            ConfigError: rcnn, but no site detector is installed in ``registry``, or rcnn
                with the sface engine (SFace aligns on YuNet's own points).
            ModelIntegrityError: a model file differs from its registered hash.
        """
        registry = registry or ModelRegistry.default()
        if Engine(engine) is Engine.SFACE:
            if DetectorChoice(detector) is not DetectorChoice.HOG or flip_average:
                raise ConfigError(_RCNN_NEEDS_DLIB)
            embedder = SfaceEmbedder(registry)
            return cls(
                YunetDetector(registry),
                [
                    FivePointLandmarker(registry, from_yunet=True),  # pose: quality, liveness
                    SfaceAligner(embedder),
                    QualityAssessor(SFACE_QUALITY_LIMITS),
                    embedder,
                ],
            )
        return cls(
            _detector(registry, DetectorChoice(detector)),
            [
                FivePointLandmarker(registry),
                DlibAligner(),
                QualityAssessor(),
                DlibResNetEmbedder(registry, flip_average=flip_average),
            ],
        )

    @property
    def embedding_model(self) -> str:
        """Registry name of the embedding model (templates are only comparable within one)."""
        for stage in self.stages:
            model = getattr(stage, "model_name", None)
            if isinstance(model, str):
                return model
        raise ValueError("the pipeline has no embedding stage")

    def detect(self, image: RGBImage) -> tuple[list[Face], float]:
        """All faces, best first, and the detection time in seconds."""
        started = time.perf_counter()
        faces = self.detector.detect(image)
        return faces, time.perf_counter() - started

    def complete(self, image: RGBImage, face: Face) -> Face:
        """Runs every stage after detection on ``face``; returns it for chaining."""
        for stage in self.stages:
            started = time.perf_counter()
            stage.process(image, face)
            face.stage_seconds[stage.name] = time.perf_counter() - started
        return face

    def analyze(self, image: RGBImage) -> list[Face]:
        """Every face in the image, through every stage. Empty list when there is none."""
        faces, seconds = self.detect(image)
        for face in faces:
            face.stage_seconds[self.detector.name] = seconds
            self.complete(image, face)
        return faces

    def subject(self, image: RGBImage, selection: Selection) -> Face:
        """The subject's face through every stage; the other faces are not processed.

        Raises:
            NoFaceError: no face found.
            MultipleFacesError: ``selection`` is SINGLE and two comparable faces are present.
        """
        faces, seconds = self.detect(image)
        face = select_subject(faces, image.shape[1], image.shape[0], selection)
        face.stage_seconds[self.detector.name] = seconds
        return self.complete(image, face)


def check_detector(
    registry: ModelRegistry, detector: DetectorChoice, engine: Engine = Engine.DLIB
) -> None:
    """Fails now, without loading anything, where :meth:`FacePipeline.default` would fail
    for ``detector`` for want of the extra or the site's model (e.g. before serving).

    Raises:
        ConfigError: rcnn with the sface engine.
        MissingDependencyError: rcnn without torch / torchvision.
        ConfigError: rcnn, but :data:`SITE_DETECTOR_MODEL` is not in ``registry``.
    """
    if DetectorChoice(detector) is not DetectorChoice.RCNN:
        return
    missing = [name for name in RCNN_EXTRA_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingDependencyError(
            f"the rcnn detector needs {' and '.join(missing)}: install facegate[rcnn]"
        )
    if Engine(engine) is Engine.SFACE:
        raise ConfigError(_RCNN_NEEDS_DLIB)
    if SITE_DETECTOR_MODEL not in registry.names:
        raise ConfigError(
            f"the rcnn detector needs the site's trained model {SITE_DETECTOR_MODEL!r}, and "
            "none is installed: run `facegate detector install WEIGHTS` (weights from "
            "`facegate detector train`), or use the hog detector"
        )


def _detector(registry: ModelRegistry, detector: DetectorChoice) -> Detector:
    if detector is DetectorChoice.HOG:
        return CascadeDetector([HogDetector(), MmodDetector(registry)])
    check_detector(registry, detector)
    # Imported here: torch is an optional extra, and loading it costs seconds.
    from facegate.vision.rcnn.detector import RcnnDetector

    return RcnnDetector(registry)


def select_subject(faces: Sequence[Face], width: int, height: int, selection: Selection) -> Face:
    """Pick the subject among detected faces (see :class:`Selection`).

    Raises:
        ValueError: ``selection`` is not a :class:`Selection` value.
    """
    selection = Selection(selection)
    if not faces:
        raise NoFaceError("no face found in the image")
    # Every selection chooses among confident faces only: a weak false detection (HOG on
    # the astronaut's colour photo finds one larger than her face) never becomes the subject.
    best_score = max(f.detection_score for f in faces)
    confident = [f for f in faces if f.detection_score >= AMBIGUOUS_SCORE_RATIO * best_score]
    subject = max(confident, key=lambda f: f.box.area)
    if selection is Selection.LARGEST:
        return subject
    if selection is Selection.CENTRAL:
        cx, cy = width / 2.0, height / 2.0
        return min(
            confident, key=lambda f: (f.box.center[0] - cx) ** 2 + (f.box.center[1] - cy) ** 2
        )
    rivals = [
        f
        for f in confident
        if f is not subject and f.box.width >= AMBIGUOUS_FACE_RATIO * subject.box.width
    ]
    if rivals:
        raise MultipleFacesError(
            f"{len(rivals) + 1} faces of comparable size found; the image must show one person"
        )
    return subject
