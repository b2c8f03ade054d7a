"""``facegate audit security``: attack the shipped models, measure each defence.

Needs the ``facegate[audit]`` extra (ART, fairlearn, onnx2torch, torch); the attack code is
imported only when the command runs.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

from facegate.cli.context import get, progress_bar
from facegate.cli.people import audit_app
from facegate.errors import MissingDependencyError

_EXTRA = "the security audit needs ART, fairlearn and onnx2torch: install facegate[audit]"


def _require_audit_extra() -> None:
    try:
        import art  # noqa: F401
        import fairlearn  # noqa: F401
        import onnx2torch  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(f"{_EXTRA} ({exc.name} is missing)") from exc


def security(
    ctx: typer.Context,
    data: Annotated[
        Path,
        typer.Option(help="Labelled photos, several per person (labels.csv or a folder each)."),
    ],
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("artifacts/audit"),
    detection_data: Annotated[
        Path | None,
        typer.Option(help="Box-annotated photos for the detector backdoor (else skipped)."),
    ] = None,
    groups: Annotated[
        Path | None,
        typer.Option(
            help="The auditor's CSV of identity,group for fairness by group "
            "(facegate never infers groups)."
        ),
    ] = None,
    smoke: Annotated[
        bool,
        typer.Option("--smoke", help="A few people and tiny budgets: structure only, in minutes."),
    ] = False,
    max_people: Annotated[int | None, typer.Option(min=2, help="Use this many people.")] = None,
    pairs: Annotated[int | None, typer.Option(min=1, help="White-box attack pairs.")] = None,
    queries: Annotated[
        int | None, typer.Option(min=10, help="Decision-only queries per attack.")
    ] = None,
    attacks: Annotated[int | None, typer.Option(min=1, help="Decision-only attacks.")] = None,
    morphs: Annotated[int | None, typer.Option(min=1, help="Morphs to build.")] = None,
    seed: Annotated[int, typer.Option(help="Seeds people, pairs and attacks.")] = 0,
) -> None:
    """Attack the shipped models and measure each defence (OUT/security.json, .md, .html).

    Evasion, decision-only theft, brute force, morphs, detector backdoor, model files,
    fairness and template protection. Needs the audit extra.
    """
    context = get(ctx)
    _require_audit_extra()
    from dataclasses import replace

    from facegate.audit.report import write_outputs
    from facegate.audit.run import SECTIONS, AuditConfig, run_security_audit

    config = AuditConfig.smoke() if smoke else AuditConfig()
    config = replace(config, seed=seed)
    if max_people is not None:
        config = replace(config, max_people=max_people)
    if pairs is not None:
        config = replace(config, evasion=replace(config.evasion, pairs=pairs))
    if queries is not None:
        config = replace(config, blackbox=replace(config.blackbox, max_queries=queries))
    if attacks is not None:
        config = replace(config, blackbox=replace(config.blackbox, attacks=attacks))
    if morphs is not None:
        config = replace(config, morphs=morphs)
    command = (
        shlex.join(["facegate", "audit", *context.argv[1:]])
        if context.argv
        else "facegate audit security"
    )
    with progress_bar(context) as progress:
        embedding = progress.add_task("faces through the engine", total=None)
        sections = progress.add_task("attacks", total=len(SECTIONS))

        def embedded(done: int, total: int) -> None:
            progress.update(embedding, completed=done, total=total)

        def started(name: str) -> None:
            progress.update(
                sections, description=f"attack: {name}", advance=0 if name == SECTIONS[0] else 1
            )

        report = run_security_audit(
            data,
            config,
            detection_data=detection_data,
            groups_csv=groups,
            progress=started,
            embed_progress=embedded,
        )
        progress.update(sections, completed=len(SECTIONS))
    paths = write_outputs(report, out, command)
    from facegate.audit.report import markdown_table

    context.emit(
        {
            "report": paths["json"],
            "html": paths["html"],
            "markdown": paths["markdown"],
            "duration_s": report.duration_s,
        },
        markdown_table(report, command) + f"\nWrote {paths['json']}, {paths['html']}",
    )


def register(app: typer.Typer) -> None:
    """``security`` joins ``facegate audit`` (beside ``verify`` of the audit log)."""
    del app
    audit_app.command("security")(security)
