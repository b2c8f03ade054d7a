"""Poisoning at enrollment: a morph of two look-alikes enrolled as one template.

The attacker enrolls, under the identity of one contributor (the enroller, A), a photo that
blends A with an accomplice (B); if the template matches both, the door opens for both.

Morphs are landmark-aligned warp-and-blend images: each photo is warped by a similarity
transform (rotation, scale, shift; least median of squares) from its five YuNet keypoints
onto the average of the two keypoint sets, and the two warped photos are blended 50/50 into
a full image of A's size, cropped around the face (the attacker's enrollment photo: the
photos' backgrounds hold other faces), which goes through the shipped pipeline as an
enrollment photo does (exactly one face, the quality gate); one that fails counts as
refused. (A similarity warp keeps the blend free of mesh seams; a piecewise-affine warp
would also match the inner geometry, and would at most make the morphs stronger.)

Pairs are chosen the way an attacker would: for each person, the most similar other person
by embedding (mean of their photos), never by any label (R-26); the most similar pairs first.
People are split by identity, with ``seed``, into a calibration half (the D-MAD threshold's
genuine scores) and a report half (every morph and rate reported here), and look-alikes are
sought within each half.

Photos per person (at least four): 0 is the photo morphed (or, for a bona fide enrollment,
the photo enrolled); 1 is the live capture at enrollment (the desk camera, the kiosk frame);
2 is the live face at the door; 3 is the photo the accomplice enrolled with, for the
"already enrolled" defence.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from facegate.audit.data import AuditData
from facegate.audit.schema import AttackResult, DefenceResult
from facegate.audit.stats import Rate, rate
from facegate.errors import FacegateError
from facegate.gate.enrollment_guard import DMAD_GENUINE_REFUSAL_TARGET, dmad_threshold_for
from facegate.matching.score import score
from facegate.vision.image import RGBImage
from facegate.vision.pipeline import Selection
from facegate.vision.record import Face

NAME = "poisoning_morph_enrollment"
REFUSE_MATCH = "refuse_match_to_enrolled"
DMAD = "differential_morph_detection"
#: Blend weight of the enroller's photo (0.5: the classic morph).
MORPH_ALPHA = 0.5
#: Side of the square the attacker crops the morph to, in eye-to-mouth distances: the face
#: alone, as an enrollment photo (the photos' backgrounds hold other people's faces).
CROP_SIDE = 3.5
#: Photos a person needs: morphed, enrollment live capture, door live face, enrolled photo.
PHOTOS_NEEDED = 4
MORPHED, ENROLL_LIVE, DOOR_LIVE, ENROLLED = range(PHOTOS_NEEDED)


@dataclass(frozen=True, slots=True)
class Morph:
    enroller: str
    accomplice: str
    #: Similarity of the two people's mean embeddings: how alike the attacker found them.
    likeness: float
    image: RGBImage


def morph_images(
    first: RGBImage,
    first_points: NDArray[np.floating],
    second: RGBImage,
    second_points: NDArray[np.floating],
    alpha: float = MORPH_ALPHA,
) -> RGBImage:
    """Blend two faces aligned on their average keypoint geometry.

    ``first_points``/``second_points``: ``(5, 2)`` ``(x, y)`` pixels in each image. The
    result has ``first``'s shape, uint8 RGB; ``alpha`` weighs ``first``.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    src_a = np.asarray(first_points, np.float32)
    src_b = np.asarray(second_points, np.float32)
    target = (alpha * src_a + (1.0 - alpha) * src_b).astype(np.float32)
    height, width = first.shape[:2]
    warped = []
    for image, points in ((first, src_a), (second, src_b)):
        matrix, _ = cv2.estimateAffinePartial2D(points, target, method=cv2.LMEDS)
        if matrix is None:
            raise ValueError("keypoints do not define a similarity transform")
        warped.append(
            cv2.warpAffine(
                image,
                matrix,
                (width, height),
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REFLECT,
            ).astype(np.float32)
        )
    blend = alpha * warped[0] + (1.0 - alpha) * warped[1]
    return np.clip(np.rint(blend), 0, 255).astype(np.uint8)


def enrollment_morph(
    first: RGBImage,
    first_points: NDArray[np.floating],
    second: RGBImage,
    second_points: NDArray[np.floating],
) -> RGBImage:
    """The attacker's enrollment photo: the 50/50 morph, cropped to the face."""
    target = MORPH_ALPHA * np.asarray(first_points) + (1.0 - MORPH_ALPHA) * np.asarray(
        second_points
    )
    return crop_to_face(morph_images(first, first_points, second, second_points), target)


def crop_to_face(image: RGBImage, points: NDArray[np.floating]) -> RGBImage:
    """A square crop of ``image`` centred on the ``(5, 2)`` keypoints (YuNet order: eyes,
    nose, mouth corners), :data:`CROP_SIDE` eye-to-mouth distances wide, inside the image."""
    pts = np.asarray(points, np.float64)
    span = float(np.linalg.norm(pts[3:5].mean(axis=0) - pts[0:2].mean(axis=0)))
    half = max(1, round(CROP_SIDE * span / 2))
    cx, cy = (round(v) for v in pts.mean(axis=0))
    height, width = image.shape[:2]
    x1, y1 = max(0, cx - half), max(0, cy - half)
    x2, y2 = min(width, cx + half), min(height, cy + half)
    return np.ascontiguousarray(image[y1:y2, x1:x2])


