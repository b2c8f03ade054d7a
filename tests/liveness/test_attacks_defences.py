"""Face swaps and the defences against swaps and replays, on the astronaut photo (no shared
data needed), plus a swap of real people onto a real webcam frame when ../shared/data is
present."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

import facegate.gate.liveness as gate_liveness
from facegate.gate.liveness import (
    ACTIVE_OK,
    PASSIVE_SWAP_BOUNDARY,
    Defences,
    GateLiveness,
)
from facegate.liveness.active import ActiveReason, ActiveResult
from facegate.liveness.challenge import Challenge
from facegate.liveness.consistency import (
    DETAIL_THRESHOLD,
    HASH_MAX_BITS,
    NOISE_THRESHOLD,
    AnswerMemory,
    SwapLimits,
    blended,
    boundary_cues,
    box_oval,
    face_hash,
    hash_distance,
    replays,
)
from facegate.liveness.passive import PassiveDetector, PassiveReason, PassiveResult
from facegate.liveness.swap import align_face, oval_mask, similarity, swap_face
from facegate.matching import score
from facegate.models.registry import ModelRegistry
from facegate.vision.image import RGBImage, load_image
from facegate.vision.pipeline import FacePipeline, Selection
from facegate.vision.record import Box, Face

STEPS = (Challenge.TURN_LEFT, Challenge.TURN_RIGHT, Challenge.COME_CLOSER)
#: The astronaut's head and shoulders, drawn 1.45× on a grey VGA frame: a kiosk camera's
#: view of a person about 70 cm away (face ~140 px wide).
PORTRAIT = (slice(0, 300), slice(60, 390))
CAMERA_SCALE = 1.45
#: Sensor noise of the simulated camera, grey levels (a webcam indoors).
CAMERA_NOISE = 3.0
#: The swapped-in face comes from a photo this much smaller than the astronaut photo: a
#: face ~45 px wide, like one cut from a social-media picture.
SOURCE_SCALE = 0.5


def _jpeg(frame: RGBImage, quality: int) -> RGBImage:
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="JPEG", quality=quality)
    return load_image(buffer.getvalue())


@pytest.fixture(scope="module")
def camera_frame(face_rgb: NDArray[np.uint8]) -> RGBImage:
    """The astronaut in front of a simulated kiosk camera (noise after the optics)."""
    portrait = cv2.resize(
        np.ascontiguousarray(face_rgb[PORTRAIT]),
        None,
        fx=CAMERA_SCALE,
        fy=CAMERA_SCALE,
        interpolation=cv2.INTER_CUBIC,
    )
    frame = np.full((480, 640, 3), 120, dtype=np.uint8)
    height, width = portrait.shape[:2]
    frame[: min(height, 480), 80 : 80 + width] = portrait[:480]
    noisy = frame + np.random.default_rng(0).normal(0.0, CAMERA_NOISE, frame.shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def camera_face(pipeline: FacePipeline, camera_frame: RGBImage) -> Face:
    return pipeline.subject(camera_frame, Selection.SINGLE)


@pytest.fixture(scope="module")
def source(face_rgb: NDArray[np.uint8]) -> RGBImage:
    """Another face to paste: the astronaut mirrored (another head pose) and small."""
    mirrored = np.ascontiguousarray(face_rgb[:, ::-1])
    small = cv2.resize(
        mirrored, None, fx=SOURCE_SCALE, fy=SOURCE_SCALE, interpolation=cv2.INTER_AREA
    )
    return np.asarray(small, dtype=np.uint8)


@pytest.fixture(scope="module")
def swapped(
    pipeline: FacePipeline, camera_frame: RGBImage, camera_face: Face, source: RGBImage
) -> RGBImage:
    source_face = pipeline.subject(source, Selection.SINGLE)
    assert camera_face.landmarks is not None
    assert source_face.landmarks is not None
    return swap_face(camera_frame, camera_face.landmarks, source, source_face.landmarks)


@pytest.fixture(scope="module")
def swapped_face(pipeline: FacePipeline, swapped: RGBImage) -> Face:
    return pipeline.subject(swapped, Selection.SINGLE)


# --- the swap synthesis -------------------------------------------------------------------


def test_similarity_recovers_a_known_transform() -> None:
    points = np.array([[30, 40], [50, 41], [90, 39], [70, 40], [60, 70]], dtype=np.float32)
    angle, scale, shift = np.radians(12.0), 1.7, np.array([15.0, -4.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = (points @ (scale * rotation).T + shift).astype(np.float32)
    matrix = similarity(points, moved)
    np.testing.assert_allclose(matrix[:, :2], scale * rotation, atol=1e-6)
    np.testing.assert_allclose(matrix[:, 2], shift, atol=1e-4)


def test_alignment_puts_the_landmarks_on_the_target(
    pipeline: FacePipeline, camera_face: Face, source: RGBImage
) -> None:
    source_face = pipeline.subject(source, Selection.SINGLE)
    assert camera_face.landmarks is not None
    assert source_face.landmarks is not None
    aligned = align_face(source, source_face.landmarks, (480, 640, 3), camera_face.landmarks)
    found = pipeline.subject(aligned, Selection.LARGEST)
    assert found.landmarks is not None
    # the piecewise warp follows the target's landmarks (the detector re-finds them)
    error = np.hypot(*(found.landmarks - camera_face.landmarks).T)
    assert float(np.median(error)) < 4.0


def test_a_swap_changes_the_face_oval_and_fades_out_round_it(
    camera_frame: RGBImage, camera_face: Face, swapped: RGBImage
) -> None:
    """OpenCV solves the blend over the oval's bounding box: outside the oval the frame
    changes smoothly (a colour correction fading out), outside the box not at all."""
    assert swapped.shape == camera_frame.shape
    assert swapped.dtype == np.uint8
    assert camera_face.landmarks is not None
    inside = oval_mask(camera_frame.shape, camera_face.landmarks)
    changed = np.abs(swapped.astype(int) - camera_frame.astype(int)).max(axis=2)
    assert (changed[inside] > 0).mean() > 0.9
    ys, xs = np.nonzero(inside)
    box = np.zeros_like(inside)
    box[ys.min() - 1 : ys.max() + 2, xs.min() - 1 : xs.max() + 2] = True
    assert not changed[~box].any()
    assert changed[~oval_mask(camera_frame.shape, camera_face.landmarks, 1.2)].max() < 16


def test_a_swapped_face_is_still_found_as_one_face(swapped_face: Face, camera_face: Face) -> None:
    assert swapped_face.box.iou(camera_face.box) > 0.7


def test_swap_rejects_wrong_input(camera_frame: RGBImage, camera_face: Face) -> None:
    assert camera_face.landmarks is not None
    with pytest.raises(ValueError, match="uint8"):
        swap_face(
            camera_frame.astype(np.float32),
            camera_face.landmarks,
            camera_frame,
            camera_face.landmarks,
        )
    far = camera_face.landmarks + 5000.0
    with pytest.raises(ValueError, match="outside"):
        swap_face(camera_frame, far, camera_frame, camera_face.landmarks)


# --- the blending-boundary cue ------------------------------------------------------------


def test_the_cue_refuses_a_swap_and_passes_the_genuine_frame(
    camera_frame: RGBImage, camera_face: Face, swapped: RGBImage, swapped_face: Face
) -> None:
    for quality in (None, 92):  # as captured, and as the kiosk sends it
        genuine = camera_frame if quality is None else _jpeg(camera_frame, quality)
        fake = swapped if quality is None else _jpeg(swapped, quality)
        assert not blended(genuine, camera_face.box)
        assert blended(fake, swapped_face.box)
    cues = boundary_cues(swapped, swapped_face.box)
    assert cues is not None
    # both cues see it, with margin (measured: detail -0.74, noise -2.4)
    assert cues.detail < DETAIL_THRESHOLD - 0.1
    assert cues.noise < NOISE_THRESHOLD - 0.5


def test_the_package_photos_pass(face_rgb: NDArray[np.uint8], pipeline: FacePipeline) -> None:
    """The astronaut as other tests and the browser's fake camera present it."""
    frames = [face_rgb, _jpeg(face_rgb, 92)]
    canvas = np.full((480, 640, 3), 128, dtype=np.uint8)
    canvas[100:380, 180:460] = face_rgb[10:290, 83:363]
    frames.append(canvas)
    for frame in frames:
        face = pipeline.subject(frame, Selection.LARGEST)
        assert not blended(frame, face.box)


