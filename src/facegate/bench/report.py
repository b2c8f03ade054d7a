"""Benchmark output: ROC/DET plots and atomically written JSON."""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from facegate.bench.metrics import ErrorCurve
from facegate.errors import MissingDependencyError

_FMR_FLOOR = 1e-5


def atomic_write(path: Path, write: Callable[[Path], object]) -> Path:
    """Call ``write`` on a temp file beside ``path``, then rename it into place.

    Readers never see a half-written file, and a failed write leaves the old one intact.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def plot_roc_det(curves: Mapping[str, ErrorCurve], path: Path, title: str) -> Path:
    """Write one PNG with a ROC panel (TAR = 1 - FNMR vs FMR, log x from 1e-5 to 1) and a
    DET panel (FNMR vs FMR, both log). Returns ``path``.

    Needs matplotlib (the ``eval`` extra); uses the Agg canvas directly, so no global
    pyplot state or display is touched.
    """
    require_plotting()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 5.0 + 0.22 * len(curves)), layout="constrained")
    FigureCanvasAgg(fig)
    roc, det = fig.subplots(1, 2)
    for name, c in curves.items():
        # Zero rates cannot sit on a log axis; pin them just below the visible range.
        fmr = np.maximum(c.fmr, _FMR_FLOOR / 10)
        label = f"{name} (EER {c.eer():.2%})"
        roc.plot(fmr, 1.0 - c.fnmr, label=label)
        det.plot(fmr, np.maximum(c.fnmr, _FMR_FLOOR / 10), label=label)
    roc.set(
        xscale="log",
        xlim=(_FMR_FLOOR, 1.0),
        ylim=(0.0, 1.01),
        xlabel="FMR (false match rate)",
        ylabel="TAR = 1 - FNMR",
        title="ROC",
    )
    det.set(
        xscale="log",
        yscale="log",
        xlim=(_FMR_FLOOR, 1.0),
        ylim=(_FMR_FLOOR, 1.0),
        xlabel="FMR (false match rate)",
        ylabel="FNMR (false non-match rate)",
        title="DET",
    )
    for ax in (roc, det):
        ax.grid(True, which="both", alpha=0.3)
    if curves:
        # One legend under both panels: long dataset names would cover the curves.
        fig.legend(*roc.get_legend_handles_labels(), loc="outside lower center", fontsize="small")
    fig.suptitle(title)
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))


def plot_det_curves(
    curves: Mapping[str, ErrorCurve], path: Path, title: str, *, x_label: str, y_label: str
) -> Path:
    """Write one DET panel (``curve.fnmr`` against ``curve.fmr``, both log) as a PNG.

    For error pairs other than FMR/FNMR, e.g. 1:N's FPIR/FNIR, which the axis labels name.
    """
    require_plotting()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.5, 5.5), layout="constrained")
    FigureCanvasAgg(fig)
    det = fig.subplots()
    # The smallest rate each axis can resolve; zero rates are pinned just below it.
    x_low = min((1.0 / c.n_impostor for c in curves.values()), default=_FMR_FLOOR)
    y_low = min((1.0 / c.n_genuine for c in curves.values()), default=_FMR_FLOOR)
    for name, c in curves.items():
        det.plot(np.maximum(c.fmr, x_low / 2), np.maximum(c.fnmr, y_low / 2), label=name)
    det.set(
        xscale="log",
        yscale="log",
        xlim=(x_low / 2, 1.0),
        ylim=(y_low / 2, 1.0),
        xlabel=x_label,
        ylabel=y_label,
        title=title,
    )
    det.grid(True, which="both", alpha=0.3)
    if curves:
        det.legend(fontsize="small")
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))


def require_plotting() -> None:
    """Fail fast, before hours of benchmarking, when matplotlib (``facegate[eval]``) is absent."""
    try:
        import matplotlib.backends.backend_agg
        import matplotlib.figure  # noqa: F401
    except ImportError as e:
        raise MissingDependencyError("plotting needs matplotlib: install facegate[eval]") from e


#: Dataclass field metadata key; ``False`` keeps a field (e.g. a large curve) out of JSON.
JSON_FIELD = "json"


def to_jsonable(obj: Any) -> Any:
    """Recursively turn dataclasses, numpy values, paths and mappings into JSON types.

    Non-finite floats stay floats and are written as ``Infinity``/``-Infinity``/``NaN``
    (Python's ``json`` reads them back; strict parsers do not).
    """
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {
            f.name: to_jsonable(getattr(obj, f.name))
            for f in dataclasses.fields(obj)
            if f.metadata.get(JSON_FIELD, True)
        }
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")


def write_json(obj: Any, path: Path) -> Path:
    """Write ``obj`` as indented UTF-8 JSON, atomically (temp file + ``os.replace``)."""
    text = json.dumps(to_jsonable(obj), indent=2, ensure_ascii=False) + "\n"
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
