"""Decision-only attacks on the gate: HopSkipJump impersonation (model theft by queries) and
brute force with random faces, against the rate limits and the probe detector.

A gate answers open or refuse, never a score. HopSkipJump (ART) needs only that: starting
from a photo of the victim that the gate opens for, it walks towards the attacker's own face
while the gate keeps opening, so the image ends up looking like the attacker (or any face
the attacker chooses) yet opening for the victim. Every query goes through the shipped
engine and the door's threshold. The attack succeeds when it holds an opening image within
``rms_budget`` of the attacker's face (root-mean-square pixel difference, 0..255).

The defences are replayed on the attack's own queries: the device rate limit turns queries
into minutes at the door, and the probe detector (:mod:`facegate.gate.probe`) sees the
queried faces' embeddings and the gate's refusals in order, and holds the device when it
trips; queries after that are lost to the attacker.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from facegate.api.ratelimit import DEVICE_FACES
from facegate.audit.data import AuditData, AuditSample
from facegate.audit.schema import AttackResult, DefenceResult
from facegate.audit.stats import Rate, rate
from facegate.gate.probe import DEFAULT_PROBE_LIMITS, ProbeDetector
from facegate.matching.score import score
from facegate.vision.sface import SFACE_CHIP_SIZE

#: Query counts at which the success curve is read.
CHECKPOINTS = (100, 300, 1000, 3000, 10000)


@dataclass(frozen=True, slots=True)
class BlackBoxBudget:
    attacks: int = 6
    max_queries: int = 2000
    #: RMS pixel distance (0..255) to the attacker's face at which the image "is" the
    #: attacker: 16 is visible noise over the attacker's own face, far from the victim's
    #: (a victim's and an attacker's chips are 40–80 apart).
    rms_budget: float = 16.0
    #: How long the attacker can stand at the door, in minutes (the rate limit's effect).
    minutes_at_door: float = 10.0


SMOKE_BLACKBOX = BlackBoxBudget(attacks=2, max_queries=200)


@dataclass(slots=True)
class _Trace:
    """Every query in order: whether the gate opened, the queried face's embedding, and the
    best opening image's RMS distance to the attacker so far."""

    opened: list[bool] = field(default_factory=list)
    embeddings: list[NDArray[np.float32]] = field(default_factory=list)
    best_rms: list[float] = field(default_factory=list)

    def queries_to(self, budget: float) -> int | None:
        for k, value in enumerate(self.best_rms, start=1):
            if value <= budget:
                return k
        return None


class _Gate:
    """The decision the attacker sees for an aligned chip: open (1) or refuse (0)."""

    def __init__(
        self, data: AuditData, victim: NDArray[np.float32], attacker: NDArray[np.uint8], limit: int
    ) -> None:
        self.data = data
        self.victim = victim
        self.attacker = attacker.astype(np.float64)
        self.trace = _Trace()
        self.limit = limit

    def predict(self, batch: NDArray[Any]) -> NDArray[np.float32]:
        out = np.zeros((len(batch), 2), np.float32)
        for k, x in enumerate(batch):
            chip = np.clip(np.rint(np.asarray(x).transpose(1, 2, 0)), 0, 255).astype(np.uint8)
            emb = self.data.embed_chip(chip)
            opened = self.data.score(emb, self.victim) >= self.data.threshold
            out[k, int(opened)] = 1.0
            if len(self.trace.opened) >= self.limit:
                continue  # ART's own bookkeeping beyond the budget: not counted
            rms = float(np.sqrt(np.mean((chip - self.attacker) ** 2))) if opened else np.inf
            best = min(self.trace.best_rms[-1] if self.trace.best_rms else np.inf, rms)
            self.trace.opened.append(opened)
            self.trace.embeddings.append(emb)
            self.trace.best_rms.append(best)
        return out


