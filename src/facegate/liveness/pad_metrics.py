"""ISO/IEC 30107-3 presentation-attack detection (PAD) metrics and DET plots, in pure numpy.

Conventions used throughout:

* A PAD score is higher for "more likely bona fide" (a live person). A presentation is
  *accepted as bona fide* when ``score >= threshold``: ties at the threshold are accepted.
  Raising the threshold is stricter (lower APCER, higher BPCER).
* Every presentation carries a species label: ``BONA_FIDE`` for a live person, otherwise the
  name of its presentation-attack instrument (PAI) species, e.g. ``"print"``, ``"replay"``.
* APCER is computed per species and the worst species is reported (30107-3's APCER of the
  most successful PAI species), so one weak species is never hidden in a pooled average.
* Scores are 1-D, converted to ``float64`` and must be finite: a presentation the detector
  could not process is a separate outcome for the caller to count, not a score.
* Empty input, ``nan`` or infinite scores, and a missing class (no bona fide presentation
  where BPCER is needed, no attack where APCER is needed) raise ``ValueError``.

Example::

    >>> scores = [0.3, 0.5, 0.8, 0.9, 0.1, 0.4, 0.6, 0.2, 0.7]
    >>> species = ["bona_fide"] * 4 + ["print"] * 3 + ["replay"] * 2
    >>> r = pad_report(scores, species, threshold=0.5)
    >>> r.worst_species, r.apcer_max, r.bpcer, r.acer
    ('replay', 0.5, 0.25, 0.375)
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from facegate.bench.metrics import threshold_at_fmr
from facegate.bench.report import atomic_write, require_plotting, to_jsonable

FloatArray = npt.NDArray[np.float64]

#: Species label of a bona fide (live) presentation; every other label names an attack species.
BONA_FIDE = "bona_fide"

#: APCER ceilings at which BPCER is reported. 30107-3 recommends BPCER at a fixed APCER
#: (BPCER20 = BPCER at APCER 5 %, BPCER100 = at 1 %); issue 5 asks for both.
APCER_TARGETS: tuple[float, ...] = (0.01, 0.05)

# DET axis ticks (rates, not %), normal-deviate spaced as on ISO/NIST DET plots; sparse in the
# tail, where labels would collide. The lower limit is the largest tick at or below 1/n (no
# smaller rate can be observed), the upper one leaves room for weak per-species curves.
_DET_TICKS = (1e-5, 1e-4, 1e-3, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8)
_DET_MAX = 0.8
_DET_MARKERS = ("o", "s", "^", "D", "v", "P")
_STANDARD_NORMAL = statistics.NormalDist()


@dataclass(frozen=True, slots=True)
class BpcerAtApcer:
    """BPCER at ``threshold = threshold_at_apcer(scores, species, target_apcer)``.

    ``apcer_max`` is the worst-species APCER actually achieved there (always
    ``<= target_apcer``). ``resolvable`` is False when some attack species has fewer than
    ``1 / target_apcer`` presentations: not even one of them may be accepted, so the
    threshold is set by that species' top score alone. The numbers are still reported.
    """

    target_apcer: float
    threshold: float
    apcer_max: float
    bpcer: float
    resolvable: bool


@dataclass(frozen=True, slots=True)
class PadReport:
    """ISO/IEC 30107-3 metrics at one operating threshold (see ``pad_report``).

    * ``apcer``: per attack species, the proportion of its presentations accepted as bona
      fide, keyed by species name in sorted order.
    * ``worst_species`` / ``apcer_max``: the species with the highest APCER and that APCER
      (30107-3's APCER of the most successful PAI species); ties go to the first name.
    * ``bpcer``: proportion of bona fide presentations rejected.
    * ``acer``: ``(apcer_max + bpcer) / 2``. Not a 30107-3 metric (the standard reports
      APCER and BPCER separately); kept because competitions and issue 5 quote it.
    * ``bpcer_at_apcer``: one ``BpcerAtApcer`` per APCER target, ascending.
    * ``eer``: where the worst-species APCER and the BPCER curves cross (``DetCurve.eer``),
      independent of ``threshold``.
    * ``counts``: presentations per species, ``BONA_FIDE`` included.
    """

    threshold: float
    apcer: Mapping[str, float]
    worst_species: str
    apcer_max: float
    bpcer: float
    acer: float
    bpcer_at_apcer: tuple[BpcerAtApcer, ...]
    eer: float
    counts: Mapping[str, int]

    def at_apcer(self, target_apcer: float) -> BpcerAtApcer:
        """The ``BpcerAtApcer`` computed for ``target_apcer``; ``KeyError`` if none was."""
        for point in self.bpcer_at_apcer:
            if point.target_apcer == target_apcer:
                return point
        raise KeyError(f"no BPCER computed at APCER {target_apcer}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (plain floats, ints, strings, lists and dicts)."""
        return cast(dict[str, Any], to_jsonable(self))


@dataclass(frozen=True, slots=True, eq=False)
class DetCurve:
    """APCER (per species and worst) and BPCER at every distinct score, then at ``+inf``.

    All arrays are ``float64`` of shape ``(n,)``, sorted by ascending threshold, so APCER is
    non-increasing and BPCER non-decreasing. The first threshold (the lowest score)
    accepts everything (APCER 1, BPCER 0), the last (``+inf``) nothing (APCER 0, BPCER 1).
    ``counts`` holds presentations per species, ``BONA_FIDE`` included.
    """

    thresholds: FloatArray
    apcer: Mapping[str, FloatArray]
    apcer_max: FloatArray
    bpcer: FloatArray
    counts: Mapping[str, int]

    def eer(self) -> float:
        """Equal error rate: where the worst-species APCER and the BPCER curves cross.

        Linearly interpolated between the two consecutive thresholds whose points bracket
        the crossing (the same rule as ``facegate.bench.metrics.ErrorCurve.eer``); exact
        when one threshold has APCER_max == BPCER. The curves always cross, since they
        run from (1, 0) to (0, 1).
        """
        diff = self.bpcer - self.apcer_max  # non-decreasing, from -1 to +1
        k = int(np.searchsorted(diff, 0.0, side="left"))
        if k == 0 or k == diff.size:  # unreachable for curves built by det_curve
            i = min(k, diff.size - 1)
            return float((self.apcer_max[i] + self.bpcer[i]) / 2)
        if diff[k] == 0.0:
            return float(self.bpcer[k])
        d0, d1 = -float(diff[k - 1]), -float(diff[k])
        a = d0 / (d0 - d1)
        x0, x1 = float(self.apcer_max[k - 1]), float(self.apcer_max[k])
        return x0 + a * (x1 - x0)

    def rates_at(self, threshold: float) -> tuple[float, float]:
        """``(apcer_max, bpcer)`` at any threshold, exactly as ``pad_report`` would give."""
        t = _check_threshold(threshold)
        # No score lies in [t, thresholds[i]), so both accept the same presentations.
        i = int(np.searchsorted(self.thresholds, t, side="left"))
        return float(self.apcer_max[i]), float(self.bpcer[i])


def _check_threshold(threshold: float) -> float:
    t = float(threshold)
    if math.isnan(t):
        raise ValueError("threshold is nan")
    return t


def _split(
    scores: npt.ArrayLike,
    species: Iterable[str],
    *,
    need_bona_fide: bool,
    need_attacks: bool,
) -> tuple[FloatArray, dict[str, FloatArray]]:
    """Validate; return sorted bona fide scores and sorted scores per attack species."""
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1:
        raise ValueError(f"scores must be 1-D, got shape {s.shape}")
    if s.size == 0:
        raise ValueError("scores is empty: no presentations to evaluate")
    finite = np.isfinite(s)
    if not finite.all():
        i = int(np.flatnonzero(~finite)[0])
        raise ValueError(f"scores must be finite, scores[{i}] is {s[i]}")
    if isinstance(species, str):
        raise ValueError("species must be one label per score, not a single string")
    labels = list(species)
    if len(labels) != s.size:
        raise ValueError(f"species has {len(labels)} labels for {s.size} scores")
    for i, label in enumerate(labels):
        if not isinstance(label, str) or not label:
            raise ValueError(f"species[{i}] must be a non-empty string, got {label!r}")
    names = np.array(labels, dtype=np.str_)
    bona_fide = np.sort(s[names == BONA_FIDE])
    attack_names = sorted({str(label) for label in labels} - {BONA_FIDE})
    attacks = {name: np.sort(s[names == name]) for name in attack_names}
    if need_bona_fide and bona_fide.size == 0:
        raise ValueError(f"no bona fide presentations (species {BONA_FIDE!r}): BPCER undefined")
    if need_attacks and not attacks:
        raise ValueError(
            f"no attack presentations (all species are {BONA_FIDE!r}): APCER undefined"
        )
    return bona_fide, attacks


def _accepted_rate(sorted_scores: FloatArray, threshold: float) -> float:
    below = int(np.searchsorted(sorted_scores, threshold, side="left"))
    return (sorted_scores.size - below) / sorted_scores.size


def _rejected_rate(sorted_scores: FloatArray, threshold: float) -> float:
    return int(np.searchsorted(sorted_scores, threshold, side="left")) / sorted_scores.size


def _counts(bona_fide: FloatArray, attacks: Mapping[str, FloatArray]) -> dict[str, int]:
    return {BONA_FIDE: int(bona_fide.size)} | {k: int(v.size) for k, v in attacks.items()}


def apcer(scores: npt.ArrayLike, species: Iterable[str], threshold: float) -> dict[str, float]:
    """Per attack species (sorted by name), the proportion accepted (``score >= threshold``).

    Bona fide presentations are ignored; at least one attack presentation is needed.
    """
    t = _check_threshold(threshold)
    _, attacks = _split(scores, species, need_bona_fide=False, need_attacks=True)
    return {name: _accepted_rate(a, t) for name, a in attacks.items()}


def bpcer(scores: npt.ArrayLike, species: Iterable[str], threshold: float) -> float:
    """Proportion of bona fide presentations rejected (``score < threshold``).

    Attack presentations are ignored; at least one bona fide presentation is needed.
    """
    t = _check_threshold(threshold)
    bona_fide, _ = _split(scores, species, need_bona_fide=True, need_attacks=False)
    return _rejected_rate(bona_fide, t)


def threshold_at_apcer(scores: npt.ArrayLike, species: Iterable[str], target: float) -> float:
    """Lowest float64 threshold at which every attack species' APCER is ``<= target``.

    Strict: the worst-species APCER there never exceeds ``target``. Per species with ``n``
    presentations, ``k = floor(target * n)`` may be accepted, so its threshold is the next
    float above its (k+1)-th highest score (``facegate.bench.metrics.threshold_at_fmr``);
    the result is the highest of these. ``target`` must be in ``[0, 1)``; ``0`` gives the
    next float above the highest attack score.
    """
    if not 0.0 <= target < 1.0:
        raise ValueError(f"target must be in [0, 1), got {target}")
    _, attacks = _split(scores, species, need_bona_fide=False, need_attacks=True)
    return max(threshold_at_fmr(a, target) for a in attacks.values())


def det_curve(scores: npt.ArrayLike, species: Iterable[str]) -> DetCurve:
    """APCER per species, worst-species APCER and BPCER at every distinct score and ``+inf``.

    Exact and O(n log n): each class is sorted once and counted with ``searchsorted``.
    """
    bona_fide, attacks = _split(scores, species, need_bona_fide=True, need_attacks=True)
    all_scores = np.concatenate([bona_fide, *attacks.values()])
    thresholds = np.append(np.unique(all_scores), np.inf)
    per_species = {
        name: (a.size - np.searchsorted(a, thresholds, side="left")) / a.size
        for name, a in attacks.items()
    }
    apcer_max = np.max(np.stack(list(per_species.values())), axis=0)
    rejected = np.searchsorted(bona_fide, thresholds, side="left") / bona_fide.size
    return DetCurve(
        thresholds=thresholds,
        apcer={k: v.astype(np.float64) for k, v in per_species.items()},
        apcer_max=apcer_max.astype(np.float64),
        bpcer=rejected.astype(np.float64),
        counts=_counts(bona_fide, attacks),
    )


def pad_report(
    scores: npt.ArrayLike,
    species: Iterable[str],
    threshold: float,
    *,
    apcer_targets: Iterable[float] = APCER_TARGETS,
) -> PadReport:
    """All 30107-3 metrics at ``threshold``, plus BPCER at each of ``apcer_targets``.

    BPCER at an APCER target is read at ``threshold_at_apcer(scores, species, target)``: the
    lowest threshold at which the worst-species APCER is ``<= target``. Needs at least one
    bona fide and one attack presentation.
    """
    t = _check_threshold(threshold)
    labels = list(species) if not isinstance(species, str) else species
    bona_fide, attacks = _split(scores, labels, need_bona_fide=True, need_attacks=True)
    per_species = {name: _accepted_rate(a, t) for name, a in attacks.items()}
    worst = max(per_species, key=lambda name: per_species[name])  # first name on ties
    apcer_max = per_species[worst]
    bp = _rejected_rate(bona_fide, t)
    points = []
    for target in sorted(apcer_targets):
        thr = threshold_at_apcer(scores, labels, target)
        points.append(
            BpcerAtApcer(
                target_apcer=target,
                threshold=thr,
                apcer_max=max(_accepted_rate(a, thr) for a in attacks.values()),
                bpcer=_rejected_rate(bona_fide, thr),
                resolvable=all(a.size * target >= 1.0 - 1e-9 for a in attacks.values()),
            )
        )
    return PadReport(
        threshold=t,
        apcer=per_species,
        worst_species=worst,
        apcer_max=apcer_max,
        bpcer=bp,
        acer=(apcer_max + bp) / 2,
        bpcer_at_apcer=tuple(points),
        eer=det_curve(scores, labels).eer(),
        counts=_counts(bona_fide, attacks),
    )


def markdown_table(report: PadReport) -> str:
    """A two-column Markdown table of ``report`` (rates in %), for READMEs and bench output."""
    rows = [
        ("Metric (ISO/IEC 30107-3)", "Value"),
        ("Threshold (accept as bona fide if score >=)", f"{report.threshold:.4g}"),
    ]
    for name, rate in report.apcer.items():
        rows.append((f"APCER {name} (n = {report.counts[name]})", f"{rate:.2%}"))
    rows += [
        (f"APCER worst species ({report.worst_species})", f"{report.apcer_max:.2%}"),
        (f"BPCER (n = {report.counts[BONA_FIDE]})", f"{report.bpcer:.2%}"),
        ("ACER = (APCER worst + BPCER) / 2", f"{report.acer:.2%}"),
    ]
    for p in report.bpcer_at_apcer:
        value = f"{p.bpcer:.2%} at threshold {p.threshold:.4g}"
        if not p.resolvable:
            value += f" (fewer than {math.ceil(1 / p.target_apcer)} attacks of a species)"
        rows.append((f"BPCER at APCER worst <= {p.target_apcer:.0%}", value))
    rows.append(("EER (APCER worst = BPCER)", f"{report.eer:.2%}"))
    lines = [f"| {a} | {b} |" for a, b in rows]
    lines.insert(1, "|---|---:|")
    return "\n".join(lines) + "\n"


def _probit(rates: FloatArray | float, floor: float) -> FloatArray:
    """Standard normal deviate of each rate; 0 and 1 are pinned just off the plotted range."""
    clipped = np.clip(np.atleast_1d(np.asarray(rates, dtype=np.float64)), floor, 1.0 - floor)
    inv = _STANDARD_NORMAL.inv_cdf
    return np.fromiter((inv(float(p)) for p in clipped), dtype=np.float64, count=clipped.size)


def plot_det(
    curves: Mapping[str, DetCurve],
    path: Path,
    title: str,
    *,
    operating_points: Mapping[str, float] | None = None,
) -> Path:
    """Write a DET plot PNG (APCER vs BPCER on normal-deviate axes, ticks in %). Returns ``path``.

    ``curves`` maps a system or data-set name to its ``DetCurve``. Each gets one thin dashed
    line per attack species and a thick solid "worst species" line (with its EER in the
    legend). ``operating_points`` maps a label to a threshold, marked on every worst-species
    line. The axes run from the largest tick at or below ``1 / n`` (``n`` the largest class)
    to 80 %. Needs matplotlib (the ``eval`` extra); the PNG is written atomically.
    """
    require_plotting()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not curves:
        raise ValueError("curves is empty: nothing to plot")
    points = dict(operating_points or {})
    n_max = max(max(c.counts.values()) for c in curves.values())
    lo = max([tick for tick in _DET_TICKS if tick <= 1.0 / n_max] or [_DET_TICKS[0]])
    off_chart = lo / 10

    n_lines = sum(len(c.apcer) + 1 + len(points) for c in curves.values())
    fig = Figure(figsize=(7.5, 7.0 + 0.22 * n_lines), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.plot(
        _probit(np.array([lo, _DET_MAX]), off_chart),
        _probit(np.array([lo, _DET_MAX]), off_chart),
        color="grey",
        linestyle=":",
        linewidth=1,
        label="APCER = BPCER",
    )
    for name, c in curves.items():
        prefix = f"{name}: " if len(curves) > 1 else ""
        y = _probit(c.bpcer, off_chart)
        for pais, rates in c.apcer.items():
            ax.plot(
                _probit(rates, off_chart),
                y,
                linestyle="--",
                linewidth=1.2,
                zorder=3,  # on top of the worst line, which one of them coincides with
                label=f"{prefix}{pais} (n = {c.counts[pais]})",
            )
        (worst,) = ax.plot(
            _probit(c.apcer_max, off_chart),
            y,
            linewidth=3.5,
            alpha=0.55,
            label=f"{prefix}worst species (EER {c.eer():.2%})",
        )
        for i, (label, threshold) in enumerate(points.items()):
            a, b = c.rates_at(threshold)
            ax.plot(
                _probit(a, off_chart),
                _probit(b, off_chart),
                marker=_DET_MARKERS[i % len(_DET_MARKERS)],
                markersize=9,
                linestyle="none",
                color=worst.get_color(),
                markeredgecolor="black",
                label=f"{prefix}{label}: t = {threshold:.4g} (APCER {a:.2%}, BPCER {b:.2%})",
            )
    ticks = [t for t in _DET_TICKS if lo <= t <= _DET_MAX]
    positions = _probit(np.array(ticks), off_chart)
    labels = [f"{100 * t:g}%" for t in ticks]
    limits = (float(positions[0]), float(positions[-1]))
    ax.set_xticks(positions, labels)
    ax.set_yticks(positions, labels)
    ax.set(
        xlim=limits,
        ylim=limits,
        xlabel="APCER (attack presentations accepted as bona fide)",
        ylabel="BPCER (bona fide presentations rejected)",
    )
    fig.suptitle(title)
    ax.set_box_aspect(1)  # same limits on both axes: equal scales
    ax.grid(True, alpha=0.3)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", fontsize="small")
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
