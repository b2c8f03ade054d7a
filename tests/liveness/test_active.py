"""The active check: each refusal on real frames, pose logic on measured landmarks, and a
genuine LFW sequence against its replay in another order."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from skimage.transform import warp

from facegate.bench.active import measure_photos
from facegate.bench.datasets import read_labelled_folder
from facegate.fixtures import encode_png
from facegate.liveness.active import (
    CLOSER_SCALE,
    MAX_FRAMES,
    TURN_YAW_SHIFT,
    ActiveLimits,
    ActiveReason,
    ActiveResult,
    PoseState,
    check_faces,
    check_sequence,
    observed_steps,
    pose_state,
)
from facegate.liveness.challenge import Challenge
from facegate.liveness.sequences import CANVAS_SHAPE, PosedPhoto, SequenceBuilder, SequenceKind
from facegate.liveness.sequences import _plane as plane
from facegate.models.registry import ModelRegistry
from facegate.vision.landmarks import eye_centres_and_nose
from facegate.vision.pipeline import FacePipeline, Selection
from facegate.vision.quality import head_pose
from facegate.vision.record import Face

L, R, C = Challenge.TURN_LEFT, Challenge.TURN_RIGHT, Challenge.COME_CLOSER
#: The astronaut's head and shoulders: a portrait the size of an LFW photo.
PORTRAIT = (slice(10, 290), slice(83, 363))


@pytest.fixture(scope="module")
def threshold(registry: ModelRegistry, pipeline: FacePipeline) -> float:
    """The identity check's threshold for the default engine's embeddings."""
    return registry.entry(pipeline.embedding_model).operating_points["fmr_1e-3"].threshold


@pytest.fixture(scope="module")
def portrait(face_rgb: NDArray[np.uint8]) -> NDArray[np.uint8]:
    return np.ascontiguousarray(face_rgb[PORTRAIT])


def _print(
    photo: NDArray[np.uint8], tilt: float, axis: float, scale: float = 1.0
) -> NDArray[np.uint8]:
    """The photo as a print tilted ``tilt``° about ``axis``, seen by the canvas camera."""
    inverse = plane(photo.shape, scale, tilt, axis).inverse
    drawn = warp(photo, inverse, output_shape=CANVAS_SHAPE)  # type: ignore[no-untyped-call]
    return np.asarray(np.rint(drawn * 255), dtype=np.uint8)


@pytest.fixture(scope="module")
def frame(portrait: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """The portrait held up frontal in front of the canvas camera."""
    return _print(portrait, 0.0, 90.0)


@pytest.fixture(scope="module")
def astronaut_face(pipeline: FacePipeline, frame: NDArray[np.uint8]) -> Face:
    return pipeline.subject(frame, Selection.SINGLE)


# --- refusals before any face is searched -------------------------------------------------


def test_empty_sequence(pipeline: FacePipeline, threshold: float) -> None:
    result = check_sequence([], (L, R, C), pipeline, identity_threshold=threshold)
    assert result == ActiveResult(False, ActiveReason.EMPTY_SEQUENCE)


def test_too_few_frames(
    pipeline: FacePipeline, face_rgb: NDArray[np.uint8], threshold: float
) -> None:
    result = check_sequence([face_rgb] * 3, (L, R, C), pipeline, identity_threshold=threshold)
    assert result == ActiveResult(False, ActiveReason.TOO_FEW_FRAMES)


def test_too_many_frames(
    pipeline: FacePipeline, face_rgb: NDArray[np.uint8], threshold: float
) -> None:
    frames = [np.full_like(face_rgb, 128)] * (MAX_FRAMES + 1)
    result = check_sequence(frames, (L, R, C), pipeline, identity_threshold=threshold)
    assert result == ActiveResult(False, ActiveReason.TOO_MANY_FRAMES)
    limits = ActiveLimits(max_frames=MAX_FRAMES + 1)
    at_limit = check_sequence(frames, (L, R, C), pipeline, identity_threshold=0.5, limits=limits)
    assert at_limit == ActiveResult(False, ActiveReason.NO_FACE, frame=0)


def test_frame_size_mismatch(
    pipeline: FacePipeline, face_rgb: NDArray[np.uint8], threshold: float
) -> None:
    frames = [face_rgb, face_rgb, face_rgb[:-2], face_rgb]
    result = check_sequence(frames, (L, R, C), pipeline, identity_threshold=threshold)
    assert result == ActiveResult(False, ActiveReason.FRAME_SIZE_MISMATCH, frame=2)


@pytest.mark.parametrize(
    ("steps", "problem"),
    [((), "empty"), ((L, L, R), "repeat"), (("blink", L), "blink")],
)
def test_bad_steps_are_programming_errors(
    pipeline: FacePipeline, face_rgb: NDArray[np.uint8], steps: tuple[Challenge, ...], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        check_sequence([face_rgb] * 4, steps, pipeline, identity_threshold=0.5)


def test_frames_must_be_rgb_uint8(pipeline: FacePipeline, face_rgb: NDArray[np.uint8]) -> None:
    frames = [face_rgb, face_rgb.astype(np.float32)]
    with pytest.raises(ValueError, match=r"frames\[1\]"):
        check_sequence(frames, (L,), pipeline, identity_threshold=0.5)  # type: ignore[arg-type]


# --- refusals while finding the faces -----------------------------------------------------


def test_no_face(pipeline: FacePipeline, face_rgb: NDArray[np.uint8], threshold: float) -> None:
    blank = np.full_like(face_rgb, 128)
    result = check_sequence(
        [blank, face_rgb, face_rgb, face_rgb], (L, R, C), pipeline, identity_threshold=threshold
    )
    assert result == ActiveResult(False, ActiveReason.NO_FACE, frame=0)


def test_several_faces(
    pipeline: FacePipeline, face_rgb: NDArray[np.uint8], threshold: float
) -> None:
    pair = np.ascontiguousarray(np.hstack([face_rgb, face_rgb]))
    result = check_sequence([pair] * 4, (L, R, C), pipeline, identity_threshold=threshold)
    assert result == ActiveResult(False, ActiveReason.SEVERAL_FACES, frame=0)


# --- photo attacks on real pixels ---------------------------------------------------------


def test_print_tilted_about_a_vertical_axis_does_not_turn(
    pipeline: FacePipeline, portrait: NDArray[np.uint8], threshold: float
) -> None:
    """A print tilted 35° each way keeps the nose between the eyes (an affine map keeps
    ratios along a line): only the come-closer step is seen."""
    frames = [
        _print(portrait, 0.0, 90.0),
        _print(portrait, -35.0, 90.0),
        _print(portrait, 35.0, 90.0),
        _print(portrait, 0.0, 90.0, scale=1.5),
    ]
    result = check_sequence(frames, (L, R, C), pipeline, identity_threshold=threshold)
    assert result == ActiveResult(False, ActiveReason.CHALLENGE_NOT_FOLLOWED, "C")


def test_print_tilted_to_fake_the_turns_is_planar(
    pipeline: FacePipeline, portrait: NDArray[np.uint8], threshold: float
) -> None:
    """Tilted 40° about the diagonals, the print shears the face and its yaw proxy moves
    like a turn (-0.16 and +0.17): the turns are seen, and the motion is a plane."""
    frames = [
        _print(portrait, 0.0, 90.0),
        _print(portrait, -40.0, 45.0),
        _print(portrait, 40.0, 135.0),
        _print(portrait, 0.0, 90.0, scale=1.5),
    ]
    # A turn threshold with margin, so that the test is about planarity.
    limits = ActiveLimits(turn_yaw_shift=0.1)
    result = check_sequence(
        frames, (L, R, C), pipeline, identity_threshold=threshold, limits=limits
    )
    assert result == ActiveResult(False, ActiveReason.PLANAR_MOTION, "L,R,C", frame=1)


def test_screen_attack_from_the_builder(
    tmp_path: Path,
    pipeline: FacePipeline,
    portrait: NDArray[np.uint8],
    astronaut_face: Face,
    threshold: float,
) -> None:
    path = tmp_path / "eileen.png"
    path.write_bytes(encode_png(portrait))
    measured = pipeline.subject(portrait, Selection.SINGLE)
    assert measured.landmarks is not None
    builder = SequenceBuilder([PosedPhoto(path, "eileen", measured.landmarks)], seed=1)
    sequence = builder.photo_attack("eileen", (R, C, L), SequenceKind.SCREEN)
    assert sequence is not None
    assert [f.shape for f in sequence.frames] == [(*CANVAS_SHAPE, 3)] * 4
    assert sequence.turn_frames == (1, 3)
    result = check_sequence(sequence.frames, sequence.steps, pipeline, identity_threshold=threshold)
    assert result == ActiveResult(False, ActiveReason.CHALLENGE_NOT_FOLLOWED, "C")
    # the builder needs a second photo of the person for a genuine sequence
    assert builder.genuine("eileen", (R, C, L)) is None


# --- pose logic on the astronaut's measured landmarks -------------------------------------


def _moved(face: Face, yaw_shift: float = 0.0, scale: float = 1.0, embedding: bool = True) -> Face:
    """A copy of ``face`` whose nose moved by ``yaw_shift`` inter-eye distances along the
    eye axis, and whose landmarks grew by ``scale`` about the eyes' midpoint."""
    assert face.landmarks is not None
    assert face.embedding is not None
    landmarks = face.landmarks.astype(np.float64)
    first, second, _ = eye_centres_and_nose(landmarks)
    landmarks[4] += yaw_shift * (second - first)
    centre = (first + second) / 2
    landmarks = centre + (landmarks - centre) * scale
    vector = face.embedding if embedding else face.embedding + 0.2
    return dataclasses.replace(face, landmarks=landmarks.astype(np.float32), embedding=vector)


