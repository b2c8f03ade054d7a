"""``enroll``, ``verify`` and ``identify``: images in, decisions out (never scores).

Verify and identify are the gate's decision (:mod:`facegate.gate`): the quality gate and
the passive liveness check apply as at a door, and each writes one decision event.
``--skip-liveness`` is for an offline check of a photo file (a photo is not a live
presentation); the audit records it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from facegate.cli.context import get, progress_bar
from facegate.gate import LivenessDemand
from facegate.gate.matcher import CalibratedMatcher
from facegate.matching import DEFAULT_OPERATING_POINT, OperatingPoint, Outcome
from facegate.matching.decide import Decision
from facegate.recognition import enroll_images, identify_image, verify_image

#: Exit code when the face is not matched (no match, unknown).
NOT_MATCHED_EXIT = 10

ImageArgument = Annotated[Path, typer.Argument(help="Image file (JPEG, PNG, ...).")]
PointOption = Annotated[
    OperatingPoint, typer.Option("--operating-point", help="Calibrated threshold to decide at.")
]
SkipLivenessOption = Annotated[
    bool,
    typer.Option(
        "--skip-liveness",
        help="Offline photo check: no presentation-attack check (audited as skipped). "
        "Without it the passive check runs as at a gate, and a failing face exits 4.",
    ),
]


def _liveness(skip: bool) -> LivenessDemand:
    return LivenessDemand.SKIPPED if skip else LivenessDemand.PASSIVE


def enroll(
    ctx: typer.Context,
    subject_id: Annotated[str, typer.Argument(help="Subject id (needs a recorded consent).")],
    images: Annotated[list[Path], typer.Argument(help="One or more images, one face each.")],
    live: Annotated[
        list[Path] | None,
        typer.Option(
            "--live",
            help="A photo of the person taken now (repeatable): compared with the images, "
            "not enrolled; a face that differs (a morph) is refused.",
        ),
    ] = None,
) -> None:
    """Enroll face templates from images; all or nothing, raw images are not kept. A face
    that matches another enrolled person, or differs from ``--live``, is refused."""
    context = get(ctx)
    with context.store() as store, progress_bar(context) as progress:
        task = progress.add_task("enrolling", total=len(images))
        runtime = context.runtime(store)
        with runtime.pipelines.borrow() as pipeline:
            ids = enroll_images(
                store,
                pipeline,
                subject_id,
                images,
                context.actor,
                context.settings.max_image_pixels,
                on_image_done=lambda: progress.advance(task),
                live=live or [],
                matcher=CalibratedMatcher(runtime.registry),
            )
    context.emit(
        {"subject_id": subject_id, "templates": ids},
        f"enrolled {len(ids)} template(s) for {subject_id}",
    )


def verify_command(
    ctx: typer.Context,
    subject_id: Annotated[str, typer.Argument(help="Claimed subject id.")],
    image: ImageArgument,
    point: PointOption = DEFAULT_OPERATING_POINT,
    skip_liveness: SkipLivenessOption = False,
) -> None:
    """1:1: does the image show this subject? Exit 0 on match, 10 on no match, 4 when the
    face fails the quality gate or the liveness check."""
    context = get(ctx)
    with context.store() as store:
        result = verify_image(
            context.runtime(store).decider(store, context.settings.max_image_pixels),
            subject_id,
            image,
            context.actor,
            point,
            _liveness(skip_liveness),
        )
    context.emit(
        {"verification": result},
        f"{result.decision.value} at {point.value} (liveness: {result.liveness})",
    )
    if result.decision is not Decision.MATCH:
        raise typer.Exit(NOT_MATCHED_EXIT)


def identify_command(
    ctx: typer.Context,
    image: ImageArgument,
    site: Annotated[str, typer.Option("--site", help="Site (community) code.")] = "demo",
    point: PointOption = DEFAULT_OPERATING_POINT,
    skip_liveness: SkipLivenessOption = False,
) -> None:
    """1:N: who among the site's enrolled subjects is this? Exit 0 if identified, 10 if
    unknown, 4 when the face fails the quality gate or the liveness check."""
    context = get(ctx)
    with context.store() as store:
        result = identify_image(
            context.runtime(store).decider(store, context.settings.max_image_pixels),
            site,
            image,
            context.actor,
            point,
            _liveness(skip_liveness),
        )
        # People read a name; scripts (--json) get the id as well.
        name = (
            store.get_subject(result.subject_id).display_name
            if result.outcome is Outcome.IDENTIFIED and result.subject_id is not None
            else None
        )
    who = name or result.subject_id or "unknown"
    context.emit(
        {"identification": result, "name": name},
        f"{result.outcome.value}: {escape(who)} (of {result.gallery_subjects} subjects)",
    )
    if result.outcome is not Outcome.IDENTIFIED:
        raise typer.Exit(NOT_MATCHED_EXIT)


def register(app: typer.Typer) -> None:
    app.command()(enroll)
    app.command("verify")(verify_command)
    app.command("identify")(identify_command)