def split_people(data: AuditData, seed: int) -> tuple[list[str], list[str]]:
    """People with enough photos, split by identity into (calibration, report) halves."""
    people = sorted(p for p, s in data.by_identity().items() if len(s) >= PHOTOS_NEEDED)
    people = [people[i] for i in np.random.default_rng(seed).permutation(len(people))]
    half = len(people) // 2
    return sorted(people[:half]), sorted(people[half:])


def look_alike_pairs(data: AuditData, people: list[str]) -> list[tuple[str, str, float]]:
    """Unordered (enroller, accomplice, likeness) pairs: each person's most similar other
    person by mean embedding, most alike first. Only embeddings decide (R-26)."""
    if len(people) < 2:
        return []
    groups = data.by_identity()
    means = np.stack([np.mean([s.embedding for s in groups[p]], axis=0) for p in people])
    means /= np.linalg.norm(means, axis=1, keepdims=True)
    dist = np.linalg.norm(means[:, None, :] - means[None, :, :], axis=2)
    np.fill_diagonal(dist, np.inf)
    pairs: dict[frozenset[str], tuple[str, str, float]] = {}
    for i, person in enumerate(people):
        j = int(np.argmin(dist[i]))
        key = frozenset((person, people[j]))
        pairs.setdefault(key, (person, people[j], float(1.0 - dist[i, j])))
    return sorted(pairs.values(), key=lambda pair: -pair[2])


def build_morphs(data: AuditData, pairs: list[tuple[str, str, float]]) -> list[Morph]:
    groups = data.by_identity()
    morphs = []
    for enroller, accomplice, likeness in pairs:
        a, b = groups[enroller][MORPHED], groups[accomplice][MORPHED]
        if a.face.keypoints is None or b.face.keypoints is None:
            continue
        image = enrollment_morph(a.image, a.face.keypoints, b.image, b.face.keypoints)
        morphs.append(Morph(enroller, accomplice, likeness, image))
    return morphs


def genuine_scores(data: AuditData, people: list[str]) -> NDArray[np.float64]:
    """Bona fide enrollment photo against the live capture at enrollment, per person."""
    groups = data.by_identity()
    return np.array(
        [data.score(groups[p][MORPHED].embedding, groups[p][ENROLL_LIVE].embedding) for p in people]
    )


def calibrate_dmad(scores: NDArray[np.float64], door: float) -> float:
    """The D-MAD threshold refusing :data:`DMAD_GENUINE_REFUSAL_TARGET` of genuine
    enrollments in ``scores``, never below the door's threshold."""
    return max(door, float(np.quantile(scores, DMAD_GENUINE_REFUSAL_TARGET)))


