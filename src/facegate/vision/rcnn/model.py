"""Build torchvision's Faster R-CNN from an :class:`RcnnConfig`; needs ``facegate[rcnn]``.

Nothing is re-implemented: torchvision's ``AnchorGenerator``, ``RPNHead``,
``RegionProposalNetwork`` (IoU ``Matcher``, ``BalancedPositiveNegativeSampler``,
``BoxCoder``, smooth-L1 loss, top-N / NMS / top-M), ``MultiScaleRoIAlign`` and ``RoIHeads``
do the work; this module only wires them with the config's values. No weights are
downloaded: the network starts from random initialisation (torchvision's, e.g. N(0, 0.01)
for the RPN head's convolutions, as in the seed).

Differences from the seed that come with torchvision: the RPN scores each anchor with one
sigmoid logit (k outputs, not the seed's 2k softmax pair; equivalent for two classes);
anchors crossing the image border are kept in training (the seed ignores them); RoIs are
pooled with RoIAlign instead of quantised max pooling; the RPN and box head train jointly,
end to end, instead of the seed's four-step alternation.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import torch
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import mobilenet_backbone
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.rpn import RPNHead
from torchvision.ops import MultiScaleRoIAlign

from facegate.vision.rcnn.config import Backbone, RcnnConfig

#: torchvision's MobileNetV3 stages (conv1, the four strided blocks, the last conv). Training
#: from scratch, every stage must learn, so all of them are trainable.
MOBILENET_V3_STAGES = 6
#: Channels of every feature map: torchvision's MobileNet extractors project to 256.
BACKBONE_CHANNELS = 256
#: Stages feeding the pyramid: 3 ends at stride 16, 5 (the last conv) at stride 32.
#: torchvision's default (4, 5) has both at stride 32, too coarse for small faces.
FPN_RETURNED_STAGES = (3, 5)
#: Feature maps that RoIAlign pools from: every map but the extra max-pooled level, which
#: only serves the RPN (torchvision's choice for its FPN detectors).
ROI_FEATURE_MAPS: Mapping[Backbone, tuple[str, ...]] = MappingProxyType(
    {
        Backbone.MOBILENET_V3_LARGE_FPN: ("0", "1"),
        Backbone.MOBILENET_V3_LARGE: ("0",),
    }
)


def anchor_generator(config: RcnnConfig) -> AnchorGenerator:
    """torchvision's anchor generator with the config's sizes and h/w ratios on every map.

    For each feature map it places ``config.anchors_per_position`` anchors at every
    position, ordered ratio-major (all sizes of the first ratio first), corners rounded to
    whole pixels, centred on ``(column * stride, row * stride)`` of the resized image.
    """
    levels = len(config.anchor_sizes)
    return AnchorGenerator(
        sizes=config.anchor_sizes,
        aspect_ratios=(config.anchor_aspect_ratios,) * levels,
    )


def build_backbone(config: RcnnConfig) -> torch.nn.Module:
    """The feature extractor, randomly initialised; ``out_channels`` is 256.

    Returns a module mapping ``(N, 3, H, W)`` float images to feature maps named as in
    :data:`ROI_FEATURE_MAPS` (plus ``"pool"`` for the pyramid), strides as in
    :data:`facegate.vision.rcnn.config.FEATURE_STRIDES`. Batch norm is trainable
    (torchvision freezes it only for pretrained weights).
    """
    fpn = config.backbone is Backbone.MOBILENET_V3_LARGE_FPN
    backbone: torch.nn.Module = mobilenet_backbone(
        backbone_name="mobilenet_v3_large",
        weights=None,
        fpn=fpn,
        norm_layer=torch.nn.BatchNorm2d,
        trainable_layers=MOBILENET_V3_STAGES,
        returned_layers=list(FPN_RETURNED_STAGES) if fpn else None,
    )
    if backbone.out_channels != BACKBONE_CHANNELS:
        raise RuntimeError(f"torchvision's backbone has {backbone.out_channels} channels")
    return backbone


def build_model(config: RcnnConfig) -> FasterRCNN:
    """A Faster R-CNN face detector configured by ``config``, untrained, no downloads.

    In training mode it takes a list of ``(3, H, W)`` float images in [0, 1] and targets
    ``{"boxes": (n, 4) float [x1, y1, x2, y2] pixels, "labels": (n,) int64, 1 = face}``
    and returns the four losses; in eval mode it returns one dict per image with
    ``boxes``, ``labels`` and ``scores`` in the input image's pixels.
    """
    backbone = build_backbone(config)
    channels = BACKBONE_CHANNELS
    roi_pool = MultiScaleRoIAlign(
        featmap_names=list(ROI_FEATURE_MAPS[config.backbone]),
        output_size=config.roi_output_size,
        sampling_ratio=config.roi_sampling_ratio,
    )
    box_head = TwoMLPHead(channels * config.roi_output_size**2, config.box_representation_size)
    return FasterRCNN(
        backbone,
        num_classes=None,  # given by box_predictor
        min_size=config.min_size,
        max_size=config.max_size,
        rpn_anchor_generator=anchor_generator(config),
        rpn_head=RPNHead(channels, config.anchors_per_position),
        rpn_pre_nms_top_n_train=config.rpn_pre_nms_top_n_train,
        rpn_pre_nms_top_n_test=config.rpn_pre_nms_top_n_test,
        rpn_post_nms_top_n_train=config.rpn_post_nms_top_n_train,
        rpn_post_nms_top_n_test=config.rpn_post_nms_top_n_test,
        rpn_nms_thresh=config.rpn_nms_thresh,
        rpn_fg_iou_thresh=config.rpn_fg_iou_thresh,
        rpn_bg_iou_thresh=config.rpn_bg_iou_thresh,
        rpn_batch_size_per_image=config.rpn_batch_size_per_image,
        rpn_positive_fraction=config.rpn_positive_fraction,
        rpn_score_thresh=config.rpn_score_thresh,
        box_roi_pool=roi_pool,
        box_head=box_head,
        box_predictor=FastRCNNPredictor(config.box_representation_size, config.num_classes),
        box_score_thresh=config.box_score_thresh,
        box_nms_thresh=config.box_nms_thresh,
        box_detections_per_img=config.box_detections_per_img,
        box_fg_iou_thresh=config.box_fg_iou_thresh,
        box_bg_iou_thresh=config.box_bg_iou_thresh,
        box_batch_size_per_image=config.box_batch_size_per_image,
        box_positive_fraction=config.box_positive_fraction,
    )
