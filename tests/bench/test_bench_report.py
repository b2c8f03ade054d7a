from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from facegate.bench.metrics import error_rates, fnmr_at_fmr, kfold_accuracy
from facegate.bench.report import plot_roc_det, write_json
from facegate.errors import MissingDependencyError


def test_plot_roc_det_writes_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    rng = np.random.default_rng(0)
    curves = {
        "good": error_rates(rng.normal(3, 1, 500), rng.normal(0, 1, 5000)),
        "poor": error_rates(rng.normal(1, 1, 500), rng.normal(0, 1, 5000)),
    }
    out = plot_roc_det(curves, tmp_path / "plots" / "roc.png", "test")
    assert out == tmp_path / "plots" / "roc.png"
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 10_000
    assert [p.name for p in out.parent.iterdir()] == ["roc.png"]  # no temp file left


def test_plot_roc_det_without_matplotlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry in sys.modules makes the import fail as if the package were absent.
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.raises(MissingDependencyError, match=r"install facegate\[eval\]"):
        plot_roc_det({}, tmp_path / "x.png", "t")
    assert not (tmp_path / "x.png").exists()


def test_write_json_converts_dataclasses_and_numpy(tmp_path: Path) -> None:
    obj = {
        "curve": error_rates([0.9, 0.8, 0.4], [0.1, 0.5, 0.3, 0.2]),
        "op": fnmr_at_fmr([0.9, 0.8, 0.4], [0.1, 0.5, 0.3, 0.2], 0.25),
        "kfold": kfold_accuracy([0.9, 0.8, 0.1, 0.2], [True, True, False, False], 2),
        "n": np.int64(3),
        "path": tmp_path / "a.jpg",
        "pair": (np.float32(0.5), True),
    }
    path = write_json(obj, tmp_path / "out" / "r.json")
    loaded = json.loads(path.read_text(encoding="utf-8"))
    assert loaded["curve"]["thresholds"][-1] == math.inf
    assert loaded["curve"]["fnmr"][4] == 1 / 3
    assert loaded["op"]["resolvable"] is True
    assert loaded["kfold"]["per_fold"] == [1.0, 1.0]
    assert loaded["n"] == 3
    assert loaded["path"] == str(tmp_path / "a.jpg")
    assert loaded["pair"] == [0.5, True]
    assert [p.name for p in path.parent.iterdir()] == ["r.json"]


def test_write_json_failure_keeps_old_file(tmp_path: Path) -> None:
    path = write_json({"v": 1}, tmp_path / "r.json")
    write_json({"v": 2}, path)
    assert json.loads(path.read_text(encoding="utf-8")) == {"v": 2}
    with pytest.raises(TypeError, match="object"):
        write_json({"v": object()}, path)
    assert json.loads(path.read_text(encoding="utf-8")) == {"v": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
