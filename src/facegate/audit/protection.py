"""Template protection (ISO/IEC 24745), measured: unlinkability, irreversibility, accuracy cost.

The schemes are the runtime's (:mod:`facegate.matching.protection`); plain templates are the
baseline. Site secrets here are drawn from ``seed`` (an audit needs no real key).

* Unlinkability: Gomez-Barrero et al. 2018 ("General framework to evaluate unlinkability in
  biometric template protection systems", IEEE TIFS 13(6)): the local measure ``D↔(s)`` from
  the mated and non-mated score densities (histograms, ``omega = 1``) and the global
  ``D↔sys = ∫ p(s|mated) D↔(s) ds`` (0: unlinkable, 1: fully linkable). Mated: two different
  images of one person, one protected under each key; non-mated: images of two people. The
  linking score is the scheme's own comparator; for ``orthonormal`` also an attacker who
  aligns the two protected galleries' covariance eigenvectors (no key, no known pairs).
* Irreversibility: least-squares reconstruction of plain templates from protected ones with
  ``k`` known (plain, protected) pairs, and without pairs (``orthonormal``: covariance
  alignment to the attacker's own plain faces; ``sign``: the population mean). Reported: cosine
  to the true template and how often the reconstruction matches another image of the person at
  the door's threshold (usable as a plain template elsewhere).
* Accuracy: thresholds for the door's target FMR calibrated on one half of the people and
  FNMR/FMR reported on the other half (split by identity, seeded).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from facegate.audit.data import AuditData
from facegate.audit.fairness import threshold_for_fmr
from facegate.audit.stats import Rate
from facegate.matching import operating_point, score
from facegate.matching.protection import (
    DEFAULT_SIGN_BITS,
    SECRET_BYTES,
    ProtectionScheme,
    TemplateProtector,
)

#: Histogram bins of the score densities for D↔ (the paper's reference code uses 100).
UNLINKABILITY_BINS = 100
#: Prior ratio P(mated)/P(non-mated) in D↔(s); 1 as in the paper's evaluations.
OMEGA = 1.0
#: Known (plain, protected) pairs given to the reconstruction attacker.
KNOWN_PAIRS = (16, 64, 128, 256, 512)
#: Ridge penalties the attacker tries, relative to the mean eigenvalue of ``YᵀY`` (plain least
#: squares overfits when ``k`` is near the protected width); the attacker picks one on a fifth
#: of their own known pairs, never on the attacked templates.
RIDGES = (1e-3, 1e-2, 1e-1, 1.0)
UNPROTECTED = "unprotected"

NOT_TESTED = [
    "non-linear or learned inversion (e.g. a network trained on many known pairs)",
    "hill-climbing or decision-only attacks on a protected matcher",
    "linking with auxiliary face images of the person (attacker embeds and protects guesses)",
    "an attacker holding the site secret (both schemes are then fully reversible or linkable "
    "by construction)",
    "side channels and the security of the key's storage (the site key is outside this audit)",
    "covariance alignment against the sign scheme",
]

Comparator = Callable[[NDArray[np.floating], NDArray[np.floating]], NDArray[np.float64]]


@dataclass(frozen=True, slots=True)
class _Split:
    embeddings: NDArray[np.float64]
    person: NDArray[np.int64]
    calibration: NDArray[np.bool_]


def audit_template_protection(data: AuditData, *, seed: int = 0) -> dict[str, Any]:
    """The ``template_protection`` section of ``security.json`` (method: module docstring)."""
    target = operating_point(data.registry.entry(data.model), data.point).target_fmr
    split = _split(data, seed)
    rng = np.random.default_rng(seed)
    secret_a, secret_b = rng.bytes(SECRET_BYTES), rng.bytes(SECRET_BYTES)
    site_a = {s: TemplateProtector(secret_a, site_id="site-a", scheme=s) for s in ProtectionScheme}
    site_b = {s: TemplateProtector(secret_b, site_id="site-b", scheme=s) for s in ProtectionScheme}
    x = split.embeddings
    same = split.person[:, None] == split.person[None, :]
    mated = same & ~np.eye(len(x), dtype=bool)
    non_mated = ~same

    def linkage(scores: NDArray[np.float64]) -> dict[str, Any]:
        return unlinkability(scores[mated], scores[non_mated])

    across: dict[str, Any] = {UNPROTECTED: linkage(score(x, x))}
    renewal: dict[str, Any] = {}
    for scheme in ProtectionScheme:
        a, b = site_a[scheme], site_b[scheme]
        across[scheme.value] = linkage(a.score(a.protect(x), b.protect(x)))
        renewed = a.renewed()
        renewal[scheme.value] = linkage(a.score(a.protect(x), renewed.protect(x)))
    across["orthonormal_gallery_alignment"] = _alignment_linkage(
        site_a[ProtectionScheme.ORTHONORMAL], site_b[ProtectionScheme.ORTHONORMAL], split
    )
    return {
        "schemes": [UNPROTECTED, *(s.value for s in ProtectionScheme)],
        "sign_bits": DEFAULT_SIGN_BITS,
        "people": int(np.unique(split.person).size),
        "templates": len(x),
        "unlinkability": {
            "measure": "Gomez-Barrero et al. 2018, D<->sys in [0, 1] (0 unlinkable)",
            "omega": OMEGA,
            "bins": UNLINKABILITY_BINS,
            "mated": "two different images of one person, one under each key",
            "non_mated": "images of two different people, one under each key",
            "across_sites": across,
            "renewal_v1_v2": renewal,
        },
        "irreversibility": _irreversibility(site_a, split, data.threshold, seed),
        "accuracy": _accuracy(site_a, split, target),
    }


def unlinkability(
    mated: NDArray[np.floating], non_mated: NDArray[np.floating], *, bins: int = UNLINKABILITY_BINS
) -> dict[str, Any]:
    """Gomez-Barrero et al. 2018: local ``D↔(s)`` per score bin and global ``D↔sys``.

    ``D↔(s) = 2 · ωLR(s) / (1 + ωLR(s)) − 1`` where ``ωLR(s) > 1`` (else 0), with
    ``LR = p(s|mated) / p(s|non-mated)`` from histograms on a shared range (a bin with mated
    but no non-mated scores counts as fully linkable, 1).
    """
    m = np.asarray(mated, dtype=np.float64)
    n = np.asarray(non_mated, dtype=np.float64)
    if m.size == 0 or n.size == 0:
        return {"d_sys": None, "n_mated": int(m.size), "n_non_mated": int(n.size)}
    low, high = float(min(m.min(), n.min())), float(max(m.max(), n.max()))
    edges = np.linspace(low, high if high > low else low + 1e-9, bins + 1)
    p_mated, _ = np.histogram(m, edges, density=True)
    p_non, _ = np.histogram(n, edges, density=True)
    ratio = np.divide(OMEGA * p_mated, p_non, out=np.full(bins, np.inf), where=p_non > 0)
    finite = np.where(np.isfinite(ratio), ratio, 0.0)
    local = np.where(finite > 1.0, 2.0 * finite / (1.0 + finite) - 1.0, 0.0)
    local[np.isinf(ratio) & (p_mated > 0)] = 1.0
    local[(p_mated == 0) & (p_non == 0)] = 0.0
    d_sys = float(np.sum(local * p_mated * np.diff(edges)))
    centres = (edges[:-1] + edges[1:]) / 2.0
    return {
        "d_sys": round(d_sys, 4),
        "n_mated": int(m.size),
        "n_non_mated": int(n.size),
        "d_local": [
            [round(float(s), 4), round(float(d), 4)] for s, d in zip(centres, local, strict=True)
        ],
    }


def covariance_alignment(
    source: NDArray[np.floating], target: NDArray[np.floating]
) -> NDArray[np.float64]:
    """A ``(d, d)`` matrix ``M`` mapping ``target``-space vectors into ``source`` space.

    Eigenvectors of the two sets' covariances are paired by rank; each pair's sign is chosen
    so the third moments of the projections agree. Recovers an unknown rotation between two
    samples of one distribution (no correspondences needed) when eigenvalues are distinct.
    """
    u_s = _eigenvectors(source)
    u_t = _eigenvectors(target)
    signs = np.sign(_skew(source, u_s)) * np.sign(_skew(target, u_t))
    signs[signs == 0] = 1.0
    aligned: NDArray[np.float64] = (u_s * signs[np.newaxis, :]) @ u_t.T
    return aligned


def _eigenvectors(x: NDArray[np.floating]) -> NDArray[np.float64]:
    values, vectors = np.linalg.eigh(np.cov(np.asarray(x, np.float64), rowvar=False))
    ordered: NDArray[np.float64] = vectors[:, np.argsort(values)[::-1]]
    return ordered


def _skew(x: NDArray[np.floating], vectors: NDArray[np.float64]) -> NDArray[np.float64]:
    centred = np.asarray(x, np.float64) - np.mean(x, axis=0)
    third: NDArray[np.float64] = np.mean((centred @ vectors) ** 3, axis=0)
    return third


def _split(data: AuditData, seed: int) -> _Split:
    people = sorted({s.identity for s in data.samples})
    order = np.random.default_rng(seed).permutation(len(people))
    calibration_people = {people[i] for i in order[: len(people) // 2]}
    index = {p: i for i, p in enumerate(people)}
    return _Split(
        embeddings=data.embeddings().astype(np.float64),
        person=np.array([index[s.identity] for s in data.samples], dtype=np.int64),
        calibration=np.array([s.identity in calibration_people for s in data.samples]),
    )


def _alignment_linkage(a: TemplateProtector, b: TemplateProtector, split: _Split) -> dict[str, Any]:
    """Orthonormal templates, linked after aligning the covariances of two leaked galleries.

    Site A holds each person's even-numbered images, site B the odd-numbered ones (the same
    people enrolled from different photos); mated pairs are one image from each site.
    """
    rank = np.zeros(len(split.person), dtype=np.int64)
    seen: dict[int, int] = {}
    for i, p in enumerate(split.person):
        rank[i] = seen.get(int(p), 0)
        seen[int(p)] = rank[i] + 1
    at_a, at_b = rank % 2 == 0, rank % 2 == 1
    ya, yb = a.protect(split.embeddings[at_a]), b.protect(split.embeddings[at_b])
    mapping = covariance_alignment(ya, yb)
    scores = score(yb @ mapping.T, ya)
    same = split.person[at_b][:, None] == split.person[at_a][None, :]
    result = unlinkability(scores[same], scores[~same])
    result["attacker"] = (
        "both leaked protected galleries (same people, different images), no key, no pairs"
    )
    return result


def _reconstruction(
    estimate: NDArray[np.float64],
    split: _Split,
    test: NDArray[np.bool_],
    threshold: float,
) -> dict[str, Any]:
    truth = split.embeddings[test]
    unit = estimate / np.maximum(np.linalg.norm(estimate, axis=1, keepdims=True), 1e-12)
    cosine = np.sum(unit * truth, axis=1) / np.maximum(np.linalg.norm(truth, axis=1), 1e-12)
    # Usable elsewhere: the reconstruction matches ANOTHER image of the same person.
    scores = score(unit, split.embeddings)
    idx = np.flatnonzero(test)
    other = (split.person[idx][:, None] == split.person[None, :]) & (
        idx[:, None] != np.arange(len(split.person))[None, :]
    )
    has_other = other.any(1)
    hits = int(np.sum((np.where(other, scores, -np.inf).max(1) >= threshold)[has_other]))
    matches = Rate(hits, int(has_other.sum()))
    return {
        "cosine_mean": round(float(cosine.mean()), 4),
        "cosine_quartiles": [round(float(q), 4) for q in np.percentile(cosine, [25, 50, 75])],
        "matches_other_image": round(matches.value, 4),
        "matches_ci95": [round(v, 4) for v in matches.ci95],
        "n": matches.n,
    }


def _attacker_fit(
    y: NDArray[np.float64], x: NDArray[np.float64], rng: np.random.Generator
) -> NDArray[np.float64]:
    """Ridge map protected → plain, its penalty chosen on a held-out fifth of the known pairs."""
    order = rng.permutation(len(y))
    held, fit = order[: max(1, len(y) // 5)], order[max(1, len(y) // 5) :]

    def held_cosine(ridge: float) -> float:
        guess = y[held] @ _ridge(y[fit], x[fit], ridge)
        norms = np.linalg.norm(guess, axis=1) * np.linalg.norm(x[held], axis=1)
        return float(np.mean(np.sum(guess * x[held], axis=1) / np.maximum(norms, 1e-12)))

    best = max(RIDGES, key=held_cosine)
    return _ridge(y, x, best)


def _ridge(y: NDArray[np.float64], x: NDArray[np.float64], ridge: float) -> NDArray[np.float64]:
    """``M`` minimising ``|y M − x|² + λ|M|²`` with ``λ = ridge · trace(yᵀy) / width``."""
    gram = y.T @ y
    penalty = ridge * float(np.trace(gram)) / gram.shape[0]
    mapping: NDArray[np.float64] = np.linalg.solve(gram + penalty * np.eye(gram.shape[0]), y.T @ x)
    return mapping


def _irreversibility(
    protectors: dict[ProtectionScheme, TemplateProtector],
    split: _Split,
    threshold: float,
    seed: int,
) -> dict[str, Any]:
    """Attacker's known pairs come from the calibration half; the report half is attacked."""
    rng = np.random.default_rng(seed + 1)
    known_pool = np.flatnonzero(split.calibration)
    test = ~split.calibration
    x = split.embeddings
    result: dict[str, Any] = {
        "attacker": "the protected gallery plus k known (plain, protected) pairs of other "
        "people (e.g. own enrolments); ridge regression, penalty chosen on own held-out pairs",
        "not_tested": NOT_TESTED,
    }
    for scheme, protector in protectors.items():
        y = protector.protect(x).astype(np.float64)
        rows = []
        for k in KNOWN_PAIRS:
            if k > known_pool.size:
                continue
            known = rng.choice(known_pool, k, replace=False)
            mapping = _attacker_fit(y[known], x[known], rng)
            rows.append({"k": k, **_reconstruction(y[test] @ mapping, split, test, threshold)})
        if scheme is ProtectionScheme.ORTHONORMAL:
            # The attacker's own plain faces (calibration half) against the leaked gallery.
            mapping = covariance_alignment(x[split.calibration], y[test])
            blind = _reconstruction(y[test] @ mapping.T, split, test, threshold)
            blind["attacker"] = "covariance alignment to own plain faces, no pairs"
        else:
            mean = np.tile(x[split.calibration].mean(0), (int(test.sum()), 1))
            blind = _reconstruction(mean, split, test, threshold)
            blind["attacker"] = "population mean template, no pairs"
        result[scheme.value] = {"known_pairs": rows, "no_pairs": blind}
    return result


