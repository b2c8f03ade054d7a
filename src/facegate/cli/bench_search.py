"""``facegate bench search``: the 1:N index against exact search (recall, latency, memory)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.markup import escape
from rich.progress import Progress, TaskID

from facegate.bench.acquire import acquire_all, pipeline_acquirer
from facegate.bench.datasets import read_labelled_folder
from facegate.bench.report import atomic_write, to_jsonable, write_json
from facegate.bench.search import (
    LabelledEmbeddings,
    build_workload,
    labelled_embeddings,
    run_search_benchmark,
)
from facegate.cli.context import Context, get, progress_bar
from facegate.vision.pipeline import Selection

REPORT_FILE = "search.json"
#: Real embeddings cached under ``--out``: re-runs skip the pipeline.
CACHE_FILE = "real-embeddings-{model}.npz"


def bench_search(
    ctx: typer.Context,
    templates: Annotated[int, typer.Option(min=2, help="Templates in the gallery.")] = 100_000,
    out: Annotated[Path, typer.Option(help="Output folder for search.json.")] = Path(
        "artifacts/bench/search"
    ),
    data: Annotated[
        Path | None,
        typer.Option(
            help="Labelled real faces (e.g. the LFW dev subset): embedded, some enrolled, "
            "the rest probes; without it the gallery is synthetic only."
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option(min=0, help="Seeds split, draws and probes (1 was used for tuning).")
    ] = 0,
) -> None:
    """Build the 1:N index over real + synthetic templates; recall@1 against exact search,
    p50/p99 search time, build time and memory per template, written to OUT/search.json."""
    context = get(ctx)
    with progress_bar(context) as progress:
        real = _real_embeddings(context, data, out, progress) if data is not None else None
        drawing = progress.add_task("drawing templates", total=templates)
        workload = build_workload(
            templates, real, seed, lambda count: progress.advance(drawing, count)
        )
        tasks: dict[str, TaskID] = {}

        def advance(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done)

        report = run_search_benchmark(workload, seed, advance)
    document = {
        "command": shlex.join(["facegate", *context.argv]),
        "data": str(data) if data is not None else None,
        "embedding_model": context.pipeline.embedding_model if data is not None else None,
        **to_jsonable(report),
    }
    path = write_json(document, out / REPORT_FILE)
    context.emit(
        {**document, "report": str(path)},
        escape(
            f"{report.templates:,} templates: recall@1 {report.recall_at_1:.4%}, "
            f"p50 {report.p50_ms:.3f} ms, p99 {report.p99_ms:.3f} ms, "
            f"{report.memory_bytes_per_template:.0f} B/template, build {report.build_s:.1f} s; "
            f"wrote {path}"
        ),
    )


def _real_embeddings(
    context: Context, data: Path, out: Path, progress: Progress
) -> LabelledEmbeddings:
    """Embed ``data`` once with the configured pipeline; later runs read the cache."""
    images = read_labelled_folder(data)
    pipeline = context.pipeline
    cache = out / CACHE_FILE.format(model=pipeline.embedding_model)
    paths = [str(image.path.resolve()) for image in images]
    if cache.is_file():
        with np.load(cache) as stored:
            if stored["paths"].tolist() == paths:
                kept = stored["kept"]
                return LabelledEmbeddings(
                    stored["embeddings"],
                    tuple(image.identity for image, ok in zip(images, kept, strict=True) if ok),
                )
    acquired = acquire_all(
        [image.path for image in images],
        pipeline_acquirer(pipeline, Selection.CENTRAL),
        "embedding real faces",
        progress,
    )
    vectors = [acquired[image.path].embedding for image in images]
    real = labelled_embeddings(vectors, [image.identity for image in images])
    kept = np.array([v is not None for v in vectors])

    def write(tmp: Path) -> None:
        with tmp.open("wb") as file:
            np.savez(file, paths=np.array(paths), kept=kept, embeddings=real.embeddings)

    atomic_write(cache, write)
    return real


def register_bench(app: typer.Typer) -> None:
    app.command("search")(bench_search)