def test_yaw_shift_moves_the_measured_proxy(astronaut_face: Face) -> None:
    assert astronaut_face.landmarks is not None
    before = head_pose(astronaut_face.landmarks)[0]
    after = _moved(astronaut_face, -0.2).landmarks
    assert after is not None
    assert head_pose(after)[0] == pytest.approx(before - 0.2, abs=1e-5)


@pytest.mark.parametrize(
    ("yaw_shift", "scale", "state"),
    [
        (0.0, 1.0, PoseState.NEUTRAL),
        (-TURN_YAW_SHIFT, 1.0, PoseState.LEFT),
        (-TURN_YAW_SHIFT + 0.01, 1.0, PoseState.NEUTRAL),
        (TURN_YAW_SHIFT, 1.0, PoseState.RIGHT),
        (0.0, CLOSER_SCALE, PoseState.CLOSER),
        (0.0, CLOSER_SCALE - 0.01, PoseState.NEUTRAL),
        (0.0, 1 / CLOSER_SCALE, PoseState.NEUTRAL),  # stepping back is no movement
        (-0.3, 1.5, PoseState.LEFT),  # a turn wins over coming closer
    ],
)
def test_pose_state(astronaut_face: Face, yaw_shift: float, scale: float, state: PoseState) -> None:
    moved = _moved(
        astronaut_face, yaw_shift * (1 + 1e-4), scale * (1 + 1e-4) if scale > 1 else scale
    )
    assert pose_state(astronaut_face, moved) is state


