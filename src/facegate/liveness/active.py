"""Active liveness: did the face in a short frame sequence follow this attempt's challenge?

The gate device records a baseline frame (the person looking at the camera) and then frames
while the person does the challenged movements (:mod:`facegate.liveness.challenge`).
:func:`check_sequence` finds the one face in every frame, checks that it stays the same
person, reads each frame's pose relative to the baseline, and compares the movements seen
with the ones asked for. Finally it asks whether the face moved like a flat object
(:mod:`facegate.liveness.planarity`).

Pose from 5 landmarks (:func:`facegate.vision.quality.head_pose`): the yaw proxy is the nose
base's offset from the eyes' midpoint, along the axis from the eye on the image's right to
the eye on the image's left, in inter-eye distances. It grows when the nose moves towards
the image's left. A person turning to their own left moves their nose towards the image's
right (camera frames are not mirrored), so a negative shift is the subject's left; checked
on the most turned LFW images (README, "Liveness"), and a horizontal flip negates it.

What it cannot see: a replayed or puppeted video of the real person that happens to follow
the order (1 in 12 for 3 steps), or a set of different photos of the person, one per pose:
their motion is not planar. Passive detection (print and screen texture) covers those.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from facegate.errors import MultipleFacesError, NoFaceError
from facegate.liveness.challenge import Challenge
from facegate.liveness.planarity import PlanarityLimits, planar_motion
from facegate.matching import score
from facegate.vision.image import RGBImage
from facegate.vision.landmarks import eye_centres_and_nose
from facegate.vision.pipeline import FacePipeline, Selection
from facegate.vision.quality import head_pose
from facegate.vision.record import Face

#: The most frames one attempt may send: 3 movements at a few frames each; bounds the cost
#: of a request (each frame costs a detection and an embedding, ~0.2 s on one core).
MAX_FRAMES = 24
#: The baseline must be about frontal: |yaw proxy| at most this, a turn's worth. People
#: facing a webcam stay within 0.11 (p99 of NUAA's 330 live frames, measured once with
#: ``head_pose``; LFW's casual press photos: p95 0.23), and a baseline turned
#: further would leave too little room to turn that way before the face detector (frontal
#: HOG) loses the face.
MAX_BASELINE_YAW = 0.15
#: A frame is turned when its yaw proxy differs from the baseline's by at least this: about
#: 25° with the nose base 2 cm in front of eye centres 6.3 cm apart (proxy ≈ 0.32·tan(yaw)).
#: Above the drift of a person keeping still (|shift| p99 0.13 over 3,847 pairs of frames
#: of one NUAA live session) and of real prints rotated or twisted left-right (max 0.13,
#: 87 NUAA frames): ``facegate bench active ../shared/data/lfw_deepfunneled_subset --nuaa
#: ../shared/data/nuaa_photo_imposter_subset`` prints both.
TURN_YAW_SHIFT = 0.15
#: A frame is closer when its inter-eye distance is at least this multiple of the
#: baseline's (and it is not turned): above a still person's drift (eye-distance ratio p99
#: 1.31 over a whole NUAA live session, same command), below the ~1.5 of stepping from 1 m
#: to 0.65 m.
CLOSER_SCALE = 1.3
#: Refuse as planar when at least this fraction of the turns moved like a plane. Half, not
#: a strict majority: with "more than half", 10 of the 12 oblique prints that passed the
#: first full ``facegate bench active`` run had exactly one of their two turns planar.
PLANAR_STEP_FRACTION = 0.5


class PoseState(StrEnum):
    """A frame's pose relative to the baseline; values are the letters of the audit string."""

    NEUTRAL = "N"
    LEFT = "L"
    RIGHT = "R"
    CLOSER = "C"


#: The pose each challenge asks for.
POSE_OF: dict[Challenge, PoseState] = {
    Challenge.TURN_LEFT: PoseState.LEFT,
    Challenge.TURN_RIGHT: PoseState.RIGHT,
    Challenge.COME_CLOSER: PoseState.CLOSER,
}


class ActiveReason(StrEnum):
    """Outcome of the active check. Values are stable codes for clients and the audit log."""

    OK = "ok"
    EMPTY_SEQUENCE = "empty_sequence"
    TOO_FEW_FRAMES = "too_few_frames"
    TOO_MANY_FRAMES = "too_many_frames"
    FRAME_SIZE_MISMATCH = "frame_size_mismatch"
    NO_FACE = "no_face"
    SEVERAL_FACES = "several_faces"
    NOT_FRONTAL = "not_frontal"
    IDENTITY_CHANGED = "identity_changed"
    CHALLENGE_NOT_FOLLOWED = "challenge_not_followed"
    PLANAR_MOTION = "planar_motion"
    #: Most frames look pasted in: a face swap (:mod:`facegate.liveness.consistency`).
    SWAP_BOUNDARY = "swap_boundary"
    #: The frames are those of an answer this gate saw recently, sent again.
    REPLAYED = "replayed"
    #: A challenge frame after the baseline fails the passive PAD check.
    FRAME_ATTACK = "frame_attack"