def _hop_skip_jump(
    gate: _Gate, attacker: NDArray[np.uint8], victim_chip: NDArray[np.uint8], max_queries: int
) -> None:
    from art.attacks.evasion import HopSkipJump
    from art.estimators.classification import BlackBoxClassifier

    classifier = BlackBoxClassifier(
        gate.predict,
        input_shape=(3, SFACE_CHIP_SIZE, SFACE_CHIP_SIZE),
        nb_classes=2,
        clip_values=(0.0, 255.0),
    )
    # Each iteration costs about max_eval + ~20 binary-search queries.
    iterations = max(1, max_queries // 120)
    attack = HopSkipJump(
        classifier,
        targeted=True,
        norm=2,
        max_iter=iterations,
        max_eval=100,
        init_eval=20,
        init_size=20,
        verbose=False,
    )
    x = attacker.transpose(2, 0, 1)[None].astype(np.float32)
    init = victim_chip.transpose(2, 0, 1)[None].astype(np.float32)
    attack.generate(x=x, y=np.array([[0.0, 1.0]], np.float32), x_adv_init=init)


def _probe_stop(trace: _Trace, device: str) -> int | None:
    """The query at which the probe detector holds the device, replaying at the rate limit."""
    seconds_per_query = DEVICE_FACES.per_seconds / DEVICE_FACES.events
    clock = [0.0]
    detector = ProbeDetector(clock=lambda: clock[0])
    for k, (opened, emb) in enumerate(zip(trace.opened, trace.embeddings, strict=True), start=1):
        clock[0] = k * seconds_per_query
        verdict = detector.observe(device, emb, refused=not opened)
        if verdict.held:
            return k
    return None


def _pairs(
    data: AuditData, count: int, seed: int
) -> list[tuple[AuditSample, AuditSample, AuditSample]]:
    """(attacker's face, victim's photo the attacker holds, victim's enrolled template)."""
    groups = [g for g in data.by_identity().values() if len(g) >= 2]
    rng = random.Random(seed + 1)
    rng.shuffle(groups)
    out = []
    for k in range(min(count, len(groups))):
        attacker = groups[k]
        victim = groups[(k + 1) % len(groups)]
        if data.score(victim[0].embedding, victim[1].embedding) >= data.threshold:
            out.append((attacker[0], victim[0], victim[1]))
    return out


def audit_decision_only(
    data: AuditData, budget: BlackBoxBudget = BlackBoxBudget(), *, seed: int = 0
) -> AttackResult:
    pairs = _pairs(data, budget.attacks, seed)
    if not pairs:
        raise ValueError("decision-only attack needs people with two matching faces")
    traces: list[_Trace] = []
    for attacker, victim_photo, victim_template in pairs:
        gate = _Gate(data, victim_template.embedding, attacker.chip, budget.max_queries)
        _hop_skip_jump(gate, attacker.chip, victim_photo.chip, budget.max_queries)
        traces.append(gate.trace)
    needed = [t.queries_to(budget.rms_budget) for t in traces]
    undefended = rate([q is not None for q in needed])
    at_door = int(budget.minutes_at_door * 60 * DEVICE_FACES.events / DEVICE_FACES.per_seconds)
    limited = rate([q is not None and q <= at_door for q in needed])
    stops = [_probe_stop(t, f"device-{k}") for k, t in enumerate(traces)]
    # A paced attacker keeps under the detector: count − 1 near-identical refusals a window.
    limits = DEFAULT_PROBE_LIMITS
    paced_per_door = int((limits.count - 1) * budget.minutes_at_door * 60 / limits.window_s)
    paced_per_day = (limits.count - 1) * 86400 / limits.window_s
    # Within the time at the door: the unpaced attack until the detector holds the device,
    # or the paced attack's share of the door time, whichever gets further.
    probed = rate(
        [
            q is not None and (q <= paced_per_door or (q <= at_door and (s is None or q < s)))
            for q, s in zip(needed, stops, strict=True)
        ]
    )
    checkpoints = [c for c in CHECKPOINTS if c <= budget.max_queries] + [budget.max_queries]
    curve = {str(c): rate([q is not None and q <= c for q in needed]).value for c in checkpoints}
    distortion = {
        str(c): _median([t.best_rms[min(c, len(t.best_rms)) - 1] for t in traces if t.best_rms])
        for c in checkpoints
    }
    queries_per_minute = DEVICE_FACES.events * 60 / DEVICE_FACES.per_seconds
    return AttackResult(
        name="theft_decision_only_impersonation",
        goal="synthesise a face that looks like the attacker yet opens the gate as an enrolled "
        "resident, from decisions alone",
        access="black-box: open/refuse decisions of one gate device; a photo of the victim",
        budget=f"HopSkipJump (ART, L2), ≤ {budget.max_queries} queries; success at RMS ≤ "
        f"{budget.rms_budget:g}/255 from the attacker's face",
        n=undefended.n,
        success_undefended=undefended.value,
        ci95=undefended.ci95,
        defences=[
            DefenceResult.of(
                "rate_limit_device_faces",
                limited,
                f"none for residents ({DEVICE_FACES.events} faces per device per "
                f"{DEVICE_FACES.per_seconds:g} s); the attacker gets {at_door} queries in "
                f"{budget.minutes_at_door:g} min at the door",
                cost_fnmr=0.0,
                detail={"queries_at_door": at_door},
            ),
            DefenceResult.of(
                "probe_detector",
                probed,
                "an incident and a held face channel for the device; cards and PINs still "
                f"open. A paced attacker (≤ {limits.count - 1} near-identical refusals per "
                f"{limits.window_s:g} s) is never held but gets {paced_per_day:,.0f} queries a day",
                cost_fnmr=0.0,
                exercised=any(s is not None for s in stops),
                detail={
                    "tripped_at_query": list(stops),
                    "paced_queries_per_day": paced_per_day,
                    "paced_days_to_success": [
                        None if q is None else q / paced_per_day for q in needed
                    ],
                },
            ),
        ],
        detail={
            "queries_to_success": needed,
            "rms_budget": budget.rms_budget,
            "success_by_queries": curve,
            "median_rms_by_queries": distortion,
            "median_queries_to_success": _median([q for q in needed if q is not None]),
            "minutes_at_rate_limit": _median(
                [q / queries_per_minute for q in needed if q is not None]
            ),
        },
    )


def _median(values: Sequence[float]) -> float | None:
    return float(np.median(values)) if values else None


def audit_brute_force(
    data: AuditData, *, minutes_at_door: float = 10.0, seed: int = 0
) -> AttackResult:
    """Strangers' faces at a 1:N gate: how often one opens for *someone*.

    Half the people (by identity, seeded) are enrolled with one template each; every face
    of the other half is a stranger's attempt. Undefended: judged at the 1:1 threshold, as a
    matcher that ignores the gallery's size would. The shipped gate's defence is its 1:N
    threshold, raised with the gallery size (``CalibratedMatcher``); the rate limit sets how
    many attempts a session at the door gets (in ``detail``, with the expected time).
    """
    people = sorted(data.by_identity().items())
    random.Random(seed).shuffle(people)
    half = len(people) // 2
    enrolled, strangers = people[:half], people[half:]
    if not enrolled or not strangers:
        raise ValueError("brute force needs at least two people")
    gallery = np.stack([faces[0].embedding for _, faces in enrolled]).astype(np.float64)
    attempts = np.asarray([s.embedding for _, faces in strangers for s in faces], np.float64)
    best = np.max(score(attempts, gallery), axis=1)
    opened = rate(list(best >= data.threshold))
    threshold_1n = data.gallery_threshold(len(gallery))
    opened_1n = rate(list(best >= threshold_1n))
    per_minute = DEVICE_FACES.events * 60 / DEVICE_FACES.per_seconds
    at_door = int(minutes_at_door * per_minute)

    def minutes_per_opening(r: Rate) -> float | None:
        return None if r.value == 0 else 1.0 / r.value / per_minute

    return AttackResult(
        name="brute_force_any_resident",
        goal="open a 1:N gate as anyone, by presenting many strangers' faces",
        access="black-box: a gate device, a supply of face photos",
        budget=f"{opened.n} stranger faces against {len(gallery)} enrolled people, one try each",
        n=opened.n,
        success_undefended=opened.value,
        ci95=opened.ci95,
        defences=[
            DefenceResult.of(
                "gallery_size_threshold",
                opened_1n,
                f"the 1:N threshold for {len(gallery)} templates ({threshold_1n:.3f} against "
                f"{data.threshold:.3f} at 1:1) refuses some genuine residents too",
            )
        ],
        detail={
            "gallery": len(gallery),
            "operating_point": data.point.value,
            "faces_per_session_at_rate_limit": at_door,
            "minutes_per_opening_at_rate_limit": {
                "undefended": minutes_per_opening(opened),
                "gallery_size_threshold": minutes_per_opening(opened_1n),
            },
        },
    )