def _accuracy(
    protectors: dict[ProtectionScheme, TemplateProtector], split: _Split, target: float
) -> dict[str, Any]:
    x = split.embeddings
    comparators: dict[str, tuple[Comparator, NDArray[np.float64]]] = {UNPROTECTED: (score, x)}
    for scheme, protector in protectors.items():
        comparators[scheme.value] = (protector.score, protector.protect(x).astype(np.float64))
    halves = {"calibration": split.calibration, "report": ~split.calibration}
    result: dict[str, Any] = {
        "split": "people split in two halves by identity (seeded); thresholds from the "
        "calibration half's impostor pairs, rates on the report half",
        "target_fmr": target,
        "people": {h: int(np.unique(split.person[m]).size) for h, m in halves.items()},
    }
    for name, (compare, templates) in comparators.items():
        pairs = {h: _pair_scores(compare, templates[m], split.person[m]) for h, m in halves.items()}
        threshold = threshold_for_fmr(pairs["calibration"][1], target)
        genuine, impostor = pairs["report"]
        row: dict[str, Any] = {
            "threshold": threshold,
            "calibration_impostor_pairs": int(pairs["calibration"][1].size),
            "report_genuine_pairs": int(genuine.size),
            "report_impostor_pairs": int(impostor.size),
        }
        if threshold is not None:
            fnmr = Rate(int(np.sum(genuine < threshold)), int(genuine.size))
            fmr = Rate(int(np.sum(impostor >= threshold)), int(impostor.size))
            row |= {
                "fnmr": fnmr.value,
                "fnmr_ci95": list(fnmr.ci95),
                "fmr": fmr.value,
                "fmr_ci95": list(fmr.ci95),
            }
        result[name] = row
    result["note"] = (
        "Wilson intervals treat pairs as independent; pairs of one person are correlated, "
        "so the intervals are optimistic"
    )
    return result


def _pair_scores(
    compare: Comparator, templates: NDArray[np.float64], person: NDArray[np.int64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(genuine, impostor) scores over unordered pairs of ``templates``."""
    scores = compare(templates, templates)
    upper = np.triu(np.ones(scores.shape, dtype=bool), k=1)
    same = person[:, None] == person[None, :]
    return scores[upper & same], scores[upper & ~same]
