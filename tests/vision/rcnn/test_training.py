"""Training, checkpoints, resume, export: on small composites of a real face (needs torch)."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from facegate.errors import ConfigError, ModelIntegrityError
from facegate.vision.rcnn.annotations import read_annotations
from facegate.vision.rcnn.config import RcnnConfig
from tests.vision.rcnn.faces import CANVAS, composite, write_voc

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")

from facegate.vision.rcnn.data import Sample, preload  # noqa: E402
from facegate.vision.rcnn.detector import RcnnDetector  # noqa: E402
from facegate.vision.rcnn.train import (  # noqa: E402
    CHECKPOINT_NAME,
    TrainSettings,
    batch_indices,
    train,
)
from facegate.vision.rcnn.weights import export_weights, load_weights  # noqa: E402

#: Small pictures and few proposals: a step takes well under a second on a CPU.
SMALL = RcnnConfig(
    min_size=CANVAS,
    max_size=CANVAS,
    rpn_pre_nms_top_n_train=300,
    rpn_post_nms_top_n_train=150,
    rpn_pre_nms_top_n_test=150,
    rpn_post_nms_top_n_test=50,
    box_batch_size_per_image=32,
    box_positive_fraction=0.5,
    rpn_batch_size_per_image=64,
    box_representation_size=128,
    # Keep every scored box: early in training the face class is still below 0.05.
    box_score_thresh=0.0,
)


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> list[Sample]:
    folder = write_voc(tmp_path_factory.mktemp("faces"), 6)
    return preload(read_annotations("voc", folder / "annotations", images_dir=folder / "images"))


def _state(model: Any) -> dict[str, Any]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_batches_cover_every_sample_once_per_epoch() -> None:
    settings = TrainSettings(steps=10, batch_size=2, seed=3)
    epoch = [i for step in range(3) for i in batch_indices(step, 6, settings)]
    assert sorted(epoch) == list(range(6))
    assert epoch != sorted(epoch)  # shuffled
    assert batch_indices(1, 6, settings) == batch_indices(1, 6, settings)


def test_learning_rate_warms_up_then_decays_to_zero() -> None:
    settings = TrainSettings(steps=100, learning_rate=1.0, warmup_steps=10)
    assert settings.learning_rate_at(0) == pytest.approx(0.1)
    assert settings.learning_rate_at(9) == pytest.approx(1.0)
    assert settings.learning_rate_at(10) == pytest.approx(1.0)
    assert settings.learning_rate_at(55) == pytest.approx(0.5)
    assert settings.learning_rate_at(100) == pytest.approx(0.0)


def test_same_seed_same_weights_and_resume_continues_exactly(
    samples: list[Sample], tmp_path: Path
) -> None:
    settings = TrainSettings(steps=2, batch_size=2, seed=7, warmup_steps=1)
    straight = train(samples, SMALL, settings, tmp_path / "a", device="cpu")
    again = train(samples, SMALL, settings, tmp_path / "b", device="cpu")
    assert _same(_state(straight.model), _state(again.model))

    # A run cut short after its first step (time budget), then resumed, ends identical.
    cut = train(samples, SMALL, settings, tmp_path / "c", device="cpu", max_seconds=0.0)
    assert cut.stopped_early
    assert cut.steps_done == 1
    assert (tmp_path / "c" / CHECKPOINT_NAME).exists()
    resumed = train(samples, SMALL, settings, tmp_path / "c", device="cpu", resume=True)
    assert resumed.steps_done == 2
    assert not resumed.stopped_early
    assert [log.step for log in resumed.history] == [1, 2]
    assert _same(_state(straight.model), _state(resumed.model))

    other_seed = train(samples, SMALL, TrainSettings(steps=2, batch_size=2, seed=8), tmp_path / "d")
    assert not _same(_state(straight.model), _state(other_seed.model))


def test_checkpoint_is_never_overwritten_or_mixed_up(samples: list[Sample], tmp_path: Path) -> None:
    settings = TrainSettings(steps=1, batch_size=2)
    train(samples, SMALL, settings, tmp_path, device="cpu")
    with pytest.raises(ConfigError, match="pass --resume"):
        train(samples, SMALL, settings, tmp_path, device="cpu")
    with pytest.raises(ConfigError, match="other settings"):
        train(samples, SMALL, TrainSettings(steps=1, batch_size=2, seed=1), tmp_path, resume=True)
    with pytest.raises(ConfigError, match="other training images"):
        train(samples[:3], SMALL, settings, tmp_path, device="cpu", resume=True)
    with pytest.raises(ConfigError, match="no checkpoint"):
        train(samples, SMALL, settings, tmp_path / "empty", device="cpu", resume=True)
    checkpoint = tmp_path / CHECKPOINT_NAME
    checkpoint.write_bytes(checkpoint.read_bytes()[:1000])
    with pytest.raises(ConfigError, match="not a readable checkpoint"):
        train(samples, SMALL, settings, tmp_path, device="cpu", resume=True)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_asking_for_a_gpu_that_is_not_there_is_a_clear_error(
    samples: list[Sample], tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        train(samples, SMALL, TrainSettings(steps=1), tmp_path, device="cuda")
    assert not tmp_path.joinpath(CHECKPOINT_NAME).exists()


def test_no_faces_to_train_on_is_refused(samples: list[Sample], tmp_path: Path) -> None:
    empty = [Sample(s.name, s.image, torch.zeros(0, 4)) for s in samples]
    with pytest.raises(ConfigError, match="no face boxes"):
        train(empty, SMALL, TrainSettings(steps=1), tmp_path)
    with pytest.raises(ConfigError, match="no training images"):
        train([], SMALL, TrainSettings(steps=1), tmp_path)


def test_exported_weights_load_alone_and_detect_the_same(tmp_path: Path) -> None:
    from facegate.vision.rcnn.model import build_model

    torch.manual_seed(0)
    model = build_model(SMALL).eval()
    path = export_weights(model, SMALL, tmp_path / "w.pt", {"note": "untrained"})
    loaded, config = load_weights(path)
    assert config == SMALL
    assert _same(_state(model), _state(loaded))
    image, _ = composite(1)
    detector = RcnnDetector.from_file(path)
    first, second = detector.detect(image), detector.detect(image)
    assert [f.box for f in first] == [f.box for f in second]


@pytest.mark.rule("R-26")
def test_weights_file_that_is_not_ours_is_refused(tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(ModelIntegrityError, match="not a facegate detector weights file"):
        load_weights(truncated)

    class Payload:
        def __reduce__(self) -> tuple[Any, tuple[str]]:
            return (print, ("code ran",))

    hostile = tmp_path / "hostile.pt"
    hostile.write_bytes(pickle.dumps(Payload()))
    with pytest.raises(ModelIntegrityError):  # weights_only: the pickle's code never runs
        load_weights(hostile)
    foreign = tmp_path / "foreign.pt"
    torch.save({"format": "something else"}, foreign)
    with pytest.raises(ModelIntegrityError, match="not a facegate-rcnn-weights"):
        load_weights(foreign)
    with pytest.raises(ModelIntegrityError, match="no such weights file"):
        load_weights(tmp_path / "missing.pt")


def _ap50(detector: RcnnDetector, seeds: range) -> float:
    from facegate.bench.detection import ImageDetections, average_precision_voc

    images = []
    for seed in seeds:
        image, box = composite(seed)
        faces = detector.detect(image)
        images.append(
            ImageDetections(
                gt_boxes=np.array([box]),
                boxes=np.array([[f.box.x1, f.box.y1, f.box.x2, f.box.y2] for f in faces]).reshape(
                    -1, 4
                ),
                scores=np.array([f.detection_score for f in faces]),
            )
        )
    return float(average_precision_voc(images))


def test_training_smoke_loss_falls_and_ap_rises(samples: list[Sample], tmp_path: Path) -> None:
    """A hundred steps on two pictures: the detector learns (it is not a quality test)."""
    settings = TrainSettings(steps=100, batch_size=2, learning_rate=1e-3, warmup_steps=5, seed=0)
    torch.manual_seed(0)
    from facegate.vision.rcnn.model import build_model

    untrained = export_weights(build_model(SMALL).eval(), SMALL, tmp_path / "untrained.pt")
    result = train(samples[:2], SMALL, settings, tmp_path / "run", device="cpu")
    trained = export_weights(result.model, SMALL, tmp_path / "trained.pt")

    totals = [log.total for log in result.history]
    assert np.mean(totals[-10:]) < 0.7 * np.mean(totals[:10])
    ap_before = _ap50(RcnnDetector.from_file(untrained), range(2))
    ap_after = _ap50(RcnnDetector.from_file(trained), range(2))
    assert ap_after > ap_before + 0.5, (ap_before, ap_after)
