"""Evaluation sequences for active liveness, built from real photos.

Every frame is composed onto one fixed canvas (a 640×480 camera frame) over a static
background, with a little sensor noise. Genuine sequences use different photos of one
person whose measured head pose matches each challenged movement; attacks move one photo
(a print, or a phone screen) in front of the camera, replay a genuine sequence in another
order, or switch to another person midway. NUAA's print-attack frames, where a real print
was rotated in front of a real camera, are offered as they are.

The poses of the photos are measured with the same landmarks the check uses, so genuine
sequences test the rest of the chain (finding the face again on the canvas, identity across
photos taken years apart, planarity), not the pose measurement itself.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from random import Random

import numpy as np
from numpy.typing import NDArray
from skimage.transform import ProjectiveTransform, rescale, warp

from facegate.errors import DatasetError
from facegate.liveness.active import ActiveLimits
from facegate.liveness.challenge import Challenge, ChallengeIssuer
from facegate.vision.image import RGBImage, load_image
from facegate.vision.landmarks import eye_centres_and_nose
from facegate.vision.quality import head_pose

#: (height, width) of every frame: a VGA camera, the size of NUAA's frames.
CANVAS_SHAPE = (480, 640)
#: Focal length of the simulated camera in pixels: a 60° horizontal field of view on 640 px,
#: typical of a kiosk webcam.
FOCAL_PX = 320.0 / math.tan(math.radians(30.0))
#: Scale at which a 250 px LFW photo is drawn in the baseline (face ~110 px wide, a person
#: about a metre from the camera).
BASELINE_DRAW_SCALE = 1.0
#: The come-closer photo is drawn so that its eyes are this much further apart than the
#: baseline's (about 1 m to 0.65 m); LFW photos differ in scale by up to 1.4× (p99), which
#: is the photographer's, not the person's movement, so it is divided out.
CLOSER_DRAW_SCALE = 1.5
#: Random shift of each frame's photo from the canvas centre, in pixels (people sway).
MAX_JITTER_PX = 24
#: Standard deviation of the per-frame sensor noise, in grey levels.
SENSOR_NOISE = 2.0
#: Width of the soft edge of a pasted genuine photo, pixels: no hard rectangle moves.
FEATHER_PX = 16
#: White paper margin of a print, and black bezel of a phone screen, in photo pixels.
PAPER_MARGIN_PX = 10
BEZEL_PX = 14
#: A photo can be a baseline within this |yaw proxy|: well inside the check's own limit
#: (:data:`~facegate.liveness.active.MAX_BASELINE_YAW`), so that it passes when re-measured.
FRONTAL_YAW = 0.1
#: A genuine turned photo's yaw proxy differs from the baseline's by at least this multiple
#: of the turn threshold: a person asked to turn turns clearly past it (0.2 is about 30°).
GENUINE_TURN_MARGIN = 4 / 3
#: How far a print or screen is tilted about a vertical axis to fake a turn, degrees:
#: more and the frontal face detector loses the face.
VERTICAL_TILT_DEGREES = 35.0
#: Tilts (degrees) the oblique attacker tries, smallest first.
TILT_DEGREES = tuple(range(15, 75, 5))
#: The oblique attacker aims for this multiple of the turn threshold, as predicted from the
#: photo's landmarks moved by the tilt (the landmarks found on the tilted photo move less).
ATTACK_MARGIN = 2.0
#: NUAA pos codes of prints moved left-right (3: rotated, 4: twisted), and their session.
NUAA_LEFT_RIGHT_POS = ("3", "4")
NUAA_SESSION = "3"


class SequenceKind(StrEnum):
    """What a sequence is. Values are stable names in the benchmark report."""

    GENUINE = "genuine"
    PRINT = "print"
    PRINT_OBLIQUE = "print_oblique"
    SCREEN = "screen"
    REPLAY_WRONG_ORDER = "replay_wrong_order"
    IDENTITY_SWITCH = "identity_switch"
    NUAA_PRINT = "nuaa_print"

    @property
    def is_attack(self) -> bool:
        return self is not SequenceKind.GENUINE


@dataclass(frozen=True, slots=True)
class PosedPhoto:
    """A photo of a known person with its measured pose.

    Attributes:
        path: the image file.
        identity: the person.
        landmarks: ``(5, 2)`` float32 ``(x, y)`` pixels of the photo (dlib 5-point order).
    """

    path: Path
    identity: str
    landmarks: NDArray[np.float32] = field(repr=False)
    mirrored: bool = False

    @property
    def yaw(self) -> float:
        return head_pose(self.landmarks)[0]

    @property
    def eye_distance(self) -> float:
        first, second, _ = eye_centres_and_nose(self.landmarks)
        return float(np.hypot(*(second - first)))

    def mirror(self, width: int) -> PosedPhoto:
        """The photo flipped left-right (``width`` pixels wide): the same person turned the
        other way. dlib's eye order is by image side, so the eye pairs swap."""
        landmarks = self.landmarks[[2, 3, 0, 1, 4]].copy()
        landmarks[:, 0] = width - 1 - landmarks[:, 0]
        return PosedPhoto(self.path, self.identity, landmarks, not self.mirrored)

    def load(self) -> RGBImage:
        image = load_image(self.path)
        return np.ascontiguousarray(image[:, ::-1]) if self.mirrored else image


