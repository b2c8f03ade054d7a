"""Face-detection metrics and the evaluation harness: the same code for every detector.

Boxes are ``[x1, y1, x2, y2]`` in pixels, ``x2``/``y2`` exclusive (width ``x2 - x1``), as
:class:`~facegate.vision.record.Box` and the annotation readers use them.

Matching is greedy per image, as Pascal VOC and COCO do it: detections in descending score
order, each taking the still-unmatched ground-truth box it overlaps most, if that IoU is at
least the threshold; a detection left without a box (a second one on the same face, or one
on no face) is a false positive. Detections of all images are then ranked by score together
(ties keep image order, then the detector's order) into one precision-recall curve.

- :func:`average_precision_voc`: AP at IoU 0.5, all-point interpolated (VOC 2010 and
  later): the area under the curve's monotone precision envelope.
- :func:`average_precision_coco`: AP@[.5:.95], the mean over IoU 0.50, 0.55, ..., 0.95 of
  the 101-point interpolated AP, as pycocotools computes it for ``areaRng="all"`` and
  ``maxDets=100`` (no crowd regions).

With no ground-truth face at all, AP is undefined and is NaN. Pure numpy, no torch.

>>> import numpy as np
>>> face = np.array([[10.0, 10.0, 50.0, 50.0]])
>>> image = ImageDetections(gt_boxes=face, boxes=face, scores=np.array([0.9]))
>>> average_precision_voc([image]), average_precision_coco([image])
(1.0, 1.0)
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from facegate.bench.report import JSON_FIELD, atomic_write, require_plotting, to_jsonable
from facegate.errors import DatasetError
from facegate.models.registry import ModelRegistry
from facegate.vision.detect import HogDetector
from facegate.vision.image import load_image
from facegate.vision.rcnn.annotations import FACE_LABEL, AnnotatedImage
from facegate.vision.stages import Detector
from facegate.vision.yunet import YunetDetector

#: Pascal VOC's overlap for a detection to count as the face (AP@0.5, "AP50").
VOC_IOU_THRESHOLD = 0.5
#: COCO's IoU thresholds 0.50:0.05:0.95, built exactly as pycocotools builds them.
COCO_IOU_THRESHOLDS: NDArray[np.float64] = np.linspace(0.5, 0.95, 10, endpoint=True)
#: COCO's recall points 0:0.01:1 for its 101-point interpolation (pycocotools' ``recThrs``).
COCO_RECALL_POINTS: NDArray[np.float64] = np.linspace(0.0, 1.0, 101, endpoint=True)
#: pycocotools' ``maxDets`` for AP: only an image's highest-scored 100 detections count.
COCO_MAX_DETECTIONS = 100
#: Index of "no ground-truth box" in a detection's match (cf. torchvision's Matcher).
UNMATCHED = -1
#: SVM margin down to which HOG reports windows when evaluated (dlib's gate default is 0.0).
#: Lower windows extend HOG's ranked list, so its curve reaches its full recall, as the
#: R-CNN's does. Measured on face_mask_detection_subset (105 images, 120 faces), AP@0.5 /
#: detections: 0.0 -> 0.49 / 59; -0.5 -> 0.70 / 90; -1.0 -> 0.80 / 217; -1.5 -> 0.81 / 1078.
#: Below -1.0 the false windows multiply for almost no AP; dlib's PASCAL faces: 1.00 at all.
HOG_EVAL_THRESHOLD = -1.0
#: HOG's evaluation upsampling: one pass, upsampled once (faces down to about 40 px).
HOG_EVAL_UPSAMPLE: tuple[int, ...] = (1,)
#: YuNet score down to which it reports when evaluated (the engine's gate cut is 0.6), for
#: the same reason. On face_mask_detection_subset, AP@0.5 / detections / recall reached:
#: 0.6 -> 0.974 / 121 / 0.975; 0.3 -> 0.989 / 144 / 0.992; 0.1 -> 0.996 / 208 / 1.0;
#: 0.05 -> 0.996 / 350 / 1.0. Below 0.1 only false detections are added.
YUNET_EVAL_THRESHOLD = 0.1


class EvaluatedDetector(StrEnum):
    """A detector the evaluation and benchmark commands can score.

    HOG and YUNET as :func:`hog_for_evaluation` and :func:`yunet_for_evaluation` run them;
    RCNN: exported Faster R-CNN weights. Not the gate's ``DetectorChoice``: the pipeline
    runs YuNet through the sface engine, not as a choice of the dlib engine's detector.
    """

    HOG = "hog"
    YUNET = "yunet"
    RCNN = "rcnn"


FloatArray = NDArray[np.float64]


def hog_for_evaluation() -> HogDetector:
    """dlib's HOG as every evaluation and benchmark runs it: one pass upsampled once, windows
    down to :data:`HOG_EVAL_THRESHOLD` so that it has a precision-recall curve."""
    return HogDetector(upsample_schedule=HOG_EVAL_UPSAMPLE, threshold=HOG_EVAL_THRESHOLD)


def yunet_for_evaluation(registry: ModelRegistry | None = None) -> YunetDetector:
    """YuNet (the sface engine's detector) reporting down to :data:`YUNET_EVAL_THRESHOLD`;
    its model file comes hash-checked from ``registry`` (default: the packaged one)."""
    return YunetDetector(registry or ModelRegistry.default(), score_threshold=YUNET_EVAL_THRESHOLD)


def _boxes(values: ArrayLike, what: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        return np.zeros((0, 4), dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 4:
        raise ValueError(f"{what} must have shape (n, 4), got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{what} must be finite")
    return array


def iou_matrix(pred: ArrayLike, gt: ArrayLike) -> FloatArray:
    """IoU of every ``pred`` box (n, 4) with every ``gt`` box (m, 4): float64 array (n, m).

    Boxes are ``[x1, y1, x2, y2]`` with exclusive ``x2``/``y2``, so a box's area is
    ``(x2 - x1) * (y2 - y1)``. Two boxes that only touch, or a box of zero area, give 0.
    """
    a, b = _boxes(pred, "pred"), _boxes(gt, "gt")
    width = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    height = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(width, 0.0, None) * np.clip(height, 0.0, None)
    area_a = np.clip(a[:, 2] - a[:, 0], 0.0, None) * np.clip(a[:, 3] - a[:, 1], 0.0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0.0, None) * np.clip(b[:, 3] - b[:, 1], 0.0, None)
    union = area_a[:, None] + area_b[None, :] - inter
    iou: FloatArray = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    return iou


def _score_order(scores: FloatArray) -> NDArray[np.intp]:
    """Indices by descending score; ties keep their order (a stable sort, as pycocotools)."""
    return np.argsort(-scores, kind="mergesort")


def match_detections(
    boxes: ArrayLike, scores: ArrayLike, gt: ArrayLike, iou_threshold: float = VOC_IOU_THRESHOLD
) -> NDArray[np.intp]:
    """The ground-truth index each detection matches, or :data:`UNMATCHED`: shape (n,).

    Greedy in descending ``scores``: each detection takes the unmatched ``gt`` box with the
    highest IoU, if that IoU is at least ``iou_threshold``.
    """
    pred = _boxes(boxes, "boxes")
    score = np.asarray(scores, dtype=np.float64).reshape(-1)
    if score.shape[0] != pred.shape[0]:
        raise ValueError(f"{pred.shape[0]} boxes but {score.shape[0]} scores")
    overlaps = iou_matrix(pred, gt)
    matches = np.full(pred.shape[0], UNMATCHED, dtype=np.intp)
    taken = np.zeros(overlaps.shape[1], dtype=bool)
    for d in _score_order(score):
        candidates = np.where(taken, -1.0, overlaps[d])
        if candidates.size == 0:
            break
        best = int(np.argmax(candidates))
        if candidates[best] >= iou_threshold:
            matches[d] = best
            taken[best] = True
    return matches


@dataclass(frozen=True)
class ImageDetections:
    """One image's ground-truth faces and a detector's scored boxes, all ``[x1, y1, x2, y2]``.

    ``gt_boxes`` (m, 4), ``boxes`` (n, 4) float64 pixels; ``scores`` (n,), higher is surer.
    """

    gt_boxes: FloatArray
    boxes: FloatArray
    scores: FloatArray

    def __post_init__(self) -> None:
        object.__setattr__(self, "gt_boxes", _boxes(self.gt_boxes, "gt_boxes"))
        object.__setattr__(self, "boxes", _boxes(self.boxes, "boxes"))
        scores = np.asarray(self.scores, dtype=np.float64).reshape(-1)
        if scores.shape[0] != self.boxes.shape[0]:
            raise ValueError(f"{self.boxes.shape[0]} boxes but {scores.shape[0]} scores")
        if not np.all(np.isfinite(scores)):
            raise ValueError("scores must be finite")
        object.__setattr__(self, "scores", scores)


@dataclass(frozen=True)
class PrecisionRecall:
    """The ranked detections of a set of images at one IoU threshold.

    Arrays have one entry per detection, best score first: ``scores``, ``true_positive``,
    and ``precision``/``recall`` after that many detections. ``n_faces`` is the number of
    ground-truth faces (recall's denominator).
    """

    iou_threshold: float
    n_faces: int
    scores: FloatArray
    true_positive: NDArray[np.bool_]
    precision: FloatArray
    recall: FloatArray


def precision_recall(
    images: Sequence[ImageDetections],
    iou_threshold: float = VOC_IOU_THRESHOLD,
    max_detections: int | None = None,
) -> PrecisionRecall:
    """Match every image at ``iou_threshold`` and rank all detections by score.

    ``max_detections`` keeps only each image's highest-scored detections (COCO's ``maxDets``);
    None keeps all. Recall is NaN everywhere when there is no ground-truth face.
    """
    scores: list[FloatArray] = []
    hits: list[NDArray[np.bool_]] = []
    n_faces = 0
    for image in images:
        keep = _score_order(image.scores)[:max_detections]
        matches = match_detections(
            image.boxes[keep], image.scores[keep], image.gt_boxes, iou_threshold
        )
        scores.append(image.scores[keep])
        hits.append(matches != UNMATCHED)
        n_faces += image.gt_boxes.shape[0]
    all_scores = np.concatenate(scores) if scores else np.zeros(0, dtype=np.float64)
    all_hits = np.concatenate(hits) if hits else np.zeros(0, dtype=bool)
    order = _score_order(all_scores)
    ranked_hits = all_hits[order]
    tp = np.cumsum(ranked_hits, dtype=np.float64)
    ranks = np.arange(1, tp.size + 1, dtype=np.float64)
    recall = tp / n_faces if n_faces else np.full(tp.size, np.nan)
    return PrecisionRecall(
        iou_threshold=iou_threshold,
        n_faces=n_faces,
        scores=all_scores[order],
        true_positive=ranked_hits,
        precision=tp / ranks,
        recall=recall,
    )


def _precision_envelope(precision: FloatArray) -> FloatArray:
    """The best precision at this recall or any higher one (the monotone envelope)."""
    return np.maximum.accumulate(precision[::-1])[::-1]


def all_point_ap(curve: PrecisionRecall) -> float:
    """VOC 2010+ AP: the area under the precision envelope, summed where recall rises."""
    if curve.n_faces == 0:
        return float("nan")
    recall = np.concatenate([[0.0], curve.recall])
    envelope = _precision_envelope(curve.precision)
    return float(np.sum(np.diff(recall) * envelope))


def interpolated_ap_101(curve: PrecisionRecall) -> float:
    """COCO AP: the mean of the precision envelope at recall 0, 0.01, ..., 1 (0 past the
    highest recall reached), exactly as pycocotools' ``accumulate``."""
    if curve.n_faces == 0:
        return float("nan")
    envelope = np.concatenate([_precision_envelope(curve.precision), [0.0]])
    at = np.searchsorted(curve.recall, COCO_RECALL_POINTS, side="left")
    return float(np.mean(envelope[at]))


def average_precision_voc(
    images: Sequence[ImageDetections], iou_threshold: float = VOC_IOU_THRESHOLD
) -> float:
    """Pascal VOC AP at ``iou_threshold`` (0.5), all-point interpolated; NaN without faces."""
    return all_point_ap(precision_recall(images, iou_threshold))


def average_precision_coco(images: Sequence[ImageDetections]) -> float:
    """COCO AP@[.5:.95]: the mean of 101-point AP over :data:`COCO_IOU_THRESHOLDS`, each
    image's best :data:`COCO_MAX_DETECTIONS` detections; NaN without faces."""
    per_threshold = [
        interpolated_ap_101(precision_recall(images, float(t), COCO_MAX_DETECTIONS))
        for t in COCO_IOU_THRESHOLDS
    ]
    return float(np.mean(per_threshold))


@dataclass(frozen=True, slots=True)
class OperatingPoint:
    """The score cut with the best F1 on the curve: keep detections scoring >= ``score``."""

    score: float
    precision: float
    recall: float
    f1: float


def best_f1(curve: PrecisionRecall) -> OperatingPoint | None:
    """The ranked position with the highest F1 (the first on ties); None when no detection
    was right or there is no face."""
    if curve.n_faces == 0 or not curve.true_positive.any():
        return None
    p, r = curve.precision, curve.recall
    f1 = np.divide(2 * p * r, p + r, out=np.zeros_like(p), where=(p + r) > 0)
    # A cut between equal scores cannot be made; only the last of a run of ties is reachable.
    reachable = np.append(curve.scores[1:] != curve.scores[:-1], True)
    f1 = np.where(reachable, f1, -1.0)
    i = int(np.argmax(f1))
    return OperatingPoint(float(curve.scores[i]), float(p[i]), float(r[i]), float(f1[i]))


# --- the harness ---------------------------------------------------------------------


@dataclass(frozen=True)
class ImageResult:
    """One image of an evaluation: its faces, the detector's answer, and its time.

    ``matched[i]`` says whether detection ``i`` (best score first) found a face at IoU 0.5.
    """

    name: str
    detections: ImageDetections
    matched: NDArray[np.bool_]
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "image": self.name,
            "seconds": self.seconds,
            "gt_boxes": self.detections.gt_boxes.tolist(),
            "detections": [
                {"box": box, "score": score, "matched": hit}
                for box, score, hit in zip(
                    self.detections.boxes.tolist(),
                    self.detections.scores.tolist(),
                    self.matched.tolist(),
                    strict=True,
                )
            ],
        }


