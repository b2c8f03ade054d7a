"""``facegate liveness train`` and ``facegate bench pad``."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from facegate.bench.pad import LABELS_FILE, PadBenchResult, run_pad_bench
from facegate.bench.report import atomic_write, require_plotting
from facegate.cli.bench import bench_app
from facegate.cli.context import get, progress_bar
from facegate.liveness.corpus import build_corpus
from facegate.liveness.features import FeatureSpec
from facegate.liveness.pad_metrics import markdown_table
from facegate.liveness.passive import PAD_MODEL
from facegate.liveness.training import (
    DEFAULT_C,
    Presentation,
    extract,
    fit,
    read_samples,
    require_training,
)
from facegate.models.registry import ModelRegistry, sha256_of
from facegate.vision.yunet import YunetDetector

liveness_app = typer.Typer(help="Liveness: the passive PAD model.", no_args_is_help=True)

DatasetArg = Annotated[
    Path,
    typer.Argument(
        help="A data root like ../shared/data (the development corpus: LFW, deepface and "
        "NUAA with synthetic attacks), or one PAD folder with labels.csv: "
        "path,label (live/spoof),attack_type,subject."
    ),
]


@liveness_app.command("train")
def train(
    ctx: typer.Context,
    dataset: DatasetArg,
    out: Annotated[Path, typer.Option(help="Model file to write (JSON).")] = Path(
        f"artifacts/liveness/{PAD_MODEL}.json"
    ),
    c: Annotated[float, typer.Option(min=1e-6, help="Inverse L2 strength.")] = DEFAULT_C,
) -> None:
    """Train the passive PAD model on every sample of DATASET and write it with its SHA-256.

    Deterministic: the same data gives the same file. To ship it, copy it to
    src/facegate/models/ and put its SHA-256 and size in registry.json.
    """
    context = get(ctx)
    require_training()
    samples: list[Presentation] = (
        list(read_samples(dataset))
        if (dataset / LABELS_FILE).is_file()
        else list(build_corpus(dataset))
    )
    spec = FeatureSpec()
    with progress_bar(context) as progress:
        task = progress.add_task("features", total=len(samples))
        data = extract(samples, _detector(), spec, lambda: progress.advance(task))
    metadata: dict[str, object] = {
        "trained_on": dataset.resolve().name,
        "presentations": len(data.samples),
        "no_face": len(data.missed),
        "subjects": len(set(data.subjects.tolist())),
        "c": c,
        "command": shlex.join(["facegate", "liveness", "train", str(dataset), "--c", str(c)]),
    }
    model = fit(data.features, data.bona_fide, spec, c, metadata)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, lambda tmp: tmp.write_text(model.to_json(), encoding="utf-8"))
    digest = sha256_of(out)
    size = out.stat().st_size
    context.emit(
        {"path": str(out), "sha256": digest, "size_bytes": size, **metadata},
        f"wrote {out}\nsha256 {digest}\nsize_bytes {size}",
    )


@bench_app.command("pad")
def bench_pad(
    ctx: typer.Context,
    dataset: DatasetArg,
    smoke: Annotated[
        Path | None,
        typer.Option(help="A PAD folder the shipped model is run on (never trained on)."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for pad.json and pad_det.png.")] = Path(
        "artifacts/bench/pad"
    ),
    plot: Annotated[bool, typer.Option(help="Write the DET plot (needs matplotlib).")] = True,
) -> None:
    """ISO/IEC 30107-3 APCER per attack type, BPCER, ACER and BPCER at APCER 1%/5%, by
    leave-one-subject-out cross-validation, plus a DET plot."""
    context = get(ctx)
    require_training()
    if plot:
        require_plotting()
    out.mkdir(parents=True, exist_ok=True)
    with progress_bar(context) as progress:
        result = run_pad_bench(dataset, _detector(), out, smoke, progress, plot)
    lines = [
        f"{result.dataset}: {result.subjects} subjects, presentations {result.presentations}, "
        f"no face found {result.no_face or 0}; features {result.feature_ms_median} ms per "
        "face (median, this machine)",
        "",
    ]
    lines += _cross_domain_lines(result)
    lines.append(markdown_table(result.report))
    if result.smoke:
        lines += ["", "Shipped model on the smoke set:"]
        lines += [
            f"  {s.file} ({s.species}): "
            + ("no face" if s.score is None else f"score {s.score:.3f}, correct {s.correct}")
            for s in result.smoke
        ]
    lines += [
        "",
        f"wrote {result.json_path}" + (f" and {result.det_png}" if result.det_png else ""),
    ]
    context.emit({"pad": result}, escape("\n".join(lines)))


def _detector() -> YunetDetector:
    """The gate's detector: the model is trained and measured on the boxes it will get."""
    return YunetDetector(ModelRegistry.default())


def _cross_domain_lines(result: PadBenchResult) -> list[str]:
    cross = result.cross_domain
    if cross is None:
        return ["Leave one subject out:"]
    lines = []
    if cross.nuaa is not None:
        lines += ["NUAA, each person left out (real prints):", markdown_table(cross.nuaa)]
    lines.append("Cameras left out of training (BPCER on their original photos; APCER):")
    for held in cross.cameras:
        apcer = ", ".join(f"{name} {rate}" for name, rate in held.apcer.items())
        lines.append(f"  {held.held_out}: BPCER {held.bpcer}; APCER {apcer}")
    lines.append("Synthetic species left out of training (APCER, people unseen too):")
    lines += [f"  {name}: {rate}" for held in cross.species for name, rate in held.apcer.items()]
    lines += ["", "All presentations, 5 folds of people:"]
    return lines


def register(app: typer.Typer) -> None:
    app.add_typer(liveness_app, name="liveness")