@dataclass(frozen=True, slots=True)
class EvalSequence:
    """Frames and the challenge they answer.

    Attributes:
        kind: genuine, or the attack it simulates.
        subject: the person (LFW identity or NUAA subject) shown first.
        steps: the challenge: the movements asked for, in order.
        frames: ``(480, 640, 3)`` uint8 RGB frames, baseline first.
        turn_frames: indices of the frames meant to show a turn (for the planarity report).
    """

    kind: SequenceKind
    subject: str
    steps: tuple[Challenge, ...]
    frames: tuple[RGBImage, ...] = field(repr=False)
    turn_frames: tuple[int, ...] = ()


class SequenceBuilder:
    """Builds evaluation sequences from measured photos; deterministic for a given seed.

    Genuine sequences may use a photo's mirror image for the turn the other way (LFW has
    few people photographed turned both ways).

    Args:
        photos: measured photos (``PosedPhoto``), several per person.
        seed: seeds the challenge orders, placement, background and noise.
        limits: the check's thresholds, which define which photos count as turned.
        steps: movements per challenge.
    """

    def __init__(
        self,
        photos: Sequence[PosedPhoto],
        seed: int = 0,
        limits: ActiveLimits | None = None,
        steps: int = 3,
    ) -> None:
        self.limits = limits or ActiveLimits()
        self._random = Random(seed)  # noqa: S311 - a reproducible benchmark, not a secret
        self._issuer = ChallengeIssuer(steps=steps, rng=Random(seed + 1))  # noqa: S311
        self._noise = np.random.default_rng(seed)
        self._background = _background(CANVAS_SHAPE, np.random.default_rng(seed + 2))
        self.people: dict[str, list[PosedPhoto]] = {}
        for photo in photos:
            self.people.setdefault(photo.identity, []).append(photo)
        self._mirrors: dict[str, list[PosedPhoto]] = {}

    def challenge(self) -> tuple[Challenge, ...]:
        """A random order, drawn the way the server draws it."""
        return self._issuer.issue("bench", "bench").steps

    def genuine(self, identity: str, steps: Sequence[Challenge]) -> EvalSequence | None:
        """The person's photos in the challenged poses, or None if they lack one."""
        plan = self._plan(identity, steps)
        if plan is None:
            return None
        frames = [self._paste(photo, scale) for photo, scale in plan]
        return self._sequence(SequenceKind.GENUINE, identity, steps, frames)

    def still(self, photo: PosedPhoto, scale: float = BASELINE_DRAW_SCALE) -> RGBImage:
        """One genuine frame: ``photo`` drawn at ``scale`` on the canvas, as a genuine
        sequence draws it (feathered, jittered, over the background, with sensor noise)."""
        return self._paste(photo, scale)

    def replay_wrong_order(self, identity: str, steps: Sequence[Challenge]) -> EvalSequence | None:
        """A genuine sequence answering another challenge than ``steps``."""
        recorded = self.genuine(identity, steps)
        if recorded is None:
            return None
        other = self.challenge()
        while other == recorded.steps:
            other = self.challenge()
        return EvalSequence(
            SequenceKind.REPLAY_WRONG_ORDER,
            identity,
            other,
            recorded.frames,
            recorded.turn_frames,
        )

    def identity_switch(self, identity: str, steps: Sequence[Challenge]) -> EvalSequence | None:
        """A genuine sequence whose frames from a random step on show another person."""
        plan = self._plan(identity, steps)
        if plan is None:
            return None
        switch = self._random.randint(1, len(steps))
        baseline = plan[0][0]
        others = sorted(set(self.people) - {identity})
        self._random.shuffle(others)
        for other in others:
            pool = self._with_mirrors(other)
            rest = self._poses(pool, baseline, steps[switch - 1 :], None)
            if rest is not None:
                chosen = [*plan[:switch], *rest]
                frames = [self._paste(photo, scale) for photo, scale in chosen]
                return self._sequence(SequenceKind.IDENTITY_SWITCH, identity, steps, frames)
        return None

    def photo_attack(
        self, identity: str, steps: Sequence[Challenge], kind: SequenceKind
    ) -> EvalSequence | None:
        """One photo of the person, printed or on a phone screen, moved to follow ``steps``.

        PRINT and SCREEN tilt the photo about a vertical axis to fake a turn; PRINT_OBLIQUE
        tilts it about a diagonal axis, the tilt an attacker who knows the landmarks would
        choose: it shears the face, moving the nose across the eye line. The tilt angle is
        the smallest that the attacker's own landmark measurement says should pass.
        """
        if kind not in (SequenceKind.PRINT, SequenceKind.PRINT_OBLIQUE, SequenceKind.SCREEN):
            raise ValueError(f"kind must be a photo attack, got {kind!r}")
        baseline = self._baseline(self.people[identity])
        if baseline is None:
            return None
        image = baseline.load()
        if kind is SequenceKind.SCREEN:
            image = _screen_look(image, self._noise)
            border, colour = BEZEL_PX, 0
        else:
            border, colour = PAPER_MARGIN_PX, 255
        photo = np.pad(image, ((border, border), (border, border), (0, 0)), constant_values=colour)
        landmarks = baseline.landmarks + border
        axes: tuple[float, ...] = (90.0,)
        tilts: tuple[float, ...] = (VERTICAL_TILT_DEGREES,)
        if kind is SequenceKind.PRINT_OBLIQUE:
            axes, tilts = (45.0, 135.0), tuple(map(float, TILT_DEGREES))
        frames = [self._warp(photo, _plane(photo.shape, BASELINE_DRAW_SCALE, 0.0, 90.0))]
        for step in steps:
            if step is Challenge.COME_CLOSER:
                plane = _plane(photo.shape, CLOSER_DRAW_SCALE, 0.0, 90.0)
            else:
                plane = self._attacker_tilt(photo.shape, landmarks, step, axes, tilts)
            frames.append(self._warp(photo, plane))
        return self._sequence(kind, identity, steps, frames)

    def _attacker_tilt(
        self,
        shape: tuple[int, ...],
        landmarks: NDArray[np.float32],
        step: Challenge,
        axes: Sequence[float],
        tilts: Sequence[float],
    ) -> ProjectiveTransform:
        """The smallest tilt in ``tilts`` predicted to fake ``step``, else the best one."""
        base = head_pose(landmarks)[0]
        target = ATTACK_MARGIN * self.limits.turn_yaw_shift
        sign = -1.0 if step is Challenge.TURN_LEFT else 1.0
        best: tuple[float, ProjectiveTransform] | None = None
        for tilt in tilts:
            for axis in axes:
                for direction in (-1.0, 1.0):
                    plane = _plane(shape, BASELINE_DRAW_SCALE, direction * tilt, axis)
                    moved = np.asarray(plane(landmarks), dtype=np.float32)
                    gain = sign * (head_pose(moved)[0] - base)
                    if gain >= target:
                        return plane
                    if best is None or gain > best[0]:
                        best = (gain, plane)
        assert best is not None  # TILT_DEGREES and axes are not empty
        return best[1]

    def _baseline(self, photos: Sequence[PosedPhoto]) -> PosedPhoto | None:
        frontal = [p for p in photos if abs(p.yaw) <= FRONTAL_YAW]
        return min(frontal, key=lambda p: abs(p.yaw)) if frontal else None

    def _with_mirrors(self, identity: str) -> list[PosedPhoto]:
        if identity not in self._mirrors:
            photos = self.people[identity]
            mirrored = [p.mirror(p.load().shape[1]) for p in photos]
            self._mirrors[identity] = [*photos, *mirrored]
        return self._mirrors[identity]

    def _plan(
        self, identity: str, steps: Sequence[Challenge]
    ) -> list[tuple[PosedPhoto, float]] | None:
        """(photo, draw scale) for the baseline and each step, or None."""
        photos = self.people[identity]
        candidates = sorted((p for p in photos if abs(p.yaw) <= FRONTAL_YAW), key=_abs_yaw)
        for baseline in candidates:
            rest = self._poses(self._with_mirrors(identity), baseline, steps, baseline.path)
            if rest is not None:
                return [(baseline, BASELINE_DRAW_SCALE), *rest]
        return None

    def _poses(
        self,
        photos: Sequence[PosedPhoto],
        baseline: PosedPhoto,
        steps: Sequence[Challenge],
        exclude: Path | None,
    ) -> list[tuple[PosedPhoto, float]] | None:
        shift = self.limits.turn_yaw_shift
        turn = GENUINE_TURN_MARGIN * shift
        base_yaw = baseline.yaw
        # never the baseline's photo (scaled, it would be a plane; mirrored, a trick)
        others = [p for p in photos if p.path != exclude]
        pools = {
            Challenge.TURN_LEFT: [p for p in others if p.yaw - base_yaw <= -turn],
            Challenge.TURN_RIGHT: [p for p in others if p.yaw - base_yaw >= turn],
            # another photo, not mirrored, clearly not turned, drawn larger
            Challenge.COME_CLOSER: [
                p for p in others if abs(p.yaw - base_yaw) <= shift / 2 and not p.mirrored
            ],
        }
        chosen: list[tuple[PosedPhoto, float]] = []
        for step in steps:
            if not pools[step]:
                return None
            photo = self._random.choice(pools[step])
            scale = BASELINE_DRAW_SCALE
            if step is Challenge.COME_CLOSER:
                scale *= CLOSER_DRAW_SCALE * baseline.eye_distance / photo.eye_distance
            chosen.append((photo, scale))
        return chosen

    def _sequence(
        self,
        kind: SequenceKind,
        identity: str,
        steps: Sequence[Challenge],
        frames: Sequence[RGBImage],
    ) -> EvalSequence:
        turns = tuple(
            i
            for i, step in enumerate(steps, start=1)
            if step in (Challenge.TURN_LEFT, Challenge.TURN_RIGHT)
        )
        return EvalSequence(kind, identity, tuple(steps), tuple(frames), turns)

    def _jitter(self) -> tuple[float, float]:
        return (
            self._random.uniform(-MAX_JITTER_PX, MAX_JITTER_PX),
            self._random.uniform(-MAX_JITTER_PX, MAX_JITTER_PX),
        )

    def _paste(self, photo: PosedPhoto, scale: float) -> RGBImage:
        """A genuine frame: the photo, feathered, drawn at ``scale`` over the background."""
        image = photo.load().astype(np.float64) / 255.0
        alpha = _feather(image.shape[:2], FEATHER_PX)
        dx, dy = self._jitter()
        height, width = image.shape[:2]
        # photo pixel (u, v) -> canvas: scaled about the photo centre, centred on the canvas
        matrix = np.array(
            [
                [scale, 0.0, CANVAS_SHAPE[1] / 2 + dx - scale * width / 2],
                [0.0, scale, CANVAS_SHAPE[0] / 2 + dy - scale * height / 2],
                [0.0, 0.0, 1.0],
            ]
        )
        placement = ProjectiveTransform(matrix=matrix)  # type: ignore[no-untyped-call]
        return self._compose(image, alpha, placement)

    def _warp(self, photo: RGBImage, plane: ProjectiveTransform) -> RGBImage:
        """An attack frame: the flat photo projected through ``plane``, moved by jitter."""
        dx, dy = self._jitter()
        moved = np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1.0]])
        shift = ProjectiveTransform(matrix=moved)  # type: ignore[no-untyped-call]
        alpha = np.ones(photo.shape[:2])
        return self._compose(photo.astype(np.float64) / 255.0, alpha, plane + shift)

    def _compose(
        self,
        image: NDArray[np.float64],
        alpha: NDArray[np.float64],
        transform: ProjectiveTransform,
    ) -> RGBImage:
        layers = np.dstack([image, alpha])
        drawn: NDArray[np.float64] = warp(  # type: ignore[no-untyped-call]
            layers, transform.inverse, output_shape=CANVAS_SHAPE, order=1, cval=0.0
        )
        a = drawn[..., 3:4]
        frame = drawn[..., :3] * a + self._background * (1.0 - a)
        frame = frame * 255.0 + self._noise.normal(0.0, SENSOR_NOISE, frame.shape)
        composed: RGBImage = np.clip(np.rint(frame), 0, 255).astype(np.uint8)
        return composed


