"""The audit's outputs: ``security.json``, a Markdown table for the README, an HTML report
with its plots (matplotlib PNG: success with and without each defence, success against
queries for the decision-only attack)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from facegate.audit.schema import AttackResult, SecurityReport
from facegate.bench.report import atomic_write, require_plotting

REPORT_FILE = "security.json"
TABLE_FILE = "security.md"
HTML_FILE = "security.html"
HTML_TEMPLATE = "security.html"
SUCCESS_PLOT = "security-success.png"
QUERIES_PLOT = "security-queries.png"


def _pct(value: float) -> str:
    return f"{value:.1%}"


def _ci(interval: tuple[float, float]) -> str:
    return f"[{interval[0]:.1%}, {interval[1]:.1%}]"


def _defences(attack: AttackResult) -> str:
    if not attack.defences:
        return "none measured"
    return "; ".join(f"{d.name}: {_pct(d.success_defended)} {_ci(d.ci95)}" for d in attack.defences)


def markdown_table(report: SecurityReport, command: str) -> str:
    lines = [
        f"`{command}` (engine {report.engine}, door at {report.operating_point}; "
        f"{report.data.get('faces')} faces of {report.data.get('people')} people; "
        f"{report.duration_s / 60:.1f} min)",
        "",
        "| attack | access | n | success, undefended [95% CI] | with each defence [95% CI] "
        "| still succeeds |",
        "|---|---|---|---|---|---|",
    ]
    for a in report.attacks:
        lines.append(
            f"| {a.name} | {a.access} | {a.n} | {_pct(a.success_undefended)} {_ci(a.ci95)} "
            f"| {_defences(a)} | {'yes' if a.still_succeeds else 'no'} |"
        )
    for name, why in report.skipped.items():
        lines.append(f"| {name} | skipped: {why} | | | | |")
    return "\n".join(lines) + "\n"


def _fraction(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}%}"


def _sci(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1e}"


def fairness_table(fairness: dict[str, Any]) -> str:
    """Per-cell FMR and FNMR with their bootstrap intervals, by condition and by group."""
    lines = [
        "| by | cell | people | genuine / impostor pairs | FMR [95% CI] | FNMR [95% CI] "
        "| threshold shift for the door's FMR |",
        "|---|---|---|---|---|---|---|",
    ]
    sections = dict(fairness.get("conditions", {}))
    groups = fairness.get("groups", {})
    if "cells" in groups:
        sections["group"] = groups
    for by, section in sections.items():
        for cell in section.get("cells", []):
            fmr_ci = cell.get("fmr_ci95") or (None, None)
            fnmr_ci = cell.get("fnmr_ci95") or (None, None)
            shift = cell.get("threshold_shift")
            small = " (too small)" if cell.get("too_small") else ""
            lines.append(
                f"| {by} | {cell['name']}{small} | {cell['people']} "
                f"| {cell['genuine_pairs']:,} / {cell['impostor_pairs']:,} "
                f"| {_sci(cell.get('fmr'))} [{_sci(fmr_ci[0])}, {_sci(fmr_ci[1])}] "
                f"| {_fraction(cell.get('fnmr'))} [{_fraction(fnmr_ci[0])}, "
                f"{_fraction(fnmr_ci[1])}] "
                f"| {'n/a' if shift is None else f'{shift:+.3f}'} |"
            )
    if "skipped" in groups:
        lines.append(f"\nBy group: {groups['skipped']}")
    return "\n".join(lines) + "\n"


def protection_table(protection: dict[str, Any]) -> str:
    """Unlinkability across sites and after renewal, and FNMR at the door's FMR."""
    unlinkability = protection.get("unlinkability", {})
    across = unlinkability.get("across_sites", {})
    renewal = unlinkability.get("renewal_v1_v2", {})
    accuracy = protection.get("accuracy", {})
    lines = [
        "| scheme | D↔sys across two sites | D↔sys key v1 vs v2 | FNMR at FMR 1e-4 [95% CI] |",
        "|---|---|---|---|",
    ]
    for scheme in protection.get("schemes", []):
        cell = accuracy.get(scheme, {})
        ci = cell.get("fnmr_ci95") or (None, None)
        lines.append(
            f"| {scheme} | {across.get(scheme, {}).get('d_sys', 'n/a')} "
            f"| {renewal.get(scheme, {}).get('d_sys', '—')} "
            f"| {_fraction(cell.get('fnmr'), 2)} [{_fraction(ci[0], 2)}, {_fraction(ci[1], 2)}] |"
        )
    return "\n".join(lines) + "\n"


