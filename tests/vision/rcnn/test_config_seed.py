"""The detector's configuration against the seed (../shared/seeds/003_93ad98e78e0fa0c2.txt).

Hand-computed cases with exact expectations, run through torchvision's own components as
``build_model`` / ``anchor_generator`` configure them: anchors per position, IoU labelling,
sampling counts, box encoding and decoding. Tests that need torch skip without it.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from typing import Any

import pytest

from facegate.vision.rcnn.config import (
    DEFAULT_ANCHOR_SIZES,
    FEATURE_STRIDES,
    Backbone,
    RcnnConfig,
)

# --- the config itself (no torch) ----------------------------------------------------


def test_defaults_are_the_seeds_values() -> None:
    config = RcnnConfig()
    # k = 9: three scales x three aspect ratios per position ("k=9").
    assert [len(level) for level in config.anchor_sizes] == [3, 3, 3]
    assert len(config.anchor_aspect_ratios) == 3
    assert config.anchors_per_position == 9
    # IoU > 0.7 positive, < 0.3 negative; 256 anchors per image at up to 1:1.
    assert (config.rpn_fg_iou_thresh, config.rpn_bg_iou_thresh) == (0.7, 0.3)
    assert (config.rpn_batch_size_per_image, config.rpn_positive_fraction) == (256, 0.5)
    # Top-N, NMS, top-M (the paper's 0.7 NMS and 2000 / 300 proposals).
    assert config.rpn_nms_thresh == 0.7
    assert (config.rpn_post_nms_top_n_train, config.rpn_post_nms_top_n_test) == (2000, 300)
    assert (config.rpn_pre_nms_top_n_train, config.rpn_pre_nms_top_n_test) == (2000, 1000)
    # RoI pooling to 7 x 7; background + face.
    assert config.roi_output_size == 7
    assert config.num_classes == 2


def test_face_anchor_shapes() -> None:
    config = RcnnConfig()
    assert config.backbone is Backbone.MOBILENET_V3_LARGE_FPN
    assert config.feature_strides == (16, 32, 64)
    assert config.anchor_sizes == ((16, 24, 32), (48, 64, 96), (128, 192, 256))
    # Height / width: square to slightly tall, never wide.
    assert config.anchor_aspect_ratios == (1.0, 1.25, 1.5)
    assert (config.min_size, config.max_size) == (320, 512)


def test_single_map_backbone_keeps_k_9() -> None:
    config = RcnnConfig.for_backbone(Backbone.MOBILENET_V3_LARGE)
    assert config.anchor_sizes == DEFAULT_ANCHOR_SIZES[Backbone.MOBILENET_V3_LARGE]
    assert config.feature_strides == FEATURE_STRIDES[Backbone.MOBILENET_V3_LARGE] == (32,)
    assert config.anchors_per_position == 9
    custom = RcnnConfig.for_backbone("mobilenet_v3_large", anchor_sizes=((40,),))
    assert (custom.anchor_sizes, custom.anchors_per_position) == (((40,),), 3)


def test_dict_round_trip_through_json() -> None:
    config = RcnnConfig(box_score_thresh=0.2, anchor_aspect_ratios=(1.0, 1.4))
    raw = json.loads(json.dumps(config.to_dict()))
    assert raw["backbone"] == "mobilenet_v3_large_fpn"
    assert raw["anchor_sizes"] == [[16, 24, 32], [48, 64, 96], [128, 192, 256]]
    restored = RcnnConfig.from_dict(raw)
    assert restored == config
    assert hash(restored) == hash(config)


def test_from_dict_defaults_and_coercion() -> None:
    assert RcnnConfig.from_dict({}) == RcnnConfig()
    config = RcnnConfig.from_dict({"rpn_nms_thresh": 1, "anchor_aspect_ratios": [1, 2]})
    assert config.rpn_nms_thresh == 1.0
    assert isinstance(config.rpn_nms_thresh, float)
    assert config.anchor_aspect_ratios == (1.0, 2.0)


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"anchor_size": [[16]]}, "unknown RcnnConfig field"),
        ({"backbone": "resnet9000"}, "backbone must be one of mobilenet_v3_large_fpn"),
        ({"rpn_nms_thresh": "0.7"}, "rpn_nms_thresh must be a number"),
        ({"rpn_nms_thresh": True}, "rpn_nms_thresh must be a number"),
        ({"rpn_batch_size_per_image": 256.0}, "rpn_batch_size_per_image must be an integer"),
        ({"box_detections_per_img": True}, "box_detections_per_img must be an integer"),
        ({"anchor_sizes": [16, 24]}, "anchor_sizes must be a list of lists"),
        ({"anchor_aspect_ratios": ["1"]}, "anchor_aspect_ratios must be a list of numbers"),
    ],
)
def test_from_dict_rejects(raw: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RcnnConfig.from_dict(raw)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"num_classes": 1}, r"num_classes must be at least 2, got 1"),
        ({"min_size": 600}, r"min_size \(600\) must not exceed max_size \(512\)"),
        ({"rpn_fg_iou_thresh": 1.5}, r"rpn_fg_iou_thresh must be in \[0.0, 1.0\], got 1.5"),
        ({"rpn_bg_iou_thresh": 0.8}, r"rpn_bg_iou_thresh \(0.8\) must not exceed"),
        ({"box_bg_iou_thresh": 0.6}, r"box_bg_iou_thresh \(0.6\) must not exceed"),
        ({"rpn_positive_fraction": 0.0}, r"rpn_positive_fraction must be in \(0.0, 1.0\]"),
        ({"box_positive_fraction": 1.5}, r"box_positive_fraction must be in \(0.0, 1.0\]"),
        ({"rpn_nms_thresh": 0.0}, r"rpn_nms_thresh must be in \(0.0, 1.0\]"),
        ({"box_score_thresh": -0.1}, r"box_score_thresh must be in \[0.0, 1.0\]"),
        ({"rpn_batch_size_per_image": 0}, "rpn_batch_size_per_image must be at least 1"),
        ({"rpn_post_nms_top_n_test": 0}, "rpn_post_nms_top_n_test must be at least 1"),
        ({"roi_output_size": 0}, "roi_output_size must be at least 1"),
        ({"roi_sampling_ratio": -1}, "roi_sampling_ratio must be at least 0"),
        ({"anchor_sizes": ((16, 32),)}, r"anchor_sizes has 1 level\(s\) but backbone"),
        ({"anchor_sizes": ((16, 32), (64,), (128, 256))}, r"anchor_sizes\[1\] has 1 sizes"),
        ({"anchor_sizes": ((), (), ())}, "at least one size per feature map"),
        ({"anchor_sizes": ((16, 0), (64, 96), (128, 256))}, "must hold positive integers"),
        ({"anchor_sizes": ((16, 16), (64, 96), (128, 256))}, r"anchor_sizes\[0\] repeats"),
        ({"anchor_aspect_ratios": ()}, "anchor_aspect_ratios must not be empty"),
        ({"anchor_aspect_ratios": (1.0, -2.0)}, "must be positive numbers"),
        ({"anchor_aspect_ratios": (1.0, math.inf)}, "must be positive numbers"),
        ({"anchor_aspect_ratios": (1.0, 1.0)}, "anchor_aspect_ratios repeats a ratio"),
    ],
)
def test_out_of_range_values_are_refused(overrides: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RcnnConfig(**overrides)


def test_core_modules_do_not_import_torch() -> None:
    code = (
        "import sys\n"
        "import facegate.vision.rcnn, facegate.vision.rcnn.config, "
        "facegate.vision.rcnn.annotations\n"
        "assert not {'torch', 'torchvision'} & set(sys.modules), 'torch imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- torchvision's components as configured (need the rcnn extra) --------------------


@pytest.fixture(scope="module")
def torch() -> Any:
    return pytest.importorskip("torch")


@pytest.fixture(scope="module")
def rcnn(torch: Any) -> Any:
    pytest.importorskip("torchvision")
    from facegate.vision.rcnn import model

    return model


@pytest.fixture(scope="module")
def detector(rcnn: Any, torch: Any) -> Any:
    """The default model, built once (random weights, no downloads)."""
    torch.manual_seed(0)
    return rcnn.build_model(RcnnConfig())


def anchors_for(rcnn: Any, torch: Any, config: RcnnConfig, image: int, grids: list[int]) -> Any:
    """Anchors of one square ``image`` x ``image`` picture with square feature maps."""
    from torchvision.models.detection.image_list import ImageList

    images = ImageList(torch.zeros(1, 3, image, image), [(image, image)])
    features = [torch.zeros(1, 1, g, g) for g in grids]
    (anchors,) = rcnn.anchor_generator(config)(images, features)
    return anchors


def test_anchor_count_is_k_per_position_on_every_map(rcnn: Any, torch: Any) -> None:
    config = RcnnConfig()
    generator = rcnn.anchor_generator(config)
    assert generator.num_anchors_per_location() == [9, 9, 9]
    anchors = anchors_for(rcnn, torch, config, 64, [4, 2, 1])
    # W x H x k anchors per map ("W×H×k个锚点"): 9 x (16 + 4 + 1).
    assert tuple(anchors.shape) == (9 * 21, 4)


def test_anchor_coordinates_on_a_tiny_map(rcnn: Any, torch: Any) -> None:
    # One 32 px square anchor per position; a 2 x 2 map of a 64 x 64 image has stride 32;
    # torchvision centres anchors on (column * stride, row * stride).
    config = RcnnConfig.for_backbone(
        Backbone.MOBILENET_V3_LARGE, anchor_sizes=((32,),), anchor_aspect_ratios=(1.0,)
    )
    anchors = anchors_for(rcnn, torch, config, 64, [2])
    assert anchors.tolist() == [
        [-16.0, -16.0, 16.0, 16.0],
        [16.0, -16.0, 48.0, 16.0],
        [-16.0, 16.0, 16.0, 48.0],
        [16.0, 16.0, 48.0, 48.0],
    ]


def test_aspect_ratio_is_height_over_width(rcnn: Any, torch: Any) -> None:
    config = RcnnConfig.for_backbone(
        Backbone.MOBILENET_V3_LARGE, anchor_sizes=((32,),), anchor_aspect_ratios=(2.0,)
    )
    # w = 32 / sqrt(2) = 22.63, h = 32 * sqrt(2) = 45.25; half-sides rounded to 11 and 23.
    (anchor,) = anchors_for(rcnn, torch, config, 32, [1]).tolist()
    assert anchor == [-11.0, -23.0, 11.0, 23.0]


def test_default_anchors_of_the_first_position(rcnn: Any, torch: Any) -> None:
    anchors = anchors_for(rcnn, torch, RcnnConfig(), 64, [4, 2, 1])
    # Ratio-major: h/w 1.0, 1.25, 1.5 each at 16, 24, 32 px; w = s / sqrt(r), h = s * sqrt(r),
    # half-sides rounded to whole pixels (e.g. 16 / sqrt(1.25) / 2 = 7.16 -> 7).
    assert anchors[:9].tolist() == [
        [-8.0, -8.0, 8.0, 8.0],
        [-12.0, -12.0, 12.0, 12.0],
        [-16.0, -16.0, 16.0, 16.0],
        [-7.0, -9.0, 7.0, 9.0],
        [-11.0, -13.0, 11.0, 13.0],
        [-14.0, -18.0, 14.0, 18.0],
        [-7.0, -10.0, 7.0, 10.0],
        [-10.0, -15.0, 10.0, 15.0],
        [-13.0, -20.0, 13.0, 20.0],
    ]
    # The next position on the stride-16 map is the same nine, 16 px to the right.
    shifted = anchors[:9] + torch.tensor([16.0, 0.0, 16.0, 0.0])
    assert torch.equal(anchors[9:18], shifted)


def test_model_uses_the_configured_anchors(detector: Any, rcnn: Any, torch: Any) -> None:
    expected = rcnn.anchor_generator(RcnnConfig()).cell_anchors
    actual = detector.rpn.anchor_generator.cell_anchors
    assert len(actual) == len(expected) == 3
    for got, want in zip(actual, expected, strict=True):
        assert torch.equal(got, want)


GT_FACE = [0.0, 0.0, 100.0, 100.0]
GT_SMALL = [400.0, 400.0, 440.0, 440.0]


def test_iou_labelling_of_anchors(detector: Any, torch: Any) -> None:
    anchors = torch.tensor(
        [
            [0.0, 0.0, 100.0, 90.0],  # IoU 0.9 with GT_FACE: positive
            [0.0, 0.0, 100.0, 50.0],  # IoU 0.5: between the thresholds, ignored
            [0.0, 0.0, 100.0, 20.0],  # IoU 0.2: negative
            [200.0, 200.0, 300.0, 300.0],  # IoU 0: negative
            [400.0, 400.0, 440.0, 460.0],  # IoU 1600/2400 = 0.667 with GT_SMALL, its best
            [420.0, 400.0, 460.0, 440.0],  # IoU 800/2400 = 0.333: ignored
        ]
    )
    targets = [{"boxes": torch.tensor([GT_FACE, GT_SMALL])}]
    (labels,), (matched,) = detector.rpn.assign_targets_to_anchors([anchors], targets)
    # 1 positive, 0 negative, -1 ignored. Anchor 4 is below 0.7 but is GT_SMALL's best.
    assert labels.tolist() == [1.0, -1.0, 0.0, 0.0, 1.0, -1.0]
    assert matched[0].tolist() == GT_FACE
    assert matched[4].tolist() == GT_SMALL


def test_best_anchor_rule_only_applies_to_the_best(detector: Any, torch: Any) -> None:
    # With an exact anchor for GT_SMALL, the 0.667 anchor is no longer its best: ignored.
    anchors = torch.tensor([[400.0, 400.0, 440.0, 460.0], GT_SMALL])
    targets = [{"boxes": torch.tensor([GT_SMALL])}]
    (labels,), _ = detector.rpn.assign_targets_to_anchors([anchors], targets)
    assert labels.tolist() == [-1.0, 1.0]


def test_iou_thresholds_are_inclusive_at_the_top(detector: Any, torch: Any) -> None:
    # The seed says > 0.7 and < 0.3; torchvision's Matcher counts IoU == 0.7 as positive and
    # IoU == 0.3 as ignored. Only exact ties differ.
    anchors = torch.tensor([[0.0, 0.0, 100.0, 70.0], [0.0, 0.0, 100.0, 30.0], GT_SMALL])
    targets = [{"boxes": torch.tensor([GT_FACE, GT_SMALL])}]
    (labels,), _ = detector.rpn.assign_targets_to_anchors([anchors], targets)
    assert labels.tolist() == [1.0, -1.0, 1.0]


def test_matcher_settings(detector: Any) -> None:
    matcher = detector.rpn.proposal_matcher
    assert (matcher.high_threshold, matcher.low_threshold) == (0.7, 0.3)
    assert matcher.allow_low_quality_matches is True
    box_matcher = detector.roi_heads.proposal_matcher
    assert (box_matcher.high_threshold, box_matcher.low_threshold) == (0.5, 0.5)
    assert box_matcher.allow_low_quality_matches is False


@pytest.mark.parametrize(
    ("positives", "negatives", "ignored", "expected"),
    [
        (300, 1000, 50, (128, 128)),  # plenty of both: 1:1, 256 in all
        (10, 1000, 50, (10, 246)),  # few positives: topped up with negatives
        (10, 20, 50, (10, 20)),  # few of both: everything, never the ignored
        (300, 50, 0, (128, 50)),  # few negatives: positives still capped at half
    ],
)
def test_rpn_sampling_counts(
    detector: Any,
    torch: Any,
    positives: int,
    negatives: int,
    ignored: int,
    expected: tuple[int, int],
) -> None:
    torch.manual_seed(0)
    labels = torch.tensor([1.0] * positives + [0.0] * negatives + [-1.0] * ignored)
    (pos,), (neg,) = detector.rpn.fg_bg_sampler([labels])
    assert (int(pos.sum()), int(neg.sum())) == expected
    assert bool((labels[pos.bool()] == 1).all())
    assert bool((labels[neg.bool()] == 0).all())


def test_box_head_sampling_counts(detector: Any, torch: Any) -> None:
    torch.manual_seed(0)
    sampler = detector.roi_heads.fg_bg_sampler
    assert (sampler.batch_size_per_image, sampler.positive_fraction) == (128, 0.25)
    labels = torch.tensor([1] * 100 + [0] * 1000)
    (pos,), (neg,) = sampler([labels])
    assert (int(pos.sum()), int(neg.sum())) == (32, 96)


def test_box_encoding_is_the_seeds_tx_ty_tw_th(detector: Any, torch: Any) -> None:
    coder = detector.rpn.box_coder
    assert coder.weights == (1.0, 1.0, 1.0, 1.0)
    anchor = torch.tensor([[0.0, 0.0, 16.0, 16.0]])  # x_a = y_a = 8, w_a = h_a = 16
    face = torch.tensor([[4.0, 2.0, 36.0, 50.0]])  # x = 20, y = 26, w = 32, h = 48
    ((tx, ty, tw, th),) = coder.encode_single(face, anchor).tolist()
    assert tx == (20 - 8) / 16 == 0.75
    assert ty == (26 - 8) / 16 == 1.125
    assert tw == pytest.approx(math.log(32 / 16), abs=1e-6)
    assert th == pytest.approx(math.log(48 / 16), abs=1e-6)
    assert coder.decode_single(coder.encode_single(face, anchor), anchor).tolist() == [
        [4.0, 2.0, 36.0, 50.0]
    ]


def test_box_decoding_inverts_encoding(detector: Any, torch: Any) -> None:
    generator = torch.Generator().manual_seed(0)
    corners = torch.rand(50, 2, generator=generator) * 400
    sizes = torch.rand(50, 2, generator=generator) * 200 + 8
    faces = torch.cat([corners, corners + sizes], dim=1)
    anchors = torch.cat([corners + 5, corners + 5 + sizes * 0.7], dim=1)
    for coder in (detector.rpn.box_coder, detector.roi_heads.box_coder):
        decoded = coder.decode_single(coder.encode_single(faces, anchors), anchors)
        assert torch.allclose(decoded, faces, atol=1e-3, rtol=0)


def test_rpn_and_roi_settings_on_the_model(detector: Any) -> None:
    rpn = detector.rpn
    assert rpn._pre_nms_top_n == {"training": 2000, "testing": 1000}
    assert rpn._post_nms_top_n == {"training": 2000, "testing": 300}
    assert (rpn.nms_thresh, rpn.score_thresh) == (0.7, 0.0)
    assert (rpn.fg_bg_sampler.batch_size_per_image, rpn.fg_bg_sampler.positive_fraction) == (
        256,
        0.5,
    )
    # A 3x3 sliding window, then 1x1 layers with k scores and 4k box deltas.
    (window,) = rpn.head.conv
    assert window[0].kernel_size == (3, 3)
    assert (rpn.head.cls_logits.out_channels, rpn.head.bbox_pred.out_channels) == (9, 36)
    roi = detector.roi_heads
    assert roi.box_roi_pool.output_size == (7, 7)
    assert roi.box_roi_pool.featmap_names == ["0", "1"]
    assert roi.box_roi_pool.sampling_ratio == 2
    assert (roi.score_thresh, roi.nms_thresh, roi.detections_per_img) == (0.05, 0.5, 100)
    assert roi.box_predictor.cls_score.out_features == 2
    assert roi.box_predictor.bbox_pred.out_features == 8
    assert (detector.transform.min_size, detector.transform.max_size) == ((320,), 512)


@pytest.mark.parametrize("backbone", list(Backbone))
def test_backbone_strides_match_the_config(rcnn: Any, torch: Any, backbone: Backbone) -> None:
    config = RcnnConfig.for_backbone(backbone)
    network = rcnn.build_backbone(config).eval()
    with torch.no_grad():
        features = network(torch.zeros(1, 3, 320, 320))
    maps = list(features.values()) if isinstance(features, dict) else [features]
    strides = tuple(320 // m.shape[-1] for m in maps)
    assert strides == config.feature_strides
    assert {m.shape[1] for m in maps} == {rcnn.BACKBONE_CHANNELS}
    assert all(p.requires_grad for p in network.parameters())


def test_roi_pooling_gives_7_by_7(detector: Any, torch: Any) -> None:
    features = {
        "0": torch.rand(1, 256, 20, 20),
        "1": torch.rand(1, 256, 10, 10),
        "pool": torch.rand(1, 256, 5, 5),
    }
    proposals = [torch.tensor([[10.0, 10.0, 50.0, 70.0], [0.0, 0.0, 300.0, 200.0]])]
    pooled = detector.roi_heads.box_roi_pool(features, proposals, [(320, 320)])
    assert tuple(pooled.shape) == (2, 256, 7, 7)


def test_model_trains_and_detects_on_cpu(detector: Any, torch: Any) -> None:
    torch.manual_seed(0)
    image = torch.rand(3, 240, 320)
    target = {"boxes": torch.tensor([[40.0, 30.0, 100.0, 110.0]]), "labels": torch.tensor([1])}
    detector.train()
    losses = detector([image], [target])
    assert set(losses) == {"loss_classifier", "loss_box_reg", "loss_objectness", "loss_rpn_box_reg"}
    assert all(bool(torch.isfinite(v)) for v in losses.values())
    detector.eval()
    with torch.no_grad():
        (result,) = detector([image])
    assert set(result) == {"boxes", "labels", "scores"}
    boxes = result["boxes"]
    assert boxes.shape[1] == 4
    assert len(boxes) <= 100
    # Boxes come back in the input image's pixels.
    assert bool((boxes[:, 2] <= 320).all())
    assert bool((boxes[:, 3] <= 240).all())
    assert set(result["labels"].tolist()) <= {1}