def test_a_face_at_the_edge_is_not_judged(camera_frame: RGBImage) -> None:
    tiny = Box(0.0, 0.0, 6.0, 6.0)
    assert boundary_cues(camera_frame, tiny) is None
    assert not blended(camera_frame, tiny)


def test_the_oval_follows_the_box() -> None:
    (cx, cy), half_w, half_h = box_oval(Box(100.0, 50.0, 200.0, 170.0))
    assert (cx, round(cy, 1)) == (150.0, 116.4)
    assert (round(half_w, 1), round(half_h, 1)) == (54.0, 68.0)


def test_swap_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="frame_fraction"):
        SwapLimits(frame_fraction=0.0)


# --- the replay memory --------------------------------------------------------------------


def test_the_hash_survives_re_encoding_and_tells_faces_apart(
    pipeline: FacePipeline, camera_frame: RGBImage, camera_face: Face, swapped: RGBImage
) -> None:
    own = face_hash(camera_frame, camera_face.box)
    again = _jpeg(camera_frame, 75)
    refound = pipeline.subject(again, Selection.SINGLE)
    assert hash_distance(own, face_hash(again, refound.box)) <= HASH_MAX_BITS
    mirrored = np.ascontiguousarray(camera_frame[:, ::-1])
    box = pipeline.subject(mirrored, Selection.SINGLE).box
    assert hash_distance(own, face_hash(mirrored, box)) > HASH_MAX_BITS
    assert 0 <= own < 2**64


