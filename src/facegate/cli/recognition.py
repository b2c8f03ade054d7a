"""``enroll``, ``verify`` and ``identify``: images in, decisions out (never scores)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from facegate.cli.accountability import checked_pipeline
from facegate.cli.context import get, progress_bar
from facegate.matching import DEFAULT_OPERATING_POINT, OperatingPoint, Outcome
from facegate.matching.decide import Decision
from facegate.recognition import enroll_images, identify_image, verify_image

ImageArgument = Annotated[Path, typer.Argument(help="Image file (JPEG, PNG, ...).")]
PointOption = Annotated[
    OperatingPoint, typer.Option("--operating-point", help="Calibrated threshold to decide at.")
]


def enroll(
    ctx: typer.Context,
    subject_id: Annotated[str, typer.Argument(help="Subject id (needs a recorded consent).")],
    images: Annotated[list[Path], typer.Argument(help="One or more images, one face each.")],
) -> None:
    """Enroll face templates from images; all or nothing, raw images are not kept."""
    context = get(ctx)
    with context.store() as store, progress_bar(context) as progress:
        task = progress.add_task("enrolling", total=len(images))
        ids = enroll_images(
            store,
            checked_pipeline(context, store),
            subject_id,
            images,
            context.actor,
            context.settings.max_image_pixels,
            on_image_done=lambda: progress.advance(task),
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
) -> None:
    """1:1: does the image show this subject? Exit 0 on match, 10 on no match."""
    context = get(ctx)
    with context.store() as store:
        result = verify_image(
            store,
            checked_pipeline(context, store),
            context.registry,
            subject_id,
            image,
            context.actor,
            context.settings.max_image_pixels,
            point,
        )
    reasons = ", ".join(r.value for r in result.quality_reasons) or "none"
    context.emit(
        {"verification": result},
        f"{result.decision.value} at {point.value} (quality issues: {reasons})",
    )
    if result.decision is not Decision.MATCH:
        raise typer.Exit(10)


def identify_command(
    ctx: typer.Context,
    image: ImageArgument,
    site: Annotated[str, typer.Option("--site", help="Site (community) code.")] = "demo",
    point: PointOption = DEFAULT_OPERATING_POINT,
) -> None:
    """1:N: who among the site's enrolled subjects is this? Exit 0 if identified, 10 if unknown."""
    context = get(ctx)
    with context.store() as store:
        result = identify_image(
            store,
            checked_pipeline(context, store),
            context.registry,
            site,
            image,
            context.actor,
            context.settings.max_image_pixels,
            point,
        )
    who = result.subject_id if result.outcome is Outcome.IDENTIFIED else "unknown"
    context.emit(
        {"identification": result},
        f"{result.outcome.value}: {who} (of {result.gallery_subjects} subjects)",
    )
    if result.outcome is not Outcome.IDENTIFIED:
        raise typer.Exit(10)


def register(app: typer.Typer) -> None:
    app.command()(enroll)
    app.command("verify")(verify_command)
    app.command("identify")(identify_command)