def audit_morphs(data: AuditData, *, max_morphs: int, seed: int = 0) -> AttackResult:
    """Morphs of look-alikes enrolled as one person, at the door's operating point.

    Success: the morph's template matches a live photo of both contributors (photo 2 of
    each, not the morphed one) at ``data.threshold``. Defences: refusing an enrollment that
    matches an enrolled other person (the accomplice enrolled with photo 3) and differential
    morph detection against the enroller's live capture (photo 1), at a D-MAD threshold
    calibrated on the other half of the people.
    """
    if max_morphs < 0:
        raise ValueError(f"max_morphs must be at least 0, got {max_morphs}")
    calibration, report = split_people(data, seed)
    groups = data.by_identity()
    door = data.threshold
    genuine_cal = genuine_scores(data, calibration)
    measured = calibrate_dmad(genuine_cal, door) if len(genuine_cal) else door
    shipped = dmad_threshold_for(data.model, door)
    # The guard's match check decides at the gallery's 1:N threshold (report people enrolled).
    guard = data.gallery_threshold(len(report))
    morphs = build_morphs(data, look_alike_pairs(data, report)[:max_morphs])

    both, refused_match, refused_dmad = [], [], []
    to_enroller, to_accomplice = [], []
    not_enrollable = 0
    for morph in morphs:
        face = _enrollable(data, morph.image)
        if face is None or face.embedding is None:
            # Not one usable face: the enrollment itself fails, the attack with it. Counted
            # as a failed attack, not as a refusal by either defence.
            both.append(False)
            refused_match.append(False)
            refused_dmad.append(False)
            not_enrollable += 1
            continue
        a, b = groups[morph.enroller], groups[morph.accomplice]
        score_a = data.score(face.embedding, a[DOOR_LIVE].embedding)
        score_b = data.score(face.embedding, b[DOOR_LIVE].embedding)
        to_enroller.append(score_a)
        to_accomplice.append(score_b)
        both.append(score_a >= door and score_b >= door)
        refused_match.append(data.score(face.embedding, b[ENROLLED].embedding) >= guard)
        refused_dmad.append(data.score(face.embedding, a[ENROLL_LIVE].embedding) < shipped)

    n = len(both)
    undefended = rate(both)
    after_match = rate([s and not r for s, r in zip(both, refused_match, strict=True)])
    after_dmad = rate([s and not r for s, r in zip(both, refused_dmad, strict=True)])
    genuine_report = genuine_scores(data, report)
    genuine_refused = Rate(int(np.sum(genuine_report < shipped)), len(genuine_report))
    enrollable = len(morphs) - not_enrollable
    morph_refused = Rate(sum(refused_dmad), enrollable)
    match_refused = Rate(sum(refused_match), enrollable)
    bona_fide_refused = _bona_fide_match_refusals(data, report, guard)
    split = {
        "calibration_people": len(calibration),
        "report_people": len(report),
        "genuine_enrollments_reported": len(genuine_report),
    }
    return AttackResult(
        name=NAME,
        goal=(
            "enroll one template that opens the door for two people: a 50/50 morph of the "
            "enroller and a look-alike accomplice"
        ),
        access=(
            "an enrollment channel (front desk upload, kiosk, CLI) and one photo of each "
            "contributor; the attacker picks look-alikes with any face matcher"
        ),
        budget=f"{max_morphs} morphs, one enrollment each, most alike pairs first",
        n=n,
        success_undefended=undefended.value,
        ci95=undefended.ci95,
        defences=[
            DefenceResult.of(
                REFUSE_MATCH,
                after_match,
                (
                    "a bona fide enrollment identified as another enrolled person (the "
                    f"gallery's 1:N threshold, {guard:.3f} for {len(report)} people) is "
                    f"refused: {bona_fide_refused.successes} of {bona_fide_refused.n} "
                    "report-half people; only protects when the accomplice is already enrolled"
                ),
                exercised=enrollable > 0,
                cost_fnmr=bona_fide_refused.value,
                detail={
                    "refused": match_refused.successes,
                    "refused_ci95": match_refused.ci95,
                    "assumes": "accomplice enrolled at the site with another photo",
                },
            ),
            DefenceResult.of(
                DMAD,
                after_dmad,
                (
                    f"genuine refusal {genuine_refused.value:.3f} "
                    f"(95% CI {genuine_refused.ci95[0]:.3f}–{genuine_refused.ci95[1]:.3f}, "
                    f"n={genuine_refused.n}): bona fide photos refused against the live "
                    "capture; needs a live capture at enrollment"
                ),
                exercised=enrollable > 0,
                cost_fnmr=genuine_refused.value,
                detail={
                    "threshold_shipped": shipped,
                    "threshold_calibrated_here": measured,
                    "genuine_refusal_target": DMAD_GENUINE_REFUSAL_TARGET,
                    "morph_refusal": morph_refused.value,
                    "morph_refusal_ci95": morph_refused.ci95,
                    "genuine_refusal": genuine_refused.value,
                    "genuine_refusal_ci95": genuine_refused.ci95,
                    "mean_genuine_score": _mean(genuine_report),
                    **split,
                },
            ),
        ],
        detail={
            "morph": (
                "similarity warp on 5 YuNet keypoints to their average, 50/50 blend, "
                "cropped to the face"
            ),
            "threshold": door,
            "operating_point": data.point.value,
            "mean_score_to_enroller": _mean(to_enroller),
            "mean_score_to_accomplice": _mean(to_accomplice),
            "mean_likeness": _mean([m.likeness for m in morphs]),
            "not_enrollable": n - len(to_enroller),
            **split,
        },
    )


def _enrollable(data: AuditData, image: RGBImage) -> Face | None:
    """The face as enrollment takes it: exactly one face, through the quality gate."""
    try:
        face = data.pipeline.subject(image, Selection.SINGLE)
    except FacegateError:
        return None
    if face.quality is not None and not face.quality.passed:
        return None
    return face


def _bona_fide_match_refusals(data: AuditData, people: list[str], threshold: float) -> Rate:
    """Genuine enrollments (photo 0) that reach ``threshold`` (the guard's) against another
    person's enrolled photo (photo 3): the cost of refusing matches to enrolled others."""
    if len(people) < 2:
        return Rate(0, len(people))
    groups = data.by_identity()
    probes = np.stack([groups[p][MORPHED].embedding for p in people]).astype(np.float64)
    enrolled = np.stack([groups[p][ENROLLED].embedding for p in people]).astype(np.float64)
    scores = score(probes, enrolled)
    np.fill_diagonal(scores, -np.inf)
    return Rate(int(np.sum(scores.max(axis=1) >= threshold)), len(people))


def _mean(values: list[float] | NDArray[np.float64]) -> float | None:
    return float(np.mean(values)) if len(values) else None


__all__ = [
    "Morph",
    "audit_morphs",
    "build_morphs",
    "crop_to_face",
    "enrollment_morph",
    "look_alike_pairs",
    "morph_images",
]