@dataclass(frozen=True, slots=True)
class ActiveLimits:
    """The limits of the check; each field's meaning is its module constant's."""

    max_frames: int = MAX_FRAMES
    max_baseline_yaw: float = MAX_BASELINE_YAW
    turn_yaw_shift: float = TURN_YAW_SHIFT
    closer_scale: float = CLOSER_SCALE
    planar_step_fraction: float = PLANAR_STEP_FRACTION
    planarity: PlanarityLimits = field(default_factory=PlanarityLimits)

    def __post_init__(self) -> None:
        if self.max_frames < 2:
            raise ValueError(f"max_frames must be at least 2, got {self.max_frames}")
        if not self.turn_yaw_shift > 0:
            raise ValueError(f"turn_yaw_shift must be positive, got {self.turn_yaw_shift}")
        if not self.closer_scale > 1:
            raise ValueError(f"closer_scale must exceed 1, got {self.closer_scale}")
        if not 0 < self.planar_step_fraction <= 1:
            raise ValueError(
                f"planar_step_fraction must be in (0, 1], got {self.planar_step_fraction}"
            )


@dataclass(frozen=True, slots=True)
class ActiveResult:
    """The outcome, for the gate decision and the audit log (no images, no scores).

    Attributes:
        passed: True only with reason OK.
        reason: why it passed or failed.
        observed: the movements seen, e.g. ``"L,R,C"`` (empty when the check stopped
            before reading poses).
        frame: index of the frame that caused the refusal, where one did.
    """

    passed: bool
    reason: ActiveReason
    observed: str = ""
    frame: int | None = None


def pose_state(baseline: Face, face: Face, limits: ActiveLimits = ActiveLimits()) -> PoseState:
    """The pose of ``face`` relative to ``baseline`` (both with landmarks).

    LEFT/RIGHT (the subject's own) when the yaw proxy moved by at least
    ``limits.turn_yaw_shift``; otherwise CLOSER when the inter-eye distance grew by at least
    ``limits.closer_scale``; otherwise NEUTRAL.
    """
    shift = _yaw(face) - _yaw(baseline)
    if shift <= -limits.turn_yaw_shift:
        return PoseState.LEFT
    if shift >= limits.turn_yaw_shift:
        return PoseState.RIGHT
    if _eye_distance(face) >= limits.closer_scale * _eye_distance(baseline):
        return PoseState.CLOSER
    return PoseState.NEUTRAL


def observed_steps(states: Sequence[PoseState]) -> tuple[PoseState, ...]:
    """The movements in per-frame ``states``: NEUTRAL frames dropped, then repeats merged.

    Dropping before merging makes a flicker through NEUTRAL within one movement (L, N, L)
    count once; challenges never ask for the same movement twice in a row.

    >>> observed_steps([PoseState.NEUTRAL, PoseState.LEFT, PoseState.NEUTRAL, PoseState.LEFT,
    ...                 PoseState.RIGHT, PoseState.RIGHT, PoseState.CLOSER])
    (<PoseState.LEFT: 'L'>, <PoseState.RIGHT: 'R'>, <PoseState.CLOSER: 'C'>)
    """
    moved = [s for s in states if s is not PoseState.NEUTRAL]
    return tuple(state for state, _ in itertools.groupby(moved))


def frame_subject(frame: RGBImage, pipeline: FacePipeline) -> Face | ActiveReason:
    """The one face in ``frame`` through every pipeline stage, or NO_FACE / SEVERAL_FACES."""
    try:
        return pipeline.subject(frame, Selection.SINGLE)
    except NoFaceError:
        return ActiveReason.NO_FACE
    except MultipleFacesError:
        return ActiveReason.SEVERAL_FACES


def check_sequence(
    frames: Sequence[RGBImage],
    steps: Sequence[Challenge],
    pipeline: FacePipeline,
    *,
    identity_threshold: float,
    limits: ActiveLimits = ActiveLimits(),
) -> ActiveResult:
    """Check that ``frames`` show one live person doing ``steps`` in order.

    Args:
        frames: ``(H, W, 3)`` uint8 RGB camera frames (not mirrored), in time order, all
            the same size; ``frames[0]`` is the baseline, looking at the camera.
        steps: the challenge's movements (``ChallengeTicket.steps``).
        pipeline: finds, measures and embeds the face (``FacePipeline.default()``).
        identity_threshold: every frame's similarity to the baseline must be at least this
            (``facegate.matching.score``; higher is stricter). Use the embedding model's
            "fmr_1e-3" operating point: 1 in 1,000 other people passes per frame, and a
            person turning their head still passes (``facegate bench active``).
        limits: the thresholds (see :class:`ActiveLimits`).

    Returns:
        An :class:`ActiveResult`; bad input is a refusal with its reason, never an error.

    Raises:
        ValueError: ``steps`` is empty, holds a non-challenge or the same movement twice in
            a row, or a frame is not an ``(H, W, 3)`` uint8 array (programming errors).
    """
    refusal = _check_input(frames, steps, limits)
    if refusal is not None:
        return refusal
    faces: list[Face] = []
    for index, frame in enumerate(frames):
        found = frame_subject(frame, pipeline)
        if isinstance(found, ActiveReason):
            return ActiveResult(False, found, frame=index)
        faces.append(found)
    return check_faces(frames, faces, steps, identity_threshold=identity_threshold, limits=limits)


