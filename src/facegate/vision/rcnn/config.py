"""The detector's parameters: the seed's Faster R-CNN values, adapted to faces on a CPU.

"The seed" is ``../shared/seeds/003_93ad98e78e0fa0c2.txt`` (notes on Ren et al., "Faster
R-CNN", NeurIPS 2015). Each constant below says where its value comes from; where the seed
gives no number, the value is the paper's reference code (py-faster-rcnn) or torchvision's
default, and where the seed's value does not fit faces the comment says why it changed.

Field names follow torchvision's ``FasterRCNN`` keywords (stage prefix ``rpn_`` / ``box_``),
so :func:`facegate.vision.rcnn.model.build_model` passes them through unchanged. No torch
import here: a checkpoint's config can be read without the ``rcnn`` extra.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from types import MappingProxyType
from typing import Any, TypeGuard


class Backbone(StrEnum):
    """The feature extractors on offer; both are light enough to train on a CPU."""

    #: MobileNetV3-Large with a feature pyramid on its stride-16 and stride-32 stages, plus
    #: torchvision's extra max-pooled level: three maps, so faces of 16-256 px each get an
    #: anchor of their scale on a map fine enough to hold them. The default.
    MOBILENET_V3_LARGE_FPN = "mobilenet_v3_large_fpn"
    #: MobileNetV3-Large's last layer only (stride 32): the seed's design of one feature map
    #: (its "conv5-3"), cheaper but coarse for faces under ~32 px.
    MOBILENET_V3_LARGE = "mobilenet_v3_large"


#: Input pixels per cell of each feature map, in the order the backbone returns them
#: (``"0"``, ``"1"``, ``"pool"`` for the pyramid; ``"0"`` for the single map). Nominal:
#: torchvision derives the exact stride as image size // map size.
FEATURE_STRIDES: Mapping[Backbone, tuple[int, ...]] = MappingProxyType(
    {
        Backbone.MOBILENET_V3_LARGE_FPN: (16, 32, 64),
        Backbone.MOBILENET_V3_LARGE: (32,),
    }
)

#: Anchor side lengths (pixels of the resized image), three per feature map as in the seed
#: ("3种scales和3种aspect_ratio … k=9"). The paper's scales (128-512 px, on the ~800x600
#: images the seed mentions) are for whole objects; faces in 320-512 px images span about
#: 16-256 px (the development sets: 27-207 px after resizing), so the scales step by at most
#: 1.5x over that range, the small ones on the fine map. The single-map backbone keeps
#: three scales, around its stride.
DEFAULT_ANCHOR_SIZES: Mapping[Backbone, tuple[tuple[int, ...], ...]] = MappingProxyType(
    {
        Backbone.MOBILENET_V3_LARGE_FPN: ((16, 24, 32), (48, 64, 96), (128, 192, 256)),
        Backbone.MOBILENET_V3_LARGE: ((32, 64, 128),),
    }
)
#: Anchor height/width ratios (torchvision's ``aspect_ratios`` are h/w). The seed's 1:2, 1:1,
#: 2:1 suit objects of every shape; faces are square to slightly tall (the mask set's boxes:
#: h/w median 1.36, 10th-90th percentile 1.21-1.56; dlib's: 1.0), so 1.0-1.5.
FACE_ASPECT_RATIOS = (1.0, 1.25, 1.5)

#: Background + face.
NUM_CLASSES = 2
#: Registry name of a site's own trained detector (``facegate detector install``); site
#: weights are trained on the site's pictures and never ship in the package.
SITE_DETECTOR_MODEL = "site_rcnn_detector"
#: Resized shorter side / cap on the longer side. The seed's reference code resizes to
#: 800x600; 320 px is the size offline-models.md timed for CPU training (~3.2 s per step of
#: two images), and the development sets' faces stay at 27 px or more at it.
MIN_SIZE = 320
MAX_SIZE = 512

#: Seed: an anchor with IoU > 0.7 to a ground-truth box is positive ("IoU>0.7，标记为正样本");
#: the best anchor of each ground-truth box is positive too, whatever its IoU.
RPN_FG_IOU_THRESH = 0.7
#: Seed: an anchor with IoU < 0.3 to every ground-truth box is negative ("IoU<0.3，标记为负样本");
#: anchors in between are ignored.
RPN_BG_IOU_THRESH = 0.3
#: Seed: 256 anchors sampled per image ("随机采样256个anchors").
RPN_BATCH_SIZE_PER_IMAGE = 256
#: Seed: positives to negatives up to 1:1 ("正负比例1:1"), topped up with negatives.
RPN_POSITIVE_FRACTION = 0.5
#: Proposals kept before NMS, per feature map, while training / testing. The seed names the
#: step ("先选出前景概率最高的N个proposal") but no number; py-faster-rcnn's 12000 / 6000
#: exceed every anchor of a 512 px image (~6000 on the finest map), so torchvision's defaults.
RPN_PRE_NMS_TOP_N_TRAIN = 2000
RPN_PRE_NMS_TOP_N_TEST = 1000
#: Proposals kept after NMS, per image ("NMS后再次选择前景概率最高的M个proposal", no number in
#: the seed): the paper's 2000 for training and 300 at test time.
RPN_POST_NMS_TOP_N_TRAIN = 2000
RPN_POST_NMS_TOP_N_TEST = 300
#: IoU above which NMS drops the lower-scoring proposal: the paper's 0.7 (the seed names the
#: NMS step without a value).
RPN_NMS_THRESH = 0.7
#: Proposals scoring below this are dropped before NMS; 0 keeps all (torchvision's default).
RPN_SCORE_THRESH = 0.0

#: Seed: every proposal is pooled to 7x7 ("pooling后都是 7×7=49个输出"). torchvision pools with
#: RoIAlign rather than the seed's quantised max pooling; the output size is the same.
ROI_OUTPUT_SIZE = 7
#: Bilinear samples per RoIAlign bin side (torchvision's value for Faster R-CNN).
ROI_SAMPLING_RATIO = 2
#: Width of the two fully connected layers after pooling (torchvision's ``TwoMLPHead``).
BOX_REPRESENTATION_SIZE = 1024
#: A proposal with IoU >= 0.5 to a face is a positive for the box head, below it a negative
#: (Fast R-CNN's thresholds, kept by py-faster-rcnn and torchvision; not in the seed).
BOX_FG_IOU_THRESH = 0.5
BOX_BG_IOU_THRESH = 0.5
#: Proposals sampled per image for the box head, a quarter of them positive at most:
#: py-faster-rcnn's 128 and 0.25 (the seed gives none). torchvision's 512 is for ~80-class
#: images; a few faces per image need fewer, and each costs box-head time on the CPU.
BOX_BATCH_SIZE_PER_IMAGE = 128
BOX_POSITIVE_FRACTION = 0.25
#: Detections scoring below this are dropped: low, so precision-recall curves and AP see the
#: whole score range (torchvision's default). A deployment picks its own operating point.
BOX_SCORE_THRESH = 0.05
#: IoU above which final NMS drops the lower-scoring face (torchvision's default).
BOX_NMS_THRESH = 0.5
#: At most this many faces per image (torchvision's default; far above any gate's crowd).
BOX_DETECTIONS_PER_IMG = 100


@dataclass(frozen=True, slots=True)
class RcnnConfig:
    """Every parameter of the detector; defaults are the module constants above.

    ``anchor_sizes`` has one tuple of side lengths per feature map of ``backbone`` (see
    :data:`FEATURE_STRIDES`), all of the same length; ``anchor_aspect_ratios`` (h/w) apply to
    every map. Anchors per feature-map position: ``len(anchor_sizes[0]) *
    len(anchor_aspect_ratios)`` (the seed's k). Sizes are pixels of the resized image
    (shorter side ``min_size``, longer side at most ``max_size``). ``rpn_pre_nms_top_n_*``
    count per feature map, ``rpn_post_nms_top_n_*`` per image (torchvision's convention).

    Raises:
        ValueError: a parameter out of range, naming it.
    """

    backbone: Backbone = Backbone.MOBILENET_V3_LARGE_FPN
    num_classes: int = NUM_CLASSES
    min_size: int = MIN_SIZE
    max_size: int = MAX_SIZE
    anchor_sizes: tuple[tuple[int, ...], ...] = DEFAULT_ANCHOR_SIZES[
        Backbone.MOBILENET_V3_LARGE_FPN
    ]
    anchor_aspect_ratios: tuple[float, ...] = FACE_ASPECT_RATIOS
    rpn_fg_iou_thresh: float = RPN_FG_IOU_THRESH
    rpn_bg_iou_thresh: float = RPN_BG_IOU_THRESH
    rpn_batch_size_per_image: int = RPN_BATCH_SIZE_PER_IMAGE
    rpn_positive_fraction: float = RPN_POSITIVE_FRACTION
    rpn_pre_nms_top_n_train: int = RPN_PRE_NMS_TOP_N_TRAIN
    rpn_pre_nms_top_n_test: int = RPN_PRE_NMS_TOP_N_TEST
    rpn_post_nms_top_n_train: int = RPN_POST_NMS_TOP_N_TRAIN
    rpn_post_nms_top_n_test: int = RPN_POST_NMS_TOP_N_TEST
    rpn_nms_thresh: float = RPN_NMS_THRESH
    rpn_score_thresh: float = RPN_SCORE_THRESH
    roi_output_size: int = ROI_OUTPUT_SIZE
    roi_sampling_ratio: int = ROI_SAMPLING_RATIO
    box_representation_size: int = BOX_REPRESENTATION_SIZE
    box_fg_iou_thresh: float = BOX_FG_IOU_THRESH
    box_bg_iou_thresh: float = BOX_BG_IOU_THRESH
    box_batch_size_per_image: int = BOX_BATCH_SIZE_PER_IMAGE
    box_positive_fraction: float = BOX_POSITIVE_FRACTION
    box_score_thresh: float = BOX_SCORE_THRESH
    box_nms_thresh: float = BOX_NMS_THRESH
    box_detections_per_img: int = BOX_DETECTIONS_PER_IMG

    def __post_init__(self) -> None:
        # Accept lists (JSON, keyword arguments) but store tuples, so the config stays hashable.
        object.__setattr__(self, "backbone", _backbone(self.backbone))
        object.__setattr__(self, "anchor_sizes", tuple(tuple(level) for level in self.anchor_sizes))
        object.__setattr__(self, "anchor_aspect_ratios", tuple(self.anchor_aspect_ratios))
        self._check_ints()
        self._check_anchors()
        for name in (
            "rpn_fg_iou_thresh",
            "rpn_bg_iou_thresh",
            "box_fg_iou_thresh",
            "box_bg_iou_thresh",
            "rpn_score_thresh",
            "box_score_thresh",
        ):
            _check_range(name, getattr(self, name), 0.0, 1.0, low_open=False)
        for name in ("rpn_positive_fraction", "box_positive_fraction"):
            _check_range(name, getattr(self, name), 0.0, 1.0, low_open=True)
        for name in ("rpn_nms_thresh", "box_nms_thresh"):
            _check_range(name, getattr(self, name), 0.0, 1.0, low_open=True)
        for stage in ("rpn", "box"):
            low, high = (
                getattr(self, f"{stage}_bg_iou_thresh"),
                getattr(self, f"{stage}_fg_iou_thresh"),
            )
            if low > high:
                raise ValueError(
                    f"{stage}_bg_iou_thresh ({low}) must not exceed {stage}_fg_iou_thresh ({high})"
                )

    def _check_ints(self) -> None:
        minimums = {
            "num_classes": 2,  # background + at least one class
            "min_size": 1,
            "max_size": 1,
            "rpn_batch_size_per_image": 1,
            "rpn_pre_nms_top_n_train": 1,
            "rpn_pre_nms_top_n_test": 1,
            "rpn_post_nms_top_n_train": 1,
            "rpn_post_nms_top_n_test": 1,
            "roi_output_size": 1,
            "roi_sampling_ratio": 0,  # 0: torchvision picks the count per bin adaptively
            "box_representation_size": 1,
            "box_batch_size_per_image": 1,
            "box_detections_per_img": 1,
        }
        for name, minimum in minimums.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name} must be an integer, got {value!r}")
            if value < minimum:
                raise ValueError(f"{name} must be at least {minimum}, got {value}")
        if self.min_size > self.max_size:
            raise ValueError(
                f"min_size ({self.min_size}) must not exceed max_size ({self.max_size})"
            )

    def _check_anchors(self) -> None:
        maps = len(FEATURE_STRIDES[self.backbone])
        if len(self.anchor_sizes) != maps:
            raise ValueError(
                f"anchor_sizes has {len(self.anchor_sizes)} level(s) but backbone "
                f"{self.backbone.value} has {maps} feature map(s); see DEFAULT_ANCHOR_SIZES"
            )
        if not self.anchor_sizes[0]:
            raise ValueError("anchor_sizes must give at least one size per feature map")
        for level, sizes in enumerate(self.anchor_sizes):
            if len(sizes) != len(self.anchor_sizes[0]):
                # One RPN head slides over every map, so each map needs the same k.
                raise ValueError(
                    f"anchor_sizes[{level}] has {len(sizes)} sizes, anchor_sizes[0] has "
                    f"{len(self.anchor_sizes[0])}: every feature map needs the same count"
                )
            for size in sizes:
                if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                    raise ValueError(f"anchor_sizes[{level}] must hold positive integers: {sizes}")
            if len(set(sizes)) != len(sizes):
                raise ValueError(f"anchor_sizes[{level}] repeats a size: {sizes}")
        ratios = self.anchor_aspect_ratios
        if not ratios:
            raise ValueError("anchor_aspect_ratios must not be empty")
        for ratio in ratios:
            if not _is_number(ratio) or not math.isfinite(ratio) or ratio <= 0:
                raise ValueError(f"anchor_aspect_ratios must be positive numbers: {ratios}")
        if len(set(ratios)) != len(ratios):
            raise ValueError(f"anchor_aspect_ratios repeats a ratio: {ratios}")

    @property
    def anchors_per_position(self) -> int:
        """The seed's k: anchors centred on each feature-map position (sizes x ratios)."""
        return len(self.anchor_sizes[0]) * len(self.anchor_aspect_ratios)

    @property
    def feature_strides(self) -> tuple[int, ...]:
        """Nominal stride of each feature map of :attr:`backbone`."""
        return FEATURE_STRIDES[self.backbone]

    @classmethod
    def for_backbone(cls, backbone: Backbone | str, **overrides: Any) -> RcnnConfig:
        """A config for ``backbone`` with its default anchor sizes, then ``overrides``."""
        chosen = _backbone(backbone)
        values: dict[str, Any] = {"anchor_sizes": DEFAULT_ANCHOR_SIZES[chosen]}
        values.update(overrides)
        return cls(backbone=chosen, **values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (enums as strings, tuples as lists), for checkpoints."""
        raw = asdict(self)
        raw["backbone"] = self.backbone.value
        raw["anchor_sizes"] = [list(level) for level in self.anchor_sizes]
        raw["anchor_aspect_ratios"] = list(self.anchor_aspect_ratios)
        return raw

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> RcnnConfig:
        """Inverse of :meth:`to_dict`; a field missing from ``raw`` takes its default.

        Raises:
            ValueError: an unknown key, a value of the wrong type, or a value out of range.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"unknown RcnnConfig field(s): {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, value in raw.items():
            if name == "anchor_sizes":
                values[name] = _nested_tuple(name, value)
            elif name == "anchor_aspect_ratios":
                values[name] = _float_tuple(name, value)
            elif name == "backbone":
                values[name] = _backbone(value)
            elif isinstance(getattr(_DEFAULTS, name), float):
                if not _is_number(value):
                    raise ValueError(f"{name} must be a number, got {value!r}")
                values[name] = float(value)
            else:
                values[name] = value  # integers: checked in __post_init__
        return cls(**values)


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_range(name: str, value: object, low: float, high: float, *, low_open: bool) -> None:
    if not _is_number(value):
        raise ValueError(f"{name} must be a number, got {value!r}")
    inside = (low < value if low_open else low <= value) and value <= high
    if not inside:
        bracket = "(" if low_open else "["
        raise ValueError(f"{name} must be in {bracket}{low}, {high}], got {value}")


def _backbone(value: object) -> Backbone:
    try:
        return Backbone(str(value))
    except ValueError:
        choices = ", ".join(b.value for b in Backbone)
        raise ValueError(f"backbone must be one of {choices}, got {value!r}") from None


def _nested_tuple(name: str, value: object) -> tuple[tuple[int, ...], ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, list | tuple) for v in value):
        raise ValueError(f"{name} must be a list of lists of integers, got {value!r}")
    return tuple(tuple(level) for level in value)


def _float_tuple(name: str, value: object) -> tuple[float, ...]:
    if not isinstance(value, list | tuple) or not all(_is_number(v) for v in value):
        raise ValueError(f"{name} must be a list of numbers, got {value!r}")
    return tuple(float(v) for v in value)


_DEFAULTS = RcnnConfig()