def test_left_is_the_subjects_left_and_a_flip_swaps_it(
    pipeline: FacePipeline, portrait: NDArray[np.uint8]
) -> None:
    """dlib orders the eyes by image side, so mirroring a face negates its yaw proxy."""
    face = pipeline.subject(portrait, Selection.SINGLE)
    flipped = pipeline.subject(np.ascontiguousarray(portrait[:, ::-1]), Selection.SINGLE)
    assert face.landmarks is not None
    assert flipped.landmarks is not None
    yaw, flipped_yaw = head_pose(face.landmarks)[0], head_pose(flipped.landmarks)[0]
    assert flipped_yaw == pytest.approx(-yaw, abs=0.01)


@pytest.mark.shared_data
def test_a_head_turned_to_its_own_left_has_a_negative_shift(
    shared_data_dir: Path, pipeline: FacePipeline
) -> None:
    """Richard Gere looks towards the image's right, i.e. his own left (README, "Liveness");
    mirrored, he looks to his right."""
    from facegate.vision.image import load_image

    photo = load_image(
        shared_data_dir / "lfw_deepfunneled_subset/images/Richard_Gere/Richard_Gere_0005.jpg"
    )
    turned = pipeline.subject(photo, Selection.CENTRAL)
    mirrored = pipeline.subject(np.ascontiguousarray(photo[:, ::-1]), Selection.CENTRAL)
    frontal = dataclasses.replace(turned, landmarks=_frontal_landmarks(turned))
    assert pose_state(frontal, turned) is PoseState.LEFT
    assert pose_state(frontal, mirrored) is PoseState.RIGHT


def _frontal_landmarks(face: Face) -> NDArray[np.float32]:
    """``face``'s landmarks with the nose moved to the eyes' midpoint (yaw proxy 0)."""
    assert face.landmarks is not None
    landmarks = face.landmarks.copy()
    first, second, _ = eye_centres_and_nose(landmarks)
    landmarks[4] = (first + second) / 2 + np.array([0.0, 0.8 * np.hypot(*(second - first))])
    return landmarks


def test_observed_steps_drop_neutral_then_merge() -> None:
    n, left, right, closer = PoseState
    assert observed_steps([]) == ()
    assert observed_steps([n, n]) == ()
    assert observed_steps([n, left, n, left, right, closer, closer, n]) == (left, right, closer)
    assert observed_steps([left, right, left]) == (left, right, left)


def _check(
    faces: list[Face],
    steps: tuple[Challenge, ...],
    frames: list[NDArray[np.uint8]],
    threshold: float,
) -> ActiveResult:
    return check_faces(frames, faces, steps, identity_threshold=threshold)