def check_faces(
    frames: Sequence[RGBImage],
    faces: Sequence[Face],
    steps: Sequence[Challenge],
    *,
    identity_threshold: float,
    limits: ActiveLimits = ActiveLimits(),
) -> ActiveResult:
    """:func:`check_sequence` after the faces were found: ``faces[i]`` is ``frames[i]``'s
    subject, with landmarks and embedding. Exposed for benchmarks that reuse the faces."""
    refusal = _check_input(frames, steps, limits)
    if refusal is not None:
        return refusal
    if len(faces) != len(frames):
        raise ValueError(f"faces: expected {len(frames)}, one per frame, got {len(faces)}")
    baseline = faces[0]
    if not abs(_yaw(baseline)) <= limits.max_baseline_yaw:
        return ActiveResult(False, ActiveReason.NOT_FRONTAL, frame=0)
    similarities = score(np.stack([_embedding(f) for f in faces[1:]]), _embedding(baseline))
    for index, similarity in enumerate(similarities[:, 0], start=1):
        if similarity < identity_threshold:
            return ActiveResult(False, ActiveReason.IDENTITY_CHANGED, frame=index)
    states = [PoseState.NEUTRAL, *(pose_state(baseline, f, limits) for f in faces[1:])]
    observed = observed_steps(states)
    audit = ",".join(observed)
    if observed != tuple(POSE_OF[Challenge(s)] for s in steps):
        return ActiveResult(False, ActiveReason.CHALLENGE_NOT_FOLLOWED, audit)
    turned = _turn_frames(faces, states)
    planar = [
        i
        for i in turned
        if planar_motion(frames[0], baseline.box, frames[i], faces[i].box, limits.planarity).planar
    ]
    if turned and len(planar) >= limits.planar_step_fraction * len(turned):
        return ActiveResult(False, ActiveReason.PLANAR_MOTION, audit, frame=planar[0])
    return ActiveResult(True, ActiveReason.OK, audit)


def _turn_frames(faces: Sequence[Face], states: Sequence[PoseState]) -> list[int]:
    # Only turns: coming closer moves a face almost like a plane (its depth is small next
    # to its distance), so a genuine CLOSER frame would look planar.
    base = _yaw(faces[0])
    chosen: list[int] = []
    for state, run in itertools.groupby(range(len(states)), key=lambda i: states[i]):
        if state in (PoseState.LEFT, PoseState.RIGHT):
            chosen.append(max(run, key=lambda i: abs(_yaw(faces[i]) - base)))
    return chosen


def _check_input(
    frames: Sequence[RGBImage], steps: Sequence[Challenge], limits: ActiveLimits
) -> ActiveResult | None:
    if not steps:
        raise ValueError("steps must not be empty")
    for step in steps:
        Challenge(step)  # ValueError for anything else
    if any(a == b for a, b in itertools.pairwise(steps)):
        raise ValueError(f"steps must not repeat a movement in a row, got {list(steps)}")
    if not frames:
        return ActiveResult(False, ActiveReason.EMPTY_SEQUENCE)
    for index, frame in enumerate(frames):
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(
                f"frames[{index}] must be (H, W, 3) uint8, got {frame.shape} {frame.dtype}"
            )
    if len(frames) < len(steps) + 1:
        return ActiveResult(False, ActiveReason.TOO_FEW_FRAMES)
    if len(frames) > limits.max_frames:
        return ActiveResult(False, ActiveReason.TOO_MANY_FRAMES)
    for index, frame in enumerate(frames):
        if frame.shape != frames[0].shape:
            return ActiveResult(False, ActiveReason.FRAME_SIZE_MISMATCH, frame=index)
    return None


def _yaw(face: Face) -> float:
    return head_pose(_landmarks(face))[0]


def _eye_distance(face: Face) -> float:
    first, second, _ = eye_centres_and_nose(_landmarks(face))
    return float(np.hypot(*(second - first)))


def _landmarks(face: Face) -> np.ndarray:
    if face.landmarks is None:
        raise ValueError("face has no landmarks: run the pipeline's landmark stage first")
    return face.landmarks


def _embedding(face: Face) -> np.ndarray:
    if face.embedding is None:
        raise ValueError("face has no embedding: run the pipeline's embed stage first")
    return face.embedding


def check_input(
    frames: Sequence[RGBImage],
    steps: Sequence[Challenge],
    limits: ActiveLimits = ActiveLimits(),
) -> ActiveResult | None:
    """The refusal for a sequence whose count or frame sizes are wrong, else None: cheap,
    so a caller can refuse before it searches any frame for a face."""
    return _check_input(frames, steps, limits)
