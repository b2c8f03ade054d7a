"""The enrollment guard: refuse a face that would open the door for somebody else.

A morph of two people enrolled as one template opens the door for both (facegate issue 15,
item 2). Every enrollment (front desk, kiosk, CLI, demo) passes through
:func:`facegate.recognition.enroll_images`, which calls :func:`guard_enrollment` before the
store writes anything. Two checks:

1. **Matches an enrolled other person.** Each new face is identified against the site's
   gallery without the enrolling subject's own templates, as the gate's 1:N decision would
   (the threshold rises with the gallery, so about 1% of genuine newcomers are refused
   whatever the community's size; see :func:`matches_other`). A match is refused: the morph
   of A and B when B is enrolled, or simply somebody enrolling under another's record.
2. **Differential morph detection (D-MAD).** Each enrolled photo is compared with the live
   capture of the person at enrollment (the desk camera, the kiosk's frames) at a threshold
   stricter than the door's: a morph scores lower against its enroller's live face than a
   bona fide photo of the same person does. Uploaded photos without a live capture (the
   front-desk page, which has no camera field yet; the CLI without ``--live``) cannot be
   checked this way. The kiosk's frames are all live captures and are compared with each
   other, which catches a swap between frames but not a morph: a morph would have to be
   shown to the kiosk's camera as a photo or screen, which is liveness's to refuse.

The refusal is one generic reason (``enrollment_refused``) whichever check fired, so the
enroller learns neither that somebody alike is enrolled nor who; the audit log records the
check's name, never the person matched or a score.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from facegate.errors import PolicyError
from facegate.gate.matcher import Matcher
from facegate.matching import DEFAULT_OPERATING_POINT, OperatingPoint, score
from facegate.store import Store
from facegate.store.audit import AuditAction
from facegate.store.detail_keys import REFUSED_BY_KEY
from facegate.store.indexed_gallery import IndexedGallery
from facegate.store.records import Gallery
from facegate.vision.sface import SFACE

#: The one reason an enroller sees, whichever check refused (words: ``api.words``).
REFUSED_REASON = "enrollment_refused"
#: The ``templates.read`` purpose of the gallery read the guard makes.
GUARD_PURPOSE = "enrollment_guard"

#: Fraction of bona fide enrollments the D-MAD threshold was calibrated to refuse.
DMAD_GENUINE_REFUSAL_TARGET = 0.05

#: D-MAD threshold per embedding model: minimum score (1 − euclidean distance, higher is
#: stricter) between an enrollment photo and the live capture; the door's 1:1 fmr_1e-4
#: threshold for SFace is −0.081. SFace: the 5th percentile (rounded up) of bona fide
#: photo-vs-other-photo scores of the calibration half (158 people, split by identity with
#: seed 0) of the LFW development subset. On the other, report half it refused 11/159 bona
#: fide enrollments (6.9%, 95% CI 3.9–12.0%) and 85/100 look-alike morphs (95% CI 77–91%).
#: Rerun: ``python -c "from pathlib import Path; from facegate.audit.data import
#: load_audit_data; from facegate.audit.morph import audit_morphs; print(audit_morphs(
#: load_audit_data(Path('../shared/data/lfw_deepfunneled_subset')), max_morphs=100))"``
#: (``threshold_calibrated_here`` in the D-MAD defence's detail).
DMAD_THRESHOLDS: dict[str, float] = {SFACE: 0.0057}


class GuardCheck(StrEnum):
    """Which check refused an enrollment (audit detail only, never shown to the enroller)."""

    MATCHES_ENROLLED_OTHER = "matches_enrolled_other"
    DIFFERS_FROM_LIVE_CAPTURE = "differs_from_live_capture"


def dmad_threshold_for(model: str, door: float) -> float:
    """The D-MAD threshold of ``model``; a model without a calibrated one is checked at the
    door's 1:1 threshold ``door`` (the same person, at least), never skipped."""
    return max(door, DMAD_THRESHOLDS.get(model, door))


def matches_other(
    embeddings: NDArray[np.floating],
    gallery: Gallery | IndexedGallery,
    subject_id: str,
    matcher: Matcher,
    model: str,
    point: OperatingPoint = DEFAULT_OPERATING_POINT,
) -> bool:
    """Whether any of ``embeddings`` ``(k, 128)`` is identified as another subject of
    ``gallery`` (the subject's own templates left out) at ``point``, as the gate's 1:N
    decision would.

    1:N, not 1:1: each of a newcomer's comparisons with a stranger matches at 1:1 with the
    point's FMR (1e-4), so across a community's thousands of templates a 1:1 check would
    refuse a large share of genuine newcomers (about 45% at 6,000 templates). The 1:N
    threshold rises with the gallery so that a stranger matches anybody at most at the
    matcher's FPIR (1%). What it gives up: a morph under the 1:N threshold that still
    reaches the accomplice at 1:1 could open a verify door (card plus face) for the
    accomplice holding the enroller's card; D-MAD is the check for that.
    """
    # The cached indexed gallery is searched without the subject, nothing copied.
    others = (
        gallery.without(subject_id)
        if isinstance(gallery, IndexedGallery)
        else gallery.excluding([subject_id])
    )
    if not len(others):
        return False
    return any(matcher.identify(e, others, model, point) is not None for e in embeddings)


def differs_from_live(
    photos: NDArray[np.floating], live: NDArray[np.floating], threshold: float
) -> bool:
    """D-MAD: whether any photo ``(k, 128)`` scores below ``threshold`` against any live
    capture ``(m, 128)``. No live capture: False (nothing to compare with)."""
    return bool(len(live)) and bool((score(photos, live) < threshold).any())


def guard_enrollment(
    store: Store,
    matcher: Matcher,
    subject_id: str,
    embeddings: Sequence[NDArray[np.floating]],
    live: Sequence[NDArray[np.floating]],
    model: str,
    actor: str,
    point: OperatingPoint = DEFAULT_OPERATING_POINT,
) -> None:
    """Refuse (``PolicyError``, reason :data:`REFUSED_REASON`) an enrollment that matches
    another enrolled subject of the site or differs from its live capture; the refusal is
    audited as ``enrollment.refused`` with the check's name only.

    ``embeddings``: the faces to enroll; ``live``: live captures compared, not enrolled.
    """
    photos = np.stack([np.asarray(e, np.float32) for e in embeddings])
    captured = (
        np.stack([np.asarray(e, np.float32) for e in live])
        if live
        else np.empty((0, photos.shape[1]), np.float32)
    )
    subject = store.get_subject(subject_id)
    door = matcher.threshold(model, point)
    refused: GuardCheck | None = None
    if differs_from_live(photos, captured, dmad_threshold_for(model, door)):
        refused = GuardCheck.DIFFERS_FROM_LIVE_CAPTURE
    else:
        gallery = store.load_gallery(subject.site_code, model, actor, GUARD_PURPOSE)
        if matches_other(photos, gallery, subject_id, matcher, model, point):
            refused = GuardCheck.MATCHES_ENROLLED_OTHER
    if refused is None:
        return
    site = store.get_site(subject.site_code)
    with store.transaction() as session:
        store.audit(
            session,
            actor,
            AuditAction.ENROLLMENT_REFUSED,
            site_id=site.id,
            subject_id=subject_id,
            detail={REFUSED_BY_KEY: refused.value, "images": len(photos), "live": len(captured)},
        )
    raise PolicyError(
        "this face cannot be enrolled for this person: ask the front desk", reason=REFUSED_REASON
    )
