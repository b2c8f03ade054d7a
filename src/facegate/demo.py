"""``facegate demo``: a demo community on the embedded default, end to end, on real images.

Consent first, enrollment refused without it, poor images refused with a reason, accepted
and rejected decisions, an audited deletion by crypto-shredding, and the audit chain checked.
Uses scikit-image's astronaut photo, and LFW people from ``../shared/data`` when present.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from facegate.errors import FaceError, FacegateError
from facegate.fixtures import astronaut, encode_png, no_face, shared_data_dir
from facegate.gate import FaceDecider, LivenessDemand
from facegate.gate.frames import ImageSource
from facegate.matching import OperatingPoint
from facegate.privacy.notice_template import starter_notice
from facegate.recognition import enroll_images, identify_image, verify_image
from facegate.store import ConsentMethod, DeletionReason, Store, SubjectKind
from facegate.store.records import CredentialKind, DeletionReceipt, LivenessLevel
from facegate.vision.image import load_image
from facegate.vision.pipeline import FacePipeline, Selection

DEMO_SITE = "demo"
DEMO_NOTICE_VERSION = "2026-11-v1"
DEMO_ACTOR = "demo-operator"
DEMO_OPERATOR = "Demo Property Services Co. / 演示物业服务有限公司"
DEMO_CONTACT = "Front desk, building 1 / 1号楼物业前台, 400-000-0000"
DEMO_GATE = "main-gate"
#: The demo's gate asks for the challenge of movements, as a new gate does by default: a
#: still photo held to the kiosk must not open it (issue 13).
DEMO_GATE_LIVENESS = LivenessLevel.PASSIVE_ACTIVE
#: The demo resident who declines face recognition chooses this PIN (R-08).
DEMO_PIN = "480915"
#: LFW people enrolled by the demo when the shared data is present.
LFW_PEOPLE = ("Colin_Powell", "Gloria_Macapagal_Arroyo", "Tony_Blair")
LFW_STRANGER = "Jean_Chretien"
LFW_IMAGES = Path("lfw_deepfunneled_subset", "images")
#: Photos enrolled per LFW person; several templates per subject, the best match counts.
ENROLLED_PHOTOS = 3
#: LFW's news photos are checked as offline photos: they are photo files, not frames of a
#: camera at a door, and the passive model was trained on them, so a liveness verdict on
#: them would prove nothing; those steps show recognition. The astronaut's steps run the
#: passive check as a gate does.
LFW_LIVENESS = LivenessDemand.SKIPPED


@dataclass(frozen=True, slots=True)
class DemoStep:
    """One line of the demo's story: what was tried and what facegate decided."""

    action: str
    outcome: str
    expected: str

    @property
    def as_expected(self) -> bool:
        return self.outcome == self.expected


def _attempt(action: str, expected: str, run: Callable[[], str]) -> DemoStep:
    try:
        outcome = run()
    except FacegateError as exc:
        outcome = f"refused: {exc.code}"
    return DemoStep(action, outcome, expected)


def _lfw_root() -> Path | None:
    """``../shared/data`` if it holds enough LFW photos of every demo person, else None."""
    shared = shared_data_dir()
    if shared is None:
        return None
    for person in (*LFW_PEOPLE, LFW_STRANGER):
        if len(list((shared / LFW_IMAGES / person).glob("*.jpg"))) < ENROLLED_PHOTOS + 2:
            return None
    return shared


def _one_face_photos(root: Path, person: str, pipeline: FacePipeline) -> list[Path]:
    """``person``'s LFW photos (sorted) that show one face: news photos often show a second
    person at the edge, and enrollment rightly refuses those."""
    usable = []
    for path in sorted((root / LFW_IMAGES / person).glob("*.jpg")):
        try:
            pipeline.subject(load_image(path), Selection.SINGLE)
        except FaceError:
            continue
        usable.append(path)
    return usable


#: The demo deletes Eileen after her withdrawal, which already erased her face data.
DELETED_AFTER_WITHDRAWAL = "record erased; face data and key already erased at withdrawal"


def deletion_outcome(receipt: DeletionReceipt) -> str:
    """What a deletion did, in words: "deleted 0, key destroyed: False" read like a failure
    when the withdrawal before it had already shredded the face data."""
    what = "record erased" if receipt.subject_erased else "face data erased"
    if receipt.templates_deleted == 0 and not receipt.key_destroyed:
        return DELETED_AFTER_WITHDRAWAL if receipt.subject_erased else what
    key = "data key destroyed" if receipt.key_destroyed else "no data key to destroy"
    return f"{what}: {receipt.templates_deleted} face template(s) deleted, {key}"