@dataclass(frozen=True)
class DetectionReport:
    """A detector's scores on one annotated set (``to_json`` leaves out the per-image list)."""

    detector: str
    n_images: int
    n_faces: int
    n_detections: int
    ap50: float
    ap_coco: float
    best_f1: OperatingPoint | None
    median_seconds_per_image: float
    pr_curve: PrecisionRecall = field(metadata={JSON_FIELD: False})
    images: tuple[ImageResult, ...] = field(metadata={JSON_FIELD: False})

    def to_json(self) -> dict[str, Any]:
        """Metrics and the IoU-0.5 precision-recall curve as JSON types."""
        summary: dict[str, Any] = to_jsonable(self)
        curve = self.pr_curve
        summary["pr_curve"] = {
            "iou_threshold": curve.iou_threshold,
            "scores": curve.scores.tolist(),
            "precision": curve.precision.tolist(),
            "recall": curve.recall.tolist(),
        }
        return summary

    def per_image_json(self) -> list[dict[str, Any]]:
        return [image.to_json() for image in self.images]


def _face_boxes(annotated: AnnotatedImage) -> FloatArray:
    faces = [[b.x1, b.y1, b.x2, b.y2] for b in annotated.boxes if b.label == FACE_LABEL]
    return _boxes(faces, "faces")


