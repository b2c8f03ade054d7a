"""``facegate bench verification`` and ``facegate calibrate``."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.markup import escape
from rich.table import Table

from facegate.bench.acquire import (
    Acquisition,
    NaiveDlib,
    acquire_all,
    pipeline_acquirer,
)
from facegate.bench.calibrate import (
    CALIBRATION_FILE,
    calibrate,
    community_thresholds,
    write_calibration,
)
from facegate.bench.datasets import (
    LabelledImage,
    Pair,
    read_labelled_folder,
    read_lfw_pairs,
    read_pairs_csv,
)
from facegate.bench.load import LoadKind, run_load
from facegate.bench.quality import PERCENTILES, survey_quality
from facegate.bench.report import atomic_write, plot_roc_det, require_plotting, write_json
from facegate.bench.tail_fit import fit_impostor_tail
from facegate.bench.verification import (
    ProtocolResult,
    all_vs_all_scores,
    evaluate_all_vs_all,
    evaluate_pairs,
    markdown_table,
    markdown_timing,
)
from facegate.cli.bench_attacks import register_bench as register_attacks
from facegate.cli.bench_first_decision import register_bench as register_first_decision
from facegate.cli.bench_identification import register_bench as register_identification
from facegate.cli.bench_import import register_bench as register_import
from facegate.cli.bench_search import register_bench as register_search
from facegate.cli.context import get, progress_bar
from facegate.core.config import Engine
from facegate.errors import DatasetError
from facegate.matching import OperatingPoint, operating_point
from facegate.store.crypto import load_site_key
from facegate.vision.pipeline import FacePipeline, Selection

bench_app = typer.Typer(
    help="Benchmarks with the standard metrics of the field.", no_args_is_help=True
)


def _load_inputs(
    pairs: list[Path], pairs_csv: list[Path], labelled: list[Path]
) -> tuple[dict[str, list[Pair]], dict[str, list[LabelledImage]]]:
    if not (pairs or pairs_csv or labelled):
        raise DatasetError("nothing to evaluate: give --pairs, --pairs-csv or --labelled")
    pair_sets = {f"pairs {_short(p)}": read_lfw_pairs(p) for p in pairs}
    pair_sets |= {f"pairs {_short(p)}": read_pairs_csv(p) for p in pairs_csv}
    folders = {f"all-vs-all {d.resolve().name}": read_labelled_folder(d) for d in labelled}
    return pair_sets, folders


def _system_name(engine: Engine, engines: list[Engine]) -> str:
    """``facegate`` for one engine (the JSON layout the README quotes), else per engine."""
    return "facegate" if len(engines) == 1 else f"facegate-{engine.value}"


def _short(path: Path) -> str:
    """``dataset/file`` of a pair list: enough to tell the protocols apart in tables."""
    return f"{path.resolve().parent.name}/{path.name}"


def _images(
    pair_sets: dict[str, list[Pair]], folders: dict[str, list[LabelledImage]]
) -> list[Path]:
    paths = {p for ps in pair_sets.values() for pair in ps for p in (pair.path_a, pair.path_b)}
    paths |= {im.path for ims in folders.values() for im in ims}
    return sorted(paths)


@bench_app.command("verification")
def verification(
    ctx: typer.Context,
    pairs: Annotated[list[Path], typer.Option(help="LFW pairs.txt file(s).")] = [],  # noqa: B006
    pairs_csv: Annotated[
        list[Path], typer.Option(help="pairs CSV file(s): path_a,path_b,same.")
    ] = [],  # noqa: B006
    labelled: Annotated[
        list[Path], typer.Option(help="Labelled folder(s), evaluated all-vs-all.")
    ] = [],  # noqa: B006
    out: Annotated[Path, typer.Option(help="Output folder for JSON and PNG.")] = Path(
        "artifacts/bench"
    ),
    baseline: Annotated[bool, typer.Option(help="Also run the naive dlib baseline.")] = False,
    selection: Annotated[
        Selection, typer.Option(help="Which face is the subject.")
    ] = Selection.CENTRAL,
    flip_average: Annotated[
        bool,
        typer.Option(help="dlib engine: average each embedding with its mirror's (2 passes)."),
    ] = False,
    engine: Annotated[
        list[Engine], typer.Option(help="Engine(s) to compare; default: the configured one.")
    ] = [],  # noqa: B006
) -> None:
    """Accuracy, ROC AUC, FNMR at FMR 1e-2/1e-3/1e-4, FTA and per-stage time; each
    ``--engine`` is a system of its own, on the same images in the same run."""
    context = get(ctx)
    require_plotting()
    engines = engine or [context.settings.engine]
    pipelines: dict[str, FacePipeline] = {}
    for chosen in engines:
        pipelines[_system_name(chosen, engines)] = (
            FacePipeline.default(context.registry, flip_average=True, engine=chosen)
            if flip_average
            else context.pipeline_for(chosen)
        )
    pair_sets, folders = _load_inputs(pairs, pairs_csv, labelled)
    images = _images(pair_sets, folders)
    systems: dict[str, dict[Path, Acquisition]] = {}
    with progress_bar(context) as progress:
        for name, pipeline in pipelines.items():
            systems[name] = acquire_all(
                images, pipeline_acquirer(pipeline, selection), name, progress
            )
        if baseline and pair_sets:
            # The baseline is compared on pair lists only; all-vs-all is facegate's calibration.
            naive = NaiveDlib(context.registry)
            systems["naive-dlib"] = acquire_all(
                _images(pair_sets, {}), naive, "naive dlib", progress
            )
    results: dict[str, list[ProtocolResult]] = {}
    for system, acquired in systems.items():
        results[system] = [evaluate_pairs(name, ps, acquired) for name, ps in pair_sets.items()]
        if system in pipelines:
            results[system] += [
                evaluate_all_vs_all(name, ims, acquired) for name, ims in folders.items()
            ]
    command = shlex.join(["facegate", *context.argv])
    out.mkdir(parents=True, exist_ok=True)
    table = (
        markdown_table(results)
        + "\nMilliseconds per image and stage (median / p95):\n\n"
        + markdown_timing(results)
    )
    (out / "verification.md").write_text(f"`{command}`\n\n{table}", encoding="utf-8")
    json_path = write_json({"command": command, "systems": results}, out / "verification.json")
    curves = {f"{system} {r.name}": r.curve for system, rs in results.items() for r in rs}
    png_path = plot_roc_det(curves, out / "verification_roc_det.png", "facegate verification")
    context.emit(
        {"command": command, "report": str(json_path), "plot": str(png_path), "systems": results},
        escape(f"{table}\nwrote {json_path}, {out / 'verification.md'} and {png_path}"),
    )


@bench_app.command("quality")
def quality(
    ctx: typer.Context,
    labelled: Annotated[Path, typer.Argument(help="Labelled folder (or any folder of images).")],
    every: Annotated[int, typer.Option(min=1, help="Use every N-th image.")] = 1,
) -> None:
    """Percentiles of the quality measurements and how often each reason code fires."""
    context = get(ctx)
    paths = [im.path for im in read_labelled_folder(labelled)][::every]
    with progress_bar(context) as progress:
        survey = survey_quality(paths, context.pipeline, progress)
    header = " / ".join(f"p{p}" for p in PERCENTILES)
    lines = [
        f"{survey.faces} faces from {survey.images} images "
        f"({survey.failures_to_acquire} without a usable face); {header}:",
        *(
            f"  {name}: " + " / ".join(f"{v:.3g}" for v in values)
            for name, values in survey.percentiles.items()
        ),
        "reasons: " + (", ".join(f"{k} {v}" for k, v in sorted(survey.reasons.items())) or "none"),
    ]
    context.emit({"survey": survey}, escape("\n".join(lines)))


@bench_app.command("load")
def load(
    ctx: typer.Context,
    devices: Annotated[int, typer.Option(min=1, max=256, help="Simulated gate devices.")] = 4,
    seconds: Annotated[float, typer.Option(min=1, max=3600, help="How long to run.")] = 20,
    kind: Annotated[LoadKind, typer.Option(help="What every device presents.")] = LoadKind.CARD,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Service worker processes (`serve --workers`).")
    ] = 1,
    postgres_url: Annotated[
        str | None,
        typer.Option(
            help="PostgreSQL server to serve from (an admin URL such as "
            "postgresql+psycopg://facegate@127.0.0.1:5432/postgres; the run creates and drops "
            "a database of its own). Default: SQLite."
        ),
    ] = None,
    baseline: Annotated[
        bool,
        typer.Option(
            "--baseline",
            help="First run one worker on SQLite with the same devices and kind, and report "
            "the ratio.",
        ),
    ] = False,
    out: Annotated[Path, typer.Option(help="Where to write the JSON result.")] = Path(
        "artifacts/bench/load.json"
    ),
) -> None:
    """Decisions/s, p50/p99 latency and errors of N concurrent gate devices on loopback."""
    context = get(ctx)
    results = []
    if baseline:
        results.append(run_load(kind, devices, seconds))
    results.append(run_load(kind, devices, seconds, workers=workers, postgres_url=postgres_url))
    summary: dict[str, object] = {"runs": results}
    if baseline:
        base, scaled = results
        summary["ratio"] = (
            round(scaled.decisions_per_s / base.decisions_per_s, 2)
            if (base.decisions_per_s)
            else None
        )
    path = write_json(summary if baseline else results[0], out)
    table = Table(title=f"facegate bench load ({kind.value}, rate limits off)")
    for column in ("database", "workers", "devices", "s", "decisions", "per s", "p50 ms",
                   "p99 ms", "errors"):  # fmt: skip
        table.add_column(column, justify="right")
    table.add_column("outcomes")
    for result in results:
        table.add_row(
            result.database,
            str(result.workers),
            str(result.devices),
            f"{result.seconds:g}",
            str(result.decisions),
            f"{result.decisions_per_s:g}",
            f"{result.p50_ms:g}",
            f"{result.p99_ms:g}",
            str(result.errors),
            ", ".join(f"{k} {v}" for k, v in result.outcomes.items()),
        )
    if context.as_json:
        payload = summary if baseline else {"load": results[0]}
        context.emit({**payload, "path": str(path)}, "")
    else:
        context.console.print(table)
        if "ratio" in summary:
            context.console.print(f"throughput ratio to the baseline: {summary['ratio']}")
        context.console.print(escape(f"wrote {path}"))


@bench_app.command("active")
def active(
    ctx: typer.Context,
    lfw: Annotated[
        Path, typer.Argument(help="Labelled photos, several per person (LFW: labels.csv).")
    ],
    nuaa: Annotated[
        Path | None, typer.Option(help="NUAA Photo Imposter folder: adds its moved prints.")
    ] = None,
    out: Annotated[Path, typer.Option(help="Output folder for JSON and Markdown.")] = Path(
        "artifacts/bench/active"
    ),
    limit: Annotated[
        int | None, typer.Option(min=1, help="Use this many people (drawn with --seed).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seeds people, challenges, placement, noise.")] = 0,
    point: Annotated[
        OperatingPoint, typer.Option(help="Operating point of the identity check.")
    ] = OperatingPoint.FMR_1E3,
) -> None:
    """Active liveness: attack acceptance per attack type and genuine rejection rate."""
    # scikit-image (planarity, sequences) is slow to import: only this command needs it
    from facegate.bench.active import markdown_report, run_active_bench

    context = get(ctx)
    images = read_labelled_folder(lfw)
    pipeline = context.pipeline
    threshold = operating_point(context.registry.entry(pipeline.embedding_model), point).threshold
    with progress_bar(context) as progress:
        result = run_active_bench(
            images,
            pipeline,
            identity_threshold=threshold,
            operating_point=point.value,
            nuaa_dir=nuaa,
            limit=limit,
            seed=seed,
            progress=progress,
        )
    command = shlex.join(["facegate", *context.argv])
    report = markdown_report(result, command)
    json_path = write_json({"command": command, "bench": result}, out / "active.json")
    md_path = atomic_write(out / "active.md", lambda tmp: tmp.write_text(report, encoding="utf-8"))
    context.emit(
        {"command": command, "report": str(json_path), "bench": result},
        escape(f"{report}\nwrote {json_path} and {md_path}"),
    )


def calibrate_command(
    ctx: typer.Context,
    labelled: Annotated[
        Path,
        typer.Argument(
            help="Folder of labelled images (one sub-folder per person, or labels.csv)."
        ),
    ],
    selection: Annotated[
        Selection, typer.Option(help="Which face is the subject.")
    ] = Selection.LARGEST,
) -> None:
    """Recalibrate the FMR 1e-3 / 1e-4 (/ 1e-5) thresholds and the impostor tail for 1:N
    thresholds on your own labelled images (all-vs-all)."""
    context = get(ctx)
    images = read_labelled_folder(labelled)
    with progress_bar(context) as progress:
        acquired = acquire_all(
            [im.path for im in images],
            pipeline_acquirer(context.pipeline, selection),
            "calibrating",
            progress,
        )
    scores, same = all_vs_all_scores(images, acquired)
    valid = np.isfinite(scores)
    command = shlex.join(["facegate", *context.argv])
    impostor, source = scores[valid & ~same], f"all-vs-all of {labelled}"
    points = calibrate(scores[valid & same], impostor, source, command)
    tail = fit_impostor_tail(impostor, source)
    community = community_thresholds(tail)
    with context.store():
        pass  # the site key belongs with the database: create both together, or neither
    site_key = load_site_key(context.settings, database_exists=True)
    path = write_calibration(
        context.settings.data_dir / CALIBRATION_FILE,
        context.pipeline.embedding_model,
        points,
        site_key,
        tail,
    )
    lines = [
        f"{n}: FNMR {p.fnmr_measured:.2%} at FMR {p.fmr_measured:.2e} "
        f"({p.n_impostor} impostor pairs)"
        for n, p in points.items()
    ]
    lines += [
        f"1:N, {c.gallery_size:,} templates, FPIR {c.fpir:g}: threshold {c.threshold:.4f} "
        f"(90% {c.interval[0]:.4f}-{c.interval[1]:.4f}; FMR {c.comparison_fmr:.1e}"
        f"{', extrapolated' if c.extrapolated else ''})"
        for c in community
    ]
    context.emit(
        {
            "calibration": points,
            "impostor_tail": tail,
            "identification": community,
            "path": str(path),
        },
        "\n".join([f"wrote {path}", *lines]),
    )


def register(app: typer.Typer) -> None:
    register_identification(bench_app)
    register_attacks(bench_app)
    register_import(bench_app)
    register_first_decision(bench_app)
    register_search(bench_app)
    app.add_typer(bench_app, name="bench")
    app.command("calibrate")(calibrate_command)