def test_replays_need_the_same_pictures_in_the_same_order() -> None:
    answer = [0b1111, 0xFF00, 0x00FF, 0xF0F0]
    assert replays(answer, answer)
    assert replays([h ^ 0b11 for h in answer], answer)  # 2 bits off each
    assert not replays(list(reversed(answer)), answer)
    assert not replays(answer[:3], answer)
    assert not replays([*answer[:3], answer[3] ^ (2**HASH_MAX_BITS * 2 - 1)], answer)
    assert not replays([], [])


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_memory_refuses_a_replay_then_forgets_it() -> None:
    clock = _Clock()
    memory = AnswerMemory(ttl_s=60.0, capacity=3, clock=clock)
    answer = [1, 2, 3, 4]
    assert not memory.check_and_remember(answer)
    clock.now += 59.0
    assert memory.check_and_remember(answer)
    assert not memory.check_and_remember([(2**64 - 1) ^ h for h in answer])
    clock.now += 41.0  # the first answer is older than the ttl now; the other two are not
    assert len(memory) == 2
    clock.now += 20.0
    assert len(memory) == 0
    assert not memory.check_and_remember(answer)


def test_the_memory_keeps_hashes_only_and_is_bounded() -> None:
    memory = AnswerMemory(capacity=2)
    for n in range(5):
        memory.check_and_remember([n * 2**50, n * 2**51])
    assert len(memory) == 2
    stored = memory._answers
    assert all(
        isinstance(t, float) and all(isinstance(h, int) for h in hashes) for t, hashes in stored
    )
    with pytest.raises(ValueError, match="ttl_s"):
        AnswerMemory(ttl_s=0.0)


# --- the defences in the gate's checks ----------------------------------------------------