def plot_success(report: SecurityReport, path: Path) -> Path:
    require_plotting()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    attacks = report.attacks
    fig = Figure(
        figsize=(10, 0.55 * max(4, sum(1 + len(a.defences) for a in attacks))), layout="constrained"
    )
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    labels, values, lows, highs, colours = [], [], [], [], []
    for a in attacks:
        rows = [("undefended", a.success_undefended, a.ci95, "tab:red")] + [
            (d.name, d.success_defended, d.ci95, "tab:blue") for d in a.defences
        ]
        for label, value, ci, colour in rows:
            labels.append(f"{a.name} · {label}" if label == "undefended" else f"    {label}")
            values.append(value)
            lows.append(value - ci[0])
            highs.append(ci[1] - value)
            colours.append(colour)
    y = list(range(len(labels)))[::-1]
    ax.barh(y, values, xerr=[lows, highs], color=colours, capsize=2)
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_xlabel("attack success (fraction of attempts, 95% CI)")
    ax.set_title(f"facegate security audit: {report.engine} at {report.operating_point}")
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    return path


def plot_queries(attack: AttackResult, path: Path) -> Path:
    """The decision-only attack: success and the median distortion reached against queries,
    with where the rate limit and the probe detector stop it."""
    require_plotting()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    detail = attack.detail
    fig = Figure(figsize=(10, 4), layout="constrained")
    FigureCanvasAgg(fig)
    success, distortion = fig.subplots(1, 2)
    curve = {int(k): v for k, v in detail.get("success_by_queries", {}).items()}
    rms = {int(k): v for k, v in detail.get("median_rms_by_queries", {}).items() if v is not None}
    success.plot(list(curve), list(curve.values()), marker="o")
    success.set(xscale="log", ylim=(0, 1), xlabel="queries (gate decisions)")
    success.set_ylabel("attacks succeeded")
    distortion.plot(list(rms), list(rms.values()), marker="o", label="median best RMS")
    budget = detail.get("rms_budget")
    if budget is not None:
        distortion.axhline(
            budget, color="tab:red", linestyle="-.", label=f"success: RMS ≤ {budget:g}"
        )
    distortion.set(
        xscale="log", xlabel="queries (gate decisions)", ylabel="RMS to the attacker (0..255)"
    )
    for ax in (success, distortion):
        at_door = next(
            (d.detail["queries_at_door"] for d in attack.defences if "queries_at_door" in d.detail),
            None,
        )
        if at_door:
            ax.axvline(
                at_door,
                color="tab:orange",
                linestyle="--",
                label=f"rate limit: {at_door} in the time at the door",
            )
        stops = [
            s
            for d in attack.defences
            for s in d.detail.get("tripped_at_query", [])
            if s is not None
        ]
        if stops:
            ax.axvline(
                min(stops),
                color="tab:green",
                linestyle=":",
                label=f"probe detector holds (first at query {min(stops)})",
            )
    distortion.legend(fontsize=7)
    fig.suptitle(f"{attack.name} (n={attack.n})")
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    return path


def html_report(report: SecurityReport, command: str, plots: list[str]) -> str:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("facegate.audit", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
    )
    details = {a.name: a.detail for a in report.attacks}
    return env.get_template(HTML_TEMPLATE).render(
        report=report,
        command=command,
        plots=plots,
        pct=_pct,
        ci=_ci,
        fairness=_pretty(report.fairness),
        protection=_pretty(report.template_protection),
        details=_pretty({"data": report.data, "attacks": details}),
    )


def _pretty(body: object) -> str:
    return json.dumps(body, indent=2, ensure_ascii=False, default=str)


def write_outputs(report: SecurityReport, out: Path, command: str) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    text = report.model_dump_json(indent=2) + "\n"
    paths = {
        "json": atomic_write(out / REPORT_FILE, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    }
    table = (
        markdown_table(report, command)
        + "\nFairness by capture condition (and by the auditor's groups):\n\n"
        + fairness_table(report.fairness)
        + "\nTemplate protection:\n\n"
        + protection_table(report.template_protection)
    )
    paths["markdown"] = atomic_write(
        out / TABLE_FILE, lambda tmp: tmp.write_text(table, encoding="utf-8")
    )
    plots = [plot_success(report, out / SUCCESS_PLOT).name]
    decision = next(
        (a for a in report.attacks if a.name == "theft_decision_only_impersonation"), None
    )
    if decision is not None:
        plots.append(plot_queries(decision, out / QUERIES_PLOT).name)
    page = html_report(report, command, plots)
    paths["html"] = atomic_write(
        out / HTML_FILE, lambda tmp: tmp.write_text(page, encoding="utf-8")
    )
    return paths