def _abs_yaw(photo: PosedPhoto) -> float:
    return abs(photo.yaw)


def _plane(
    shape: tuple[int, ...], scale: float, tilt_degrees: float, axis_degrees: float
) -> ProjectiveTransform:
    """Photo pixels → canvas pixels for a flat photo ``scale`` times its size at zero tilt,
    rotated by ``tilt_degrees`` about an axis through its centre in the photo's plane at
    ``axis_degrees`` from the x axis (90: vertical), seen by a pinhole camera."""
    height, width = shape[:2]
    axis = np.array([math.cos(math.radians(axis_degrees)), math.sin(math.radians(axis_degrees)), 0])
    rotation = _rodrigues(axis, math.radians(tilt_degrees))
    distance = FOCAL_PX / scale
    camera = np.array(
        [[FOCAL_PX, 0.0, CANVAS_SHAPE[1] / 2], [0.0, FOCAL_PX, CANVAS_SHAPE[0] / 2], [0, 0, 1]]
    )
    extrinsic = np.column_stack([rotation[:, 0], rotation[:, 1], [0.0, 0.0, distance]])
    centre = np.array([[1.0, 0.0, -width / 2], [0.0, 1.0, -height / 2], [0.0, 0.0, 1.0]])
    return ProjectiveTransform(matrix=camera @ extrinsic @ centre)  # type: ignore[no-untyped-call]


