"""``facegate detector install``: the site's trained detector, for ``--detector rcnn``."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from facegate.cli.context import get
from facegate.errors import MissingDependencyError, ModelIntegrityError
from facegate.models.site import check_model_name, install_site_model, site_models_dir
from facegate.store.crypto import load_site_key
from facegate.vision.pipeline import RCNN_EXTRA_MODULES
from facegate.vision.rcnn.config import SITE_DETECTOR_MODEL

#: A site's own weights: trained on its pictures, under the site's own terms.
SITE_LICENCE = "site-trained; not for redistribution (trained on the site's own pictures)"
DETECTOR_KIND = "detector"


def _model_name(value: str) -> str:
    try:
        check_model_name(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    return value


def install(
    ctx: typer.Context,
    weights: Annotated[
        Path,
        typer.Argument(help="Exported weights (`facegate detector train` writes them)."),
    ],
    name: Annotated[
        str,
        typer.Option(
            help="Registry name; `--detector rcnn` runs the default.", callback=_model_name
        ),
    ] = SITE_DETECTOR_MODEL,
) -> None:
    """Check that WEIGHTS load, then install them hash-checked for this site.

    The file is copied into the data directory's models/ folder and listed, with its
    SHA-256, in models/site_models.json, signed with the site key: every later load
    refuses a file whose hash differs, and the service refuses an edited list.
    """
    context = get(ctx)
    try:
        from facegate.vision.rcnn.weights import load_weights
    except ModuleNotFoundError as exc:
        if exc.name not in RCNN_EXTRA_MODULES:
            raise
        raise MissingDependencyError(
            f"installing a detector needs {exc.name}: install facegate[rcnn]"
        ) from exc
    with context.store():
        pass  # the site key belongs with the database: create both together, or neither
    site_key = load_site_key(context.settings, database_exists=True)
    # Filled in by ``check`` before the entry is written; published with it.
    metadata: dict[str, object] = {}

    def check(copy: Path) -> None:
        # The copy that is installed is the one loaded, so no later change to WEIGHTS counts.
        try:
            model, config = load_weights(copy)
        except ModelIntegrityError as exc:  # name the user's file, not the temporary copy
            raise ModelIntegrityError(str(exc).replace(str(copy), str(weights))) from exc
        metadata["backbone"] = config.backbone.value
        metadata["parameters"] = sum(p.numel() for p in model.parameters())

    entry = install_site_model(
        context.settings.data_dir,
        site_key,
        name,
        DETECTOR_KIND,
        weights,
        SITE_LICENCE,
        shlex.join(["facegate", *context.argv]),
        metadata,
        check=check,
    )
    path = site_models_dir(context.settings.data_dir) / str(entry.filename)
    context.emit(
        {"name": entry.name, "sha256": entry.sha256, "path": str(path), **metadata},
        f"installed {escape(entry.name)}\n  sha256 {entry.sha256}\n  {escape(str(path))}",
    )


def register_install(detector_app: typer.Typer) -> None:
    detector_app.command("install")(install)