class _StubDetector(PassiveDetector):
    """The PAD model's answers without loading it: bona fide except the listed frames."""

    def __init__(self) -> None:  # no model file is loaded
        self.refuse: set[int] = set()

    def check(self, image: RGBImage, box: Box) -> PassiveResult:
        if id(image) in self.refuse:
            return PassiveResult(False, PassiveReason.ATTACK)
        return PassiveResult(True, PassiveReason.BONA_FIDE)


def _gate(defences: Defences, detector: PassiveDetector | None = None) -> GateLiveness:
    stub = detector or _StubDetector()
    return GateLiveness(ModelRegistry.default(), lambda: stub, defences)


@pytest.fixture
def followed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The active check passes whatever the frames (these tests are about what follows)."""

    def passes(*_: object, **__: object) -> ActiveResult:
        return ActiveResult(True, ActiveReason.OK, "L,R,C")

    monkeypatch.setattr(gate_liveness, "check_faces", passes)


def test_the_passive_check_refuses_a_swap_only_with_the_defence(
    camera_frame: RGBImage, camera_face: Face, swapped: RGBImage, swapped_face: Face
) -> None:
    defended = _gate(Defences())
    assert defended.passive(camera_frame, camera_face.box).passed
    refused = defended.passive(swapped, swapped_face.box)
    assert (refused.passed, refused.reason) == (False, PASSIVE_SWAP_BOUNDARY)
    assert _gate(Defences.off()).passive(swapped, swapped_face.box).passed


@pytest.mark.usefixtures("followed")
def test_an_answer_of_swapped_frames_is_refused(
    camera_frame: RGBImage, camera_face: Face, swapped: RGBImage, swapped_face: Face
) -> None:
    gate = _gate(Defences(replay_memory_s=None))
    frames = [swapped, swapped.copy(), swapped.copy(), camera_frame]
    faces = [swapped_face, swapped_face, swapped_face, camera_face]
    result = gate.check_answer(frames, faces, STEPS, 0.0)
    assert (result.passed, result.reason) == (False, "active_swap_boundary")
    # one pasted frame of four is not enough: a genuine frame may cross a threshold
    mostly_genuine = [camera_frame, camera_frame.copy(), camera_frame.copy(), swapped]
    faces = [camera_face, camera_face, camera_face, swapped_face]
    assert gate.check_answer(mostly_genuine, faces, STEPS, 0.0).passed


@pytest.mark.usefixtures("followed")
def test_an_answer_sent_again_is_refused(camera_frame: RGBImage, camera_face: Face) -> None:
    frames = [_jpeg(camera_frame, q) for q in (90, 92, 94, 96)]
    faces = [camera_face] * 4
    gate = _gate(Defences())
    first = gate.check_answer(frames, faces, STEPS, 0.0)
    assert (first.passed, first.reason, first.observed) == (True, ACTIVE_OK, "L,R,C")
    replayed = [_jpeg(frame, 75) for frame in frames]
    second = gate.check_answer(replayed, faces, STEPS, 0.0)
    assert (second.passed, second.reason) == (False, "active_replayed")
    undefended = _gate(Defences.off())
    assert all(undefended.check_answer(frames, faces, STEPS, 0.0).passed for _ in range(2))


@pytest.mark.usefixtures("followed")
def test_pad_on_every_frame_is_an_option(camera_frame: RGBImage, camera_face: Face) -> None:
    frames = [camera_frame.copy() for _ in range(4)]
    detector = _StubDetector()
    detector.refuse = {id(frames[2])}
    faces = [camera_face] * 4
    every = Defences(replay_memory_s=None, passive_every_frame=True)
    result = _gate(every, detector).check_answer(frames, faces, STEPS, 0.0)
    assert (result.passed, result.reason) == (False, "active_frame_attack")
    assert (
        _gate(Defences(replay_memory_s=None), detector)
        .check_answer(frames, faces, STEPS, 0.0)
        .passed
    )


def test_a_refused_answer_is_remembered_too(
    monkeypatch: pytest.MonkeyPatch, camera_frame: RGBImage, camera_face: Face
) -> None:
    """Frames that failed one order would pass the order they did follow: remembered."""
    verdicts = iter(
        [
            ActiveResult(False, ActiveReason.CHALLENGE_NOT_FOLLOWED, "R,L,C"),
            ActiveResult(True, ActiveReason.OK, "R,L,C"),
        ]
    )
    monkeypatch.setattr(gate_liveness, "check_faces", lambda *_, **__: next(verdicts))
    frames = [camera_frame] * 4
    gate = _gate(Defences())
    first = gate.check_answer(frames, [camera_face] * 4, STEPS, 0.0)
    assert first.reason == "active_challenge_not_followed"
    second = gate.check_answer(frames, [camera_face] * 4, STEPS, 0.0)
    assert second.reason == "active_replayed"


def test_new_reason_codes_are_stable() -> None:
    assert ActiveReason.SWAP_BOUNDARY.value == "swap_boundary"
    assert ActiveReason.REPLAYED.value == "replayed"
    assert ActiveReason.FRAME_ATTACK.value == "frame_attack"
    assert PASSIVE_SWAP_BOUNDARY == "passive_swap_boundary"
    assert Defences.off() == Defences(None, None, False)


# --- real people, real webcam (../shared/data) --------------------------------------------


@pytest.mark.shared_data
def test_a_real_face_swapped_onto_a_webcam_frame_is_refused(
    shared_data_dir: Path, pipeline: FacePipeline, registry: ModelRegistry
) -> None:
    """An LFW victim's photo swapped onto NUAA live webcam frames: the victim's identity
    comes across (the attack is real), the cue refuses the swaps, and passes the frames."""
    nuaa = shared_data_dir / "nuaa_photo_imposter_subset" / "images" / "ClientRaw"
    lfw = shared_data_dir / "lfw_deepfunneled_subset" / "images"
    targets = sorted(nuaa.glob("0002/*.jpg"))[:3] + sorted(nuaa.glob("0014/*.jpg"))[:3]
    victim = sorted((lfw / "Jose_Maria_Aznar").glob("*.jpg"))
    if len(targets) < 6 or len(victim) < 2:
        pytest.skip("NUAA subjects 0002/0014 or LFW's Jose_Maria_Aznar are missing")
    enrolled = pipeline.subject(load_image(victim[0]), Selection.CENTRAL).embedding
    photo = load_image(victim[1])
    photo_face = pipeline.subject(photo, Selection.CENTRAL)
    assert enrolled is not None
    assert photo_face.landmarks is not None
    threshold = registry.entry(pipeline.embedding_model).operating_points["fmr_1e-4"].threshold
    caught = matched = 0
    for path in targets:
        frame = _jpeg(load_image(path), 92)
        face = pipeline.subject(frame, Selection.LARGEST)
        assert face.landmarks is not None
        assert not blended(frame, face.box), path.name
        fake = _jpeg(
            swap_face(frame, face.landmarks, photo, photo_face.landmarks, mask_scale=1.1), 92
        )
        fake_face = pipeline.subject(fake, Selection.LARGEST)
        assert fake_face.embedding is not None
        matched += float(score(fake_face.embedding, enrolled)[0, 0]) >= threshold
        caught += blended(fake, fake_face.box)
    assert matched >= 3  # the swap carries the victim's identity
    assert caught >= 5


@pytest.mark.shared_data
def test_nuaa_live_frames_keep_their_hashes_apart_across_subjects(
    shared_data_dir: Path, pipeline: FacePipeline
) -> None:
    """Different people's frames never look like a replay of each other."""
    nuaa = shared_data_dir / "nuaa_photo_imposter_subset" / "images" / "ClientRaw"
    paths = [sorted(nuaa.glob(f"{s}/*.jpg"))[0] for s in ("0002", "0004", "0007", "0014")]
    hashes = []
    for path in paths:
        frame = load_image(path)
        hashes.append(face_hash(frame, pipeline.subject(frame, Selection.LARGEST).box))
    assert all(hash_distance(a, b) > HASH_MAX_BITS for a, b in itertools.combinations(hashes, 2))