def evaluate_detector(
    detector: Detector,
    images: Sequence[AnnotatedImage],
    *,
    name: str | None = None,
    on_image: Callable[[], None] | None = None,
) -> DetectionReport:
    """Run ``detector`` on every image (decoded by :func:`load_image`, EXIF applied) and
    score it against the boxes labelled ``"face"``. The report is named ``name`` (default:
    ``detector.name``). ``on_image`` is called after each image (a progress bar). Times
    cover ``detect`` only, not decoding.

    Raises:
        ImageError: an image cannot be decoded.
        DatasetError: an image's decoded size differs from its annotation's.
    """
    results: list[ImageResult] = []
    for annotated in images:
        pixels = load_image(annotated.path)
        if pixels.shape[:2] != (annotated.height, annotated.width):
            raise DatasetError(
                f"{annotated.path}: decodes to {pixels.shape[1]}x{pixels.shape[0]}, "
                f"annotated as {annotated.width}x{annotated.height}"
            )
        start = time.perf_counter()
        faces = detector.detect(pixels)
        seconds = time.perf_counter() - start
        found = ImageDetections(
            gt_boxes=_face_boxes(annotated),
            boxes=_boxes([f.box.as_list() for f in faces], "boxes"),
            scores=np.array([f.detection_score for f in faces], dtype=np.float64),
        )
        order = _score_order(found.scores)
        ranked = dataclasses.replace(found, boxes=found.boxes[order], scores=found.scores[order])
        matches = match_detections(ranked.boxes, ranked.scores, ranked.gt_boxes)
        results.append(ImageResult(annotated.path.name, ranked, matches != UNMATCHED, seconds))
        if on_image is not None:
            on_image()
    scored = [r.detections for r in results]
    curve = precision_recall(scored)
    return DetectionReport(
        detector=name or detector.name,
        n_images=len(results),
        n_faces=curve.n_faces,
        n_detections=int(curve.scores.size),
        ap50=all_point_ap(curve),
        ap_coco=average_precision_coco(scored),
        best_f1=best_f1(curve),
        median_seconds_per_image=statistics.median(r.seconds for r in results)
        if results
        else float("nan"),
        pr_curve=curve,
        images=tuple(results),
    )