def _rodrigues(axis: NDArray[np.float64], angle: float) -> NDArray[np.float64]:
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    rotation: NDArray[np.float64] = np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * k @ k
    return rotation


def _feather(shape: tuple[int, ...], width: int) -> NDArray[np.float64]:
    height, wide = shape[:2]
    ys = np.minimum(np.arange(height), np.arange(height)[::-1])
    xs = np.minimum(np.arange(wide), np.arange(wide)[::-1])
    ramp = np.minimum.outer(ys, xs).astype(np.float64)
    return np.clip(ramp / width, 0.0, 1.0)


def _background(shape: tuple[int, int], rng: np.random.Generator) -> NDArray[np.float64]:
    """A static room: a vertical light gradient with smooth blotches, ``(H, W, 3)`` in [0, 1]."""
    height, width = shape
    gradient = np.linspace(0.75, 0.45, height)[:, None, None] * np.array([1.0, 0.97, 0.9])
    coarse = rng.uniform(-0.08, 0.08, (height // 40 + 2, width // 40 + 2))
    blotches = rescale(coarse, 40, order=3)[:height, :width, None]
    room: NDArray[np.float64] = np.clip(gradient + blotches, 0.0, 1.0)
    return room


def _screen_look(image: RGBImage, rng: np.random.Generator) -> RGBImage:
    """A phone screen's rendering of ``image``: gamma, a blue cast, a moiré pattern."""
    rgb = (image.astype(np.float64) / 255.0) ** 0.8 * np.array([0.92, 0.98, 1.06])
    height, width = rgb.shape[:2]
    yy, xx = np.mgrid[0:height, 0:width]
    angle = rng.uniform(0.0, math.pi)
    frequency = rng.uniform(0.18, 0.3)  # cycles per pixel: beating of pixel grids
    moire = 0.05 * np.sin(2 * math.pi * frequency * (xx * math.cos(angle) + yy * math.sin(angle)))
    screen = np.clip(rgb + moire[..., None], 0.0, 1.0)
    rendered: RGBImage = np.rint(screen * 255.0).astype(np.uint8)
    return rendered


def nuaa_sequences(
    nuaa_dir: Path, issuer: ChallengeIssuer, *, min_frames: int
) -> tuple[list[EvalSequence], int]:
    """NUAA's left-right moved prints (session 3, pos 3 and 4), one sequence per subject and
    movement, frames ordered by ``pic_no``, each answering a random challenge.

    Returns the sequences and how many (subject, pos) groups had fewer than ``min_frames``.

    Raises:
        DatasetError: ``labels.csv`` is missing or lacks a needed column.
    """
    rows = read_nuaa_labels(nuaa_dir)
    groups: dict[tuple[str, str], list[tuple[int, Path]]] = {}
    for row in rows:
        if (
            row["label"] == "spoof"
            and row["session"] == NUAA_SESSION
            and row["pos_code"] in NUAA_LEFT_RIGHT_POS
        ):
            key = (row["subject"], row["pos_code"])
            groups.setdefault(key, []).append((int(row["pic_no"]), nuaa_dir / row["path"]))
    sequences: list[EvalSequence] = []
    short = 0
    for (subject, _pos), members in sorted(groups.items()):
        if len(members) < min_frames:
            short += 1
            continue
        frames = tuple(_fit(load_image(path)) for _, path in sorted(members))
        steps = issuer.issue("bench", "bench").steps
        turns = tuple(range(1, len(frames)))
        sequences.append(EvalSequence(SequenceKind.NUAA_PRINT, subject, steps, frames, turns))
    return sequences, short


def read_nuaa_labels(nuaa_dir: Path) -> list[dict[str, str]]:
    """The rows of NUAA's ``labels.csv`` (path, label, subject, pos_code, session, pic_no).

    Raises:
        DatasetError: the file is missing, unreadable, or lacks a needed column.
    """
    labels = nuaa_dir / "labels.csv"
    try:
        with labels.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
            columns = set(reader.fieldnames or ())
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{labels}: cannot read ({exc})") from exc
    missing = {"path", "label", "subject", "pos_code", "session", "pic_no"} - columns
    if missing:
        raise DatasetError(f"{labels}: missing the columns {', '.join(sorted(missing))}")
    for line, row in enumerate(rows, start=2):
        if not row["pic_no"].isdigit():
            raise DatasetError(f"{labels}, line {line}: pic_no must be a number")
    return rows


def _fit(image: RGBImage) -> RGBImage:
    """``image`` on the canvas: scaled to fit, centred, grey borders (NUAA is already 640×480)."""
    if image.shape[:2] == CANVAS_SHAPE:
        return image
    factor = min(CANVAS_SHAPE[0] / image.shape[0], CANVAS_SHAPE[1] / image.shape[1])
    scaled = rescale(image, factor, channel_axis=2, anti_aliasing=factor < 1, preserve_range=True)
    canvas = np.full((*CANVAS_SHAPE, 3), 128, dtype=np.uint8)
    top = (CANVAS_SHAPE[0] - scaled.shape[0]) // 2
    left = (CANVAS_SHAPE[1] - scaled.shape[1]) // 2
    canvas[top : top + scaled.shape[0], left : left + scaled.shape[1]] = np.rint(scaled)
    return canvas
