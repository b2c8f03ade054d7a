"""The probe-pattern detector: near-identical refused faces from one device hold it."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from facegate.audit.probe_calibration import perturb
from facegate.bench.datasets import read_labelled_folder
from facegate.gate import probe
from facegate.gate.probe import DEFAULT_PROBE_LIMITS, ProbeDetector, ProbeLimits
from facegate.vision.image import load_image
from facegate.vision.pipeline import FacePipeline, Selection

DIM = 128
LIMITS = ProbeLimits(window_s=60.0, near=0.75, count=5, hold_s=300.0)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _unit(rng: np.random.Generator, base: NDArray[np.float32] | None = None) -> NDArray[np.float32]:
    """A random unit vector, or ``base`` nudged a little (score to it about 0.95)."""
    v = rng.normal(size=DIM) if base is None else base + rng.normal(scale=0.004, size=DIM)
    return (v / np.linalg.norm(v)).astype(np.float32)


def test_near_identical_refused_faces_trip_once_and_hold_the_device() -> None:
    rng = np.random.default_rng(0)
    clock = Clock()
    detector = ProbeDetector(LIMITS, clock=clock)
    base = _unit(rng)
    verdicts = []
    for _ in range(LIMITS.count + 3):
        verdicts.append(detector.observe("kiosk-1", _unit(rng, base), refused=True))
        clock.now += 1.0
    assert [v.tripped for v in verdicts] == [False] * 4 + [True] + [False] * 3
    assert [v.held for v in verdicts] == [False] * 4 + [True] * 4
    assert verdicts[4].near_count == LIMITS.count
    assert detector.held("kiosk-1")
    assert not detector.held("kiosk-2")
    clock.now += LIMITS.hold_s
    assert not detector.held("kiosk-1")
    # After the hold the count starts again: one more probe does not trip at once.
    assert detector.observe("kiosk-1", _unit(rng, base), refused=True) == probe.ProbeVerdict(
        held=False, near_count=1
    )


def test_different_faces_and_opened_faces_do_not_trip() -> None:
    rng = np.random.default_rng(1)
    detector = ProbeDetector(LIMITS, clock=Clock())
    base = _unit(rng)
    for _ in range(50):
        assert not detector.observe("kiosk-1", _unit(rng), refused=True).held
    for _ in range(50):
        assert not detector.observe("kiosk-1", _unit(rng, base), refused=False).held
    assert not detector.held("kiosk-1")


def test_refusals_spread_beyond_the_window_do_not_trip() -> None:
    rng = np.random.default_rng(2)
    clock = Clock()
    detector = ProbeDetector(LIMITS, clock=clock)
    base = _unit(rng)
    step = LIMITS.window_s / (LIMITS.count - 1) + 0.1
    for _ in range(30):
        assert not detector.observe("kiosk-1", _unit(rng, base), refused=True).held
        clock.now += step


def test_devices_are_counted_apart() -> None:
    rng = np.random.default_rng(3)
    detector = ProbeDetector(LIMITS, clock=Clock())
    base = _unit(rng)
    for i in range(2 * (LIMITS.count - 1)):
        assert not detector.observe(f"kiosk-{i % 2}", _unit(rng, base), refused=True).held


def test_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probe, "MAX_DEVICES", 3)
    rng = np.random.default_rng(4)
    detector = ProbeDetector(LIMITS, clock=Clock())
    for i in range(10):
        detector.observe(f"kiosk-{i}", _unit(rng), refused=True)
    assert list(detector._devices) == ["kiosk-7", "kiosk-8", "kiosk-9"]
    for _ in range(probe.MAX_FACES_PER_DEVICE + 10):
        detector.observe("kiosk-9", _unit(rng), refused=True)
    assert len(detector._devices["kiosk-9"].faces) == probe.MAX_FACES_PER_DEVICE


@pytest.mark.parametrize(
    ("field", "value"),
    [("window_s", 0.0), ("near", 1.5), ("count", 1), ("count", 10_000), ("hold_s", -1.0)],
)
def test_limits_refuse_nonsense(field: str, value: float) -> None:
    values: dict[str, float] = {"window_s": 60.0, "near": 0.8, "count": 5, "hold_s": 60.0}
    values[field] = value
    with pytest.raises(ValueError, match=field):
        ProbeLimits(**values)  # type: ignore[arg-type]


def test_an_embedding_must_be_one_finite_vector() -> None:
    detector = ProbeDetector(LIMITS)
    with pytest.raises(ValueError, match="embedding"):
        detector.observe("kiosk-1", np.full(DIM, np.nan, dtype=np.float32), refused=True)
    with pytest.raises(ValueError, match="embedding"):
        detector.observe("kiosk-1", np.zeros((2, DIM), dtype=np.float32), refused=True)


@pytest.mark.shared_data
def test_default_limits_on_real_faces(pipeline: FacePipeline, shared_data_dir: Path) -> None:
    """Different photos of a person, and several people, never trip the default limits;
    noised copies of one photo (a query attack's probes) trip once, from the ``count``-th."""
    listed = read_labelled_folder(shared_data_dir / "lfw_deepfunneled_subset")
    people = sorted({im.identity for im in listed})[:4]
    genuine: list[NDArray[np.float32]] = []
    tick = itertools.count()
    detector = ProbeDetector(DEFAULT_PROBE_LIMITS, clock=lambda: float(next(tick)))
    for person in people:
        for im in (im for im in listed if im.identity == person):
            face = pipeline.subject(load_image(im.path), Selection.CENTRAL)
            assert face.embedding is not None
            genuine.append(face.embedding)
            assert not detector.observe(person, face.embedding, refused=True).held
    for embedding in genuine:
        assert not detector.observe("one-device", embedding, refused=True).held
    assert len(genuine) >= 20

    image = load_image(next(im.path for im in listed if im.identity == people[0]))
    rng = np.random.default_rng(0)
    tripped = []
    for _ in range(DEFAULT_PROBE_LIMITS.count + 5):
        face = pipeline.subject(perturb(image, "noise", 2.0, rng), Selection.CENTRAL)
        assert face.embedding is not None
        tripped.append(detector.observe("attacker", face.embedding, refused=True).tripped)
    assert tripped.count(True) == 1
    assert tripped.index(True) >= DEFAULT_PROBE_LIMITS.count - 1