def compare(reports: Sequence[DetectionReport]) -> str:
    """A markdown table with one row per report, in the order given."""
    lines = [
        "| detector | images | faces | detections | AP@0.5 | AP@[.5:.95] "
        "| best F1 (P / R at score) | median ms/image |",
        "|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in reports:
        op = r.best_f1
        f1 = (
            "n/a"
            if op is None
            else f"{op.f1:.3f} ({op.precision:.3f} / {op.recall:.3f} at {op.score:.3g})"
        )
        lines.append(
            f"| {r.detector} | {r.n_images} | {r.n_faces} | {r.n_detections} | {r.ap50:.3f} "
            f"| {r.ap_coco:.3f} | {f1} | {r.median_seconds_per_image * 1000:.1f} |"
        )
    return "\n".join(lines)


def plot_pr(reports: Sequence[DetectionReport], path: Path, title: str) -> Path:
    """Write a PNG of each report's precision-recall curve at IoU 0.5. Returns ``path``.

    Needs matplotlib (the ``eval`` extra); uses the Agg canvas, no pyplot state.
    """
    require_plotting()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.5, 5.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for r in reports:
        curve = r.pr_curve
        # Start at recall 0 so a curve's first point is drawn as a step, like the AP area.
        recall = np.concatenate([[0.0], curve.recall])
        precision = np.concatenate([curve.precision[:1], curve.precision])
        ax.step(recall, precision, where="post", label=f"{r.detector} (AP@0.5 {r.ap50:.3f})")
    ax.set(
        xlim=(0.0, 1.0),
        ylim=(0.0, 1.02),
        xlabel="recall",
        ylabel="precision",
        title=title,
    )
    ax.grid(True, alpha=0.3)
    if reports:
        ax.legend(loc="lower left", fontsize="small")
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
