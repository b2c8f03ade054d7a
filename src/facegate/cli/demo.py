"""``facegate demo``."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from facegate.cli.context import get
from facegate.demo import run_demo


def demo(ctx: typer.Context) -> None:
    """Build a demo community from real images and show accepted and refused decisions."""
    context = get(ctx)
    with context.store() as store:
        decider = context.runtime(store).decider(store, context.settings.max_image_pixels)
        steps = run_demo(store, decider)
    table = Table("step", "what facegate decided", "as expected", title="facegate demo")
    for step in steps:
        table.add_row(
            Text(step.action), Text(step.outcome), "yes" if step.as_expected else "[bold red]NO[/]"
        )
    if context.as_json:
        context.emit({"steps": steps, "all_as_expected": all(s.as_expected for s in steps)}, "")
    else:
        context.console.print(table)
        context.console.print(f"data directory: {escape(str(context.settings.data_dir.resolve()))}")
    if not all(s.as_expected for s in steps):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(demo)