@dataclass(frozen=True, slots=True)
class _Actions:
    """The demo's operator actions, each returning what facegate decided as a short string.

    Faces are an operator's checks of photo files, so at most ``passive``: a file cannot do
    the movements that :data:`DEMO_GATE_LIVENESS` asks of a face at the gate's kiosk.
    """

    store: Store
    decider: FaceDecider

    def enroll(self, subject_id: str, *images: ImageSource) -> Callable[[], str]:
        def run() -> str:
            with self.decider.pipelines.borrow() as pipeline:
                ids = enroll_images(
                    self.store, pipeline, subject_id, images, DEMO_ACTOR, self.decider.max_pixels
                )
            return f"enrolled {len(ids)}"

        return run

    def verify(
        self,
        subject_id: str,
        image: ImageSource,
        liveness: LivenessDemand = LivenessDemand.PASSIVE,
    ) -> Callable[[], str]:
        def run() -> str:
            result = verify_image(
                self.decider,
                subject_id,
                image,
                DEMO_ACTOR,
                OperatingPoint.FMR_1E4,
                liveness,
            )
            return result.decision.value

        return run

    def identify(
        self, image: ImageSource, liveness: LivenessDemand = LivenessDemand.PASSIVE
    ) -> Callable[[], str]:
        def run() -> str:
            result = identify_image(self.decider, DEMO_SITE, image, DEMO_ACTOR, liveness=liveness)
            if result.subject_id is None:
                return result.outcome.value
            name = self.store.get_subject(result.subject_id).display_name
            return f"{result.outcome.value} as {name}"

        return run

    def delete(self, subject_id: str) -> Callable[[], str]:
        def run() -> str:
            receipt = self.store.delete_subject(subject_id, DeletionReason.REQUEST, DEMO_ACTOR)
            return deletion_outcome(receipt)

        return run

    def withdraw(self, subject_id: str) -> Callable[[], str]:
        def run() -> str:
            withdrawal = self.store.consents.withdraw_all(subject_id, actor=DEMO_ACTOR)
            erased = 0 if withdrawal.receipt is None else withdrawal.receipt.templates_deleted
            return f"withdrawn, {erased} erased"

        return run

    def pin_entry(self, subject_id: str) -> Callable[[], str]:
        def run() -> str:
            decision = self.store.credentials.check(
                DEMO_SITE, DEMO_GATE, CredentialKind.PIN, DEMO_PIN,
                subject_id=subject_id, actor=DEMO_ACTOR,
            )  # fmt: skip
            return f"{decision.outcome.value}: {decision.reason.value}"

        return run

    def record_assessment(self) -> Callable[[], str]:
        def run() -> str:
            self.store.assessments.record(
                DEMO_SITE,
                "Demo privacy officer",
                "Impact assessment of gate face recognition: purpose limited to entry, "
                "templates only, on-site storage, non-face credentials on every gate.",
                actor=DEMO_ACTOR,
            )
            return "recorded"

        return run

    def add_resident(self, name: str, consent: bool) -> str:
        subject = self.store.add_subject(DEMO_SITE, name, SubjectKind.RESIDENT, actor=DEMO_ACTOR)
        if consent:
            self.give_consent(subject.id, name)
        return subject.id

    def give_consent(self, subject_id: str, name: str) -> None:
        self.store.consents.record(
            subject_id,
            DEMO_NOTICE_VERSION,
            ConsentMethod.E_SIGNATURE,
            f"demo-esign:{subject_id[:8]}",
            given_by=name,
            actor=DEMO_ACTOR,
        )


