"""Detection metrics on hand-computed cases, and the harness on real photos with dlib's HOG."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from facegate.bench.detection import (
    COCO_IOU_THRESHOLDS,
    COCO_MAX_DETECTIONS,
    HOG_EVAL_THRESHOLD,
    UNMATCHED,
    ImageDetections,
    OperatingPoint,
    average_precision_coco,
    average_precision_voc,
    best_f1,
    compare,
    evaluate_detector,
    hog_for_evaluation,
    iou_matrix,
    match_detections,
    plot_pr,
    precision_recall,
)
from facegate.errors import DatasetError
from facegate.fixtures import astronaut, encode_png, no_face
from facegate.vision.rcnn.annotations import FACE_LABEL, AnnotatedImage, LabelledBox

FACE = [0.0, 0.0, 10.0, 10.0]
ELSEWHERE = [100.0, 100.0, 110.0, 110.0]
#: The astronaut's face, drawn by hand around dlib's best HOG window [175, 76, 266, 167).
ASTRONAUT_FACE = (172.0, 70.0, 268.0, 175.0)


def image(gt: list[list[float]], boxes: list[list[float]], scores: list[float]) -> ImageDetections:
    return ImageDetections(np.array(gt), np.array(boxes), np.array(scores))


# --- IoU -----------------------------------------------------------------------------


def test_iou_hand_cases() -> None:
    pred = [FACE, [5.0, 0.0, 15.0, 10.0], [10.0, 0.0, 20.0, 10.0], [0.0, 0.0, 10.0, 7.2]]
    iou = iou_matrix(pred, [FACE])
    assert iou.shape == (4, 1)
    # identical; half overlap 50 / 150; touching at x = 10 (x2 exclusive); 72 / 100
    assert_allclose(iou[:, 0], [1.0, 1 / 3, 0.0, 0.72], rtol=0, atol=1e-15)


def test_iou_shapes_empty_and_zero_area() -> None:
    assert iou_matrix(np.zeros((0, 4)), [FACE]).shape == (0, 1)
    assert iou_matrix([FACE, FACE], []).shape == (2, 0)
    assert iou_matrix([[5.0, 5.0, 5.0, 5.0]], [[5.0, 5.0, 5.0, 5.0]])[0, 0] == 0.0


@pytest.mark.parametrize("bad", [[[0.0, 0.0, 1.0]], [[0.0, 0.0, math.nan, 1.0]]])
def test_iou_rejects_bad_boxes(bad: list[list[float]]) -> None:
    with pytest.raises(ValueError, match="pred"):
        iou_matrix(bad, [FACE])


# --- matching ------------------------------------------------------------------------


def test_duplicate_detection_is_a_false_positive() -> None:
    # Listed worst first: matching goes by score, so the 0.9 box takes the face.
    matches = match_detections([FACE, [1.0, 0.0, 11.0, 10.0]], [0.8, 0.9], [FACE])
    assert_array_equal(matches, [UNMATCHED, 0])


def test_taken_face_leaves_the_next_best_unmatched_face() -> None:
    # The second detection's best face is taken; the other face (IoU 80/120) still matches.
    gt = [FACE, [2.0, 0.0, 12.0, 10.0]]
    assert_array_equal(match_detections([FACE, FACE], [0.9, 0.8], gt), [0, 1])
    assert_array_equal(match_detections([FACE, FACE], [0.9, 0.8], gt, 0.7), [0, UNMATCHED])


def test_match_at_exact_threshold_and_without_faces() -> None:
    assert_array_equal(match_detections([[0.0, 0.0, 10.0, 5.0]], [1.0], [FACE], 0.5), [0])
    assert_array_equal(match_detections([FACE], [1.0], []), [UNMATCHED])
    assert match_detections([], [], [FACE]).shape == (0,)


def test_scores_must_fit_boxes() -> None:
    with pytest.raises(ValueError, match="2 boxes but 1 scores"):
        ImageDetections(np.array([FACE]), np.array([FACE, FACE]), np.array([0.5]))
    with pytest.raises(ValueError, match="finite"):
        ImageDetections(np.array([FACE]), np.array([FACE]), np.array([math.inf]))


# --- AP ------------------------------------------------------------------------------

#: Two images with a face each; ranked: 0.9 hit, 0.8 miss, 0.6 miss, 0.5 hit.
TWO_IMAGES = [
    image([FACE], [FACE, ELSEWHERE], [0.9, 0.6]),
    image([FACE], [ELSEWHERE, FACE], [0.8, 0.5]),
]


def test_precision_recall_ranks_all_images() -> None:
    curve = precision_recall(TWO_IMAGES)
    assert curve.n_faces == 2
    assert_array_equal(curve.scores, [0.9, 0.8, 0.6, 0.5])
    assert_array_equal(curve.true_positive, [True, False, False, True])
    assert_array_equal(curve.precision, [1.0, 0.5, 1 / 3, 0.5])
    assert_array_equal(curve.recall, [0.5, 0.5, 0.5, 1.0])


def test_voc_ap_is_the_area_under_the_envelope() -> None:
    # recall 0 -> 0.5 at precision 1, then 0.5 -> 1 at precision 2/4.
    assert average_precision_voc(TWO_IMAGES) == 0.75


def test_coco_ap_is_101_point() -> None:
    # Exact boxes, so every IoU threshold agrees: recall points 0..0.50 (51 of them) at
    # precision 1, 0.51..1.00 (50) at 0.5.
    assert average_precision_coco(TWO_IMAGES) == pytest.approx(76 / 101, abs=1e-15)


def test_coco_ap_averages_iou_thresholds() -> None:
    # IoU 0.72 counts at 0.50, 0.55, 0.60, 0.65, 0.70 and misses at 0.75 ... 0.95.
    loose = [image([FACE], [[0.0, 0.0, 10.0, 7.2]], [0.9])]
    assert len(COCO_IOU_THRESHOLDS) == 10
    assert average_precision_voc(loose) == 1.0
    assert average_precision_coco(loose) == 0.5


def test_duplicates_rank_between_hits() -> None:
    # 0.9 hit, 0.8 duplicate (miss), 0.7 hit on the other image: 1/2 * 1 + 1/2 * 2/3.
    images = [image([FACE], [FACE, FACE], [0.9, 0.8]), image([FACE], [FACE], [0.7])]
    assert average_precision_voc(images) == pytest.approx(5 / 6, abs=1e-15)
    # A duplicate below every hit costs nothing.
    assert average_precision_voc([image([FACE], [FACE, FACE], [0.9, 0.8])]) == 1.0


def test_no_detections_scores_zero() -> None:
    images = [image([FACE], [], []), image([FACE, ELSEWHERE], [], [])]
    assert average_precision_voc(images) == 0.0
    assert average_precision_coco(images) == 0.0
    assert best_f1(precision_recall(images)) is None


def test_no_faces_is_undefined() -> None:
    only_false = [image([], [FACE], [0.9])]
    assert math.isnan(average_precision_voc(only_false))
    assert math.isnan(average_precision_coco(only_false))
    assert math.isnan(average_precision_voc([]))
    assert best_f1(precision_recall(only_false)) is None


def test_images_without_faces_add_false_positives() -> None:
    # 0.9 false on the empty image, 0.8 hit: precision 1/2 at recall 1.
    images = [image([], [FACE], [0.9]), image([FACE], [FACE], [0.8])]
    assert average_precision_voc(images) == 0.5


def test_coco_keeps_each_images_best_100() -> None:
    false = [[200.0 + i, 0.0, 210.0 + i, 10.0] for i in range(COCO_MAX_DETECTIONS)]
    crowded = [image([FACE], [*false, FACE], [1.0] * COCO_MAX_DETECTIONS + [0.1])]
    assert average_precision_voc(crowded) == pytest.approx(1 / 101, abs=1e-15)
    assert average_precision_coco(crowded) == 0.0


def test_best_f1_skips_unreachable_ties() -> None:
    # Ranked 0.9 hit, 0.5 hit, 0.5 miss: a cut cannot separate the tied 0.5s.
    images = [
        image([FACE, ELSEWHERE], [FACE, ELSEWHERE, [50.0, 50.0, 60.0, 60.0]], [0.9, 0.5, 0.5])
    ]
    assert best_f1(precision_recall(images)) == OperatingPoint(0.5, 2 / 3, 1.0, 0.8)
    assert best_f1(precision_recall(TWO_IMAGES)) == OperatingPoint(0.9, 1.0, 0.5, 2 / 3)


# --- the harness on real photos ------------------------------------------------------


@pytest.fixture
def photo_set(tmp_path: Path) -> list[AnnotatedImage]:
    (tmp_path / "astronaut.png").write_bytes(encode_png(astronaut()))
    (tmp_path / "coffee.png").write_bytes(encode_png(no_face()))
    face = LabelledBox(*ASTRONAUT_FACE, label=FACE_LABEL, source_label=FACE_LABEL)
    other = LabelledBox(0.0, 0.0, 40.0, 40.0, label="hand", source_label="hand")
    return [
        AnnotatedImage(tmp_path / "astronaut.png", 512, 512, (face, other)),
        AnnotatedImage(tmp_path / "coffee.png", 600, 400, ()),
    ]


def test_hog_for_evaluation_reports_low_scores() -> None:
    hog = hog_for_evaluation()
    assert (hog.upsample_schedule, hog.threshold) == ((1,), HOG_EVAL_THRESHOLD)
    assert min(f.detection_score for f in hog.detect(astronaut())) < 0.0


def test_evaluate_hog_on_real_photos(photo_set: list[AnnotatedImage], tmp_path: Path) -> None:
    calls: list[int] = []
    report = evaluate_detector(hog_for_evaluation(), photo_set, on_image=lambda: calls.append(1))
    assert len(calls) == 2
    # Only "face" boxes count; the astronaut's face is HOG's best window, so AP is 1.
    assert (report.detector, report.n_images, report.n_faces) == ("hog", 2, 1)
    assert report.ap50 == 1.0
    assert 0.0 < report.ap_coco <= 1.0
    assert report.median_seconds_per_image > 0.0
    astronaut_result = report.images[0]
    assert astronaut_result.name == "astronaut.png"
    assert astronaut_result.detections.gt_boxes.tolist() == [list(ASTRONAUT_FACE)]
    assert astronaut_result.matched[0]
    assert not astronaut_result.matched[1:].any()
    assert np.all(np.diff(astronaut_result.detections.scores) <= 0)
    assert report.n_detections == sum(r.detections.scores.size for r in report.images)
    summary = json.loads(json.dumps(report.to_json()))
    assert summary["ap50"] == 1.0
    assert len(summary["pr_curve"]["precision"]) == report.n_detections
    assert "images" not in summary
    per_image = json.loads(json.dumps(report.per_image_json()))
    assert per_image[0]["detections"][0]["matched"] is True
    assert per_image[1]["gt_boxes"] == []

    table = compare([report, report])
    assert table.count("\n| hog | 2 | 1 |") == 2
    png = plot_pr([report], tmp_path / "pr.png", "HOG")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_refuses_an_image_of_another_size(photo_set: list[AnnotatedImage]) -> None:
    wrong = AnnotatedImage(photo_set[0].path, 500, 512, photo_set[0].boxes)
    with pytest.raises(DatasetError, match="decodes to 512x512, annotated as 500x512"):
        evaluate_detector(hog_for_evaluation(), [wrong])


def test_evaluate_nothing_is_empty() -> None:
    report = evaluate_detector(hog_for_evaluation(), [])
    assert (report.n_images, report.n_faces, report.n_detections) == (0, 0, 0)
    assert math.isnan(report.ap50)
    assert math.isnan(report.median_seconds_per_image)
