"""The training-loss curve of a detector run, as a PNG."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from facegate.bench.report import atomic_write, require_plotting

#: Steps averaged per plotted point: single-step losses of a 4-image batch are too noisy.
LOSS_SMOOTHING_STEPS = 10


def plot_loss(steps: Sequence[int], losses: Sequence[dict[str, float]], path: Path) -> Path:
    """Each loss term and their total against the step, smoothed by a running mean."""
    require_plotting()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    names = sorted({name for entry in losses for name in entry})
    series = {name: np.array([entry.get(name, np.nan) for entry in losses]) for name in names}
    series["total"] = np.nansum(np.stack(list(series.values())), axis=0) if names else np.array([])
    window = max(1, min(LOSS_SMOOTHING_STEPS, len(steps)))
    kernel = np.ones(window) / window
    for name, values in series.items():
        if len(values) >= window:
            smooth = np.convolve(values, kernel, mode="valid")
            ax.plot(
                np.asarray(steps)[window - 1 :], smooth, label=name, lw=2 if name == "total" else 1
            )
    ax.set(
        xlabel="step",
        ylabel=f"loss (mean of {window} steps)",
        yscale="log",
        title="Detector training",
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