def run_demo(store: Store, decider: FaceDecider) -> list[DemoStep]:
    """Build the demo site and return what happened at each step (faces decided by
    ``decider``, as at a gate)."""
    fresh = DEMO_SITE not in {s.code for s in store.list_sites()}
    if fresh:
        site = store.create_site(
            DEMO_SITE, "Demo community / 演示小区", operator=DEMO_OPERATOR, actor=DEMO_ACTOR
        )
        notice = starter_notice(site.name, DEMO_OPERATOR, DEMO_CONTACT)
        store.notices.publish(DEMO_SITE, DEMO_NOTICE_VERSION, notice, actor=DEMO_ACTOR)
        # Every door takes a non-face credential too: a face-only one is refused.
        store.gates.configure(
            DEMO_SITE, DEMO_GATE, "Main gate / 小区大门",
            accepts_face=True, accepts_card=True, accepts_pin=True, accepts_otp=True,
            liveness=DEMO_GATE_LIVENESS, actor=DEMO_ACTOR,
        )  # fmt: skip
    # Each run starts from an empty community; earlier residents leave by normal deletion.
    for earlier in store.list_subjects(DEMO_SITE):
        store.delete_subject(earlier.id, DeletionReason.REQUEST, DEMO_ACTOR)
    act = _Actions(store, decider)
    face = astronaut()
    face_png = encode_png(face)
    blurred_png = encode_png(np.asarray(Image.fromarray(face).filter(ImageFilter.GaussianBlur(3))))
    mirrored_png = encode_png(np.ascontiguousarray(face[:, ::-1]))

    eileen = act.add_resident("Eileen (astronaut)", consent=False)
    steps = []
    if fresh:
        steps += [
            _attempt(
                "enroll before an impact assessment",
                "refused: assessment_required",
                act.enroll(eileen, face_png),
            ),
            _attempt("record the impact assessment", "recorded", act.record_assessment()),
        ]
    steps.append(
        _attempt(
            "enroll before any consent", "refused: consent_required", act.enroll(eileen, face_png)
        )
    )
    act.give_consent(eileen, "Eileen")
    steps += [
        _attempt(
            "enroll a blurred photo", "refused: poor_quality", act.enroll(eileen, blurred_png)
        ),
        _attempt("enroll a sharp photo", "enrolled 1", act.enroll(eileen, face_png)),
        _attempt("verify Eileen, mirrored photo", "match", act.verify(eileen, mirrored_png)),
        _attempt(
            "verify a photo with no face",
            "refused: no_face",
            act.verify(eileen, encode_png(no_face())),
        ),
    ]
    shared = _lfw_root()
    photos_of: dict[str, list[Path]] = {}
    if shared is not None:
        with act.decider.pipelines.borrow() as pipeline:
            for person in (*LFW_PEOPLE, LFW_STRANGER):
                photos_of[person] = _one_face_photos(shared, person, pipeline)
        if any(len(found) < ENROLLED_PHOTOS + 2 for found in photos_of.values()):
            shared = None
    if shared is not None:
        ids = {}
        for person in LFW_PEOPLE:
            ids[person] = act.add_resident(person.replace("_", " "), consent=True)
            photos = [photos_of[person][k] for k in range(ENROLLED_PHOTOS)]
            steps.append(
                _attempt(
                    f"enroll {person}, {ENROLLED_PHOTOS} photos",
                    f"enrolled {ENROLLED_PHOTOS}",
                    act.enroll(ids[person], *photos),
                )
            )
        first, second = LFW_PEOPLE[0], LFW_PEOPLE[1]
        steps += [
            _attempt(
                f"verify {first}, another photo",
                "match",
                act.verify(ids[first], photos_of[first][ENROLLED_PHOTOS], LFW_LIVENESS),
            ),
            _attempt(
                f"verify {first}'s claim with {second}'s face",
                "no_match",
                act.verify(ids[first], photos_of[second][ENROLLED_PHOTOS], LFW_LIVENESS),
            ),
            _attempt(
                f"identify {second}, another photo",
                f"identified as {second.replace('_', ' ')}",
                act.identify(photos_of[second][ENROLLED_PHOTOS + 1], LFW_LIVENESS),
            ),
            _attempt(
                f"identify {LFW_STRANGER} (never enrolled)",
                "unknown",
                act.identify(photos_of[LFW_STRANGER][0], LFW_LIVENESS),
            ),
        ]
    # Declining face recognition never removes entry: same gate, with a PIN.
    wang = act.add_resident("Wang (declines face recognition)", consent=False)
    store.credentials.set_pin(wang, DEMO_PIN, DEMO_ACTOR)
    steps.append(_attempt("Wang enters the main gate with a PIN", "open: ok", act.pin_entry(wang)))
    steps += [
        _attempt("Eileen withdraws her consent", "withdrawn, 1 erased", act.withdraw(eileen)),
        _attempt(
            "verify Eileen after withdrawal",
            "refused: consent_required",
            act.verify(eileen, face_png),
        ),
        _attempt("Eileen asks for deletion", DELETED_AFTER_WITHDRAWAL, act.delete(eileen)),
        _attempt(
            "verify Eileen after deletion", "refused: not_found", act.verify(eileen, face_png)
        ),
        _attempt(
            "verify the audit chain",
            "intact",
            lambda: "intact" if store.verify_audit().ok else "broken",
        ),
    ]
    return steps