def test_baseline_must_be_frontal(
    astronaut_face: Face, frame: NDArray[np.uint8], threshold: float
) -> None:
    baseline = _moved(astronaut_face, 0.2)
    frames = [frame] * 3
    result = _check([baseline, astronaut_face, astronaut_face], (L, R), frames, threshold)
    assert result == ActiveResult(False, ActiveReason.NOT_FRONTAL, frame=0)


def test_identity_must_not_change(
    astronaut_face: Face, frame: NDArray[np.uint8], threshold: float
) -> None:
    faces = [
        astronaut_face,
        _moved(astronaut_face, -0.2),
        _moved(astronaut_face, 0.2, embedding=False),
    ]
    result = _check(faces, (L, R), [frame] * 3, threshold)
    assert result == ActiveResult(False, ActiveReason.IDENTITY_CHANGED, frame=2)


@pytest.mark.parametrize(
    ("shifts", "observed"),
    [
        ((0.2, -0.2), "R,L"),  # the other order
        ((-0.2, 0.0, 0.0), "L"),  # one movement missing
        ((-0.2, 0.0, 0.2, 0.2, "C"), "L,R,C"),  # an extra movement
    ],
)
def test_challenge_not_followed(
    astronaut_face: Face,
    frame: NDArray[np.uint8],
    threshold: float,
    shifts: tuple[float | str, ...],
    observed: str,
) -> None:
    faces = [astronaut_face] + [
        _moved(astronaut_face, scale=1.5) if s == "C" else _moved(astronaut_face, float(s))
        for s in shifts
    ]
    result = _check(faces, (L, R), [frame] * len(faces), threshold)
    assert result == ActiveResult(False, ActiveReason.CHALLENGE_NOT_FOLLOWED, observed)


def test_still_photo_with_turned_landmarks_is_planar(
    astronaut_face: Face, frame: NDArray[np.uint8], threshold: float
) -> None:
    """Frames that are the same picture: whatever the landmarks say, the motion is a plane."""
    faces = [
        astronaut_face,
        _moved(astronaut_face, -0.2),
        _moved(astronaut_face, 0.0),
        _moved(astronaut_face, -0.2),
        _moved(astronaut_face, 0.2),
    ]
    result = _check(faces, (L, R), [frame] * 5, threshold)
    assert result == ActiveResult(False, ActiveReason.PLANAR_MOTION, "L,R", frame=1)


def test_passes_when_turn_frames_are_not_a_plane(
    astronaut_face: Face, frame: NDArray[np.uint8], threshold: float
) -> None:
    """Turn frames whose pixels are not a homography of the baseline's (here: mirrored)."""
    mirrored = np.ascontiguousarray(frame[:, ::-1])
    faces = [astronaut_face, _moved(astronaut_face, -0.2), _moved(astronaut_face, scale=1.4)]
    result = _check(faces, (L, C), [frame, mirrored, frame], threshold)
    assert result == ActiveResult(True, ActiveReason.OK, "L,C")


def test_faces_must_match_frames(astronaut_face: Face, frame: NDArray[np.uint8]) -> None:
    with pytest.raises(ValueError, match="faces"):
        check_faces([frame] * 3, [astronaut_face] * 2, (L, R), identity_threshold=0.5)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_frames", 1),
        ("turn_yaw_shift", 0.0),
        ("closer_scale", 1.0),
        ("planar_step_fraction", 0.0),
        ("planar_step_fraction", 1.5),
    ],
)
def test_limits_are_checked(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        ActiveLimits(**{field: value})  # type: ignore[arg-type]


# --- a genuine LFW sequence ---------------------------------------------------------------

#: An LFW person with photos turned both ways (``facegate bench active`` accepts them).
GENUINE_PERSON = "Colin_Powell"


@pytest.mark.shared_data
def test_genuine_lfw_sequence_passes_and_its_replay_in_another_order_fails(
    shared_data_dir: Path, pipeline: FacePipeline, threshold: float
) -> None:
    images = [
        im
        for im in read_labelled_folder(shared_data_dir / "lfw_deepfunneled_subset")
        if im.identity == GENUINE_PERSON
    ]
    photos, _, _ = measure_photos(images, pipeline)
    builder = SequenceBuilder(photos, seed=0)
    genuine = builder.genuine(GENUINE_PERSON, (L, C, R))
    assert genuine is not None
    result = check_sequence(genuine.frames, genuine.steps, pipeline, identity_threshold=threshold)
    assert result == ActiveResult(True, ActiveReason.OK, "L,C,R")
    replayed = check_sequence(genuine.frames, (R, C, L), pipeline, identity_threshold=threshold)
    assert replayed == ActiveResult(False, ActiveReason.CHALLENGE_NOT_FOLLOWED, "L,C,R")
