from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from facegate.errors import MissingDependencyError
from facegate.liveness.pad_metrics import (
    BONA_FIDE,
    apcer,
    bpcer,
    det_curve,
    markdown_table,
    pad_report,
    plot_det,
    threshold_at_apcer,
)

# Hand case: 4 bona fide, 3 print, 2 replay. Accepted as bona fide when score >= threshold.
BF = [0.3, 0.5, 0.8, 0.9]
PRINT = [0.1, 0.4, 0.6]
REPLAY = [0.2, 0.7]
SCORES = BF + PRINT + REPLAY
SPECIES = [BONA_FIDE] * 4 + ["print"] * 3 + ["replay"] * 2


def test_rates_at_threshold_exact() -> None:
    # t = 0.5: print {0.6} of 3, replay {0.7} of 2 accepted; bona fide {0.3} of 4 rejected.
    assert apcer(SCORES, SPECIES, 0.5) == {"print": 1 / 3, "replay": 1 / 2}
    assert bpcer(SCORES, SPECIES, 0.5) == 1 / 4


def test_ties_at_threshold_are_accepted() -> None:
    # t = 0.6 equals a print score (accepted) and lies above bona fide 0.5 (rejected).
    assert apcer(SCORES, SPECIES, 0.6) == {"print": 1 / 3, "replay": 1 / 2}
    assert bpcer(SCORES, SPECIES, 0.5) == 1 / 4  # bona fide 0.5 at t = 0.5 is accepted
    assert bpcer(SCORES, SPECIES, 0.6) == 2 / 4
    assert apcer(SCORES, SPECIES, math.nextafter(0.6, 1.0))["print"] == 0.0


def test_pad_report_exact() -> None:
    r = pad_report(SCORES, SPECIES, 0.5)
    assert r.threshold == 0.5
    assert r.apcer == {"print": 1 / 3, "replay": 1 / 2}
    assert r.worst_species == "replay"
    assert r.apcer_max == 1 / 2
    assert r.bpcer == 1 / 4
    assert r.acer == 3 / 8
    assert r.counts == {BONA_FIDE: 4, "print": 3, "replay": 2}
    # DET points: at t = 0.6 APCER_max = 1/2 (replay 0.7) and BPCER = 2/4: an exact crossing.
    assert r.eer == 0.5
    # APCER 1 % and 5 %: no attack may pass, so t = just above 0.7; bona fide 0.3, 0.5 fail.
    for target in (0.01, 0.05):
        p = r.at_apcer(target)
        assert p.threshold == math.nextafter(0.7, math.inf)
        assert p.apcer_max == 0.0
        assert p.bpcer == 2 / 4
        assert p.resolvable is False  # 2 replays < 1 / 0.05
    assert [p.target_apcer for p in r.bpcer_at_apcer] == [0.01, 0.05]
    with pytest.raises(KeyError, match=r"APCER 0\.1"):
        r.at_apcer(0.1)


def test_pad_report_ties_for_worst_go_to_first_name() -> None:
    # t = 0.65: print 0, replay 1/2. t = 0: every attack accepted, both species at 1.
    assert pad_report(SCORES, SPECIES, 0.65).worst_species == "replay"
    assert pad_report(SCORES, SPECIES, 0.0).worst_species == "print"  # both 1.0


def test_threshold_at_apcer_exact() -> None:
    # 50 %: print may accept 1 of 3 (just above 0.4), replay 1 of 2 (just above 0.2).
    t = threshold_at_apcer(SCORES, SPECIES, 0.5)
    assert t == math.nextafter(0.4, math.inf)
    assert apcer(SCORES, SPECIES, t) == {"print": 1 / 3, "replay": 1 / 2}
    assert max(apcer(SCORES, SPECIES, math.nextafter(t, -math.inf)).values()) > 0.5
    assert bpcer(SCORES, SPECIES, t) == 1 / 4
    # 1/3: print may still accept 1, but replay none: the worst species sets the threshold.
    assert threshold_at_apcer(SCORES, SPECIES, 1 / 3) == math.nextafter(0.7, math.inf)
    assert threshold_at_apcer(SCORES, SPECIES, 0.0) == math.nextafter(0.7, math.inf)
    r = pad_report(SCORES, SPECIES, 0.5, apcer_targets=(0.5,))
    assert r.at_apcer(0.5).bpcer == 1 / 4
    assert r.at_apcer(0.5).resolvable is True


def test_det_curve_exact() -> None:
    c = det_curve(SCORES, SPECIES)
    assert c.thresholds.tolist() == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, math.inf]
    assert c.apcer["print"].tolist() == [1, 2 / 3, 2 / 3, 2 / 3, 1 / 3, 1 / 3, 0, 0, 0, 0]
    assert c.apcer["replay"].tolist() == [1, 1, 1 / 2, 1 / 2, 1 / 2, 1 / 2, 1 / 2, 0, 0, 0]
    assert c.apcer_max.tolist() == [1, 1, 2 / 3, 2 / 3, 1 / 2, 1 / 2, 1 / 2, 0, 0, 0]
    assert c.bpcer.tolist() == [0, 0, 0, 1 / 4, 1 / 4, 2 / 4, 2 / 4, 2 / 4, 3 / 4, 1]
    for t in (-1.0, 0.1, 0.45, 0.5, 0.65, 0.9, 2.0, math.inf):
        assert c.rates_at(t) == (max(apcer(SCORES, SPECIES, t).values()), bpcer(SCORES, SPECIES, t))


def test_eer_interpolates_between_operating_points() -> None:
    # Thresholds 0.5, 0.55, 0.6: (APCER, BPCER) goes (1, 0), (1, 1/4), (0, 1/4); the
    # crossing lies 3/4 of the way along the last segment, at 1/4.
    c = det_curve([0.5, 0.6, 0.7, 0.8, 0.55], [BONA_FIDE] * 4 + ["print"])
    assert c.eer() == pytest.approx(0.25, abs=1e-12)


def test_to_dict_is_json(tmp_path: Path) -> None:
    d = pad_report(SCORES, SPECIES, 0.5).to_dict()
    loaded = json.loads(json.dumps(d))
    assert loaded["apcer"] == {"print": 1 / 3, "replay": 0.5}
    assert loaded["acer"] == 0.375
    assert loaded["bpcer_at_apcer"][0] == {
        "target_apcer": 0.01,
        "threshold": math.nextafter(0.7, math.inf),
        "apcer_max": 0.0,
        "bpcer": 0.5,
        "resolvable": False,
    }
    assert loaded["counts"] == {"bona_fide": 4, "print": 3, "replay": 2}


def test_markdown_table() -> None:
    md = markdown_table(pad_report(SCORES, SPECIES, 0.5))
    lines = md.splitlines()
    assert lines[0] == "| Metric (ISO/IEC 30107-3) | Value |"
    assert lines[1] == "|---|---:|"
    assert "| APCER print (n = 3) | 33.33% |" in lines
    assert "| APCER worst species (replay) | 50.00% |" in lines
    assert "| BPCER (n = 4) | 25.00% |" in lines
    assert "| ACER = (APCER worst + BPCER) / 2 | 37.50% |" in lines
    assert "| BPCER at APCER worst <= 5% | 50.00% at threshold 0.7 " in md
    assert "(fewer than 20 attacks of a species) |" in md
    assert "| EER (APCER worst = BPCER) | 50.00% |" in lines


@pytest.mark.parametrize(
    ("scores", "species", "message"),
    [
        ([], [], "scores is empty"),
        ([[0.1, 0.2]], [BONA_FIDE, "print"], "must be 1-D"),
        ([0.1, math.nan], [BONA_FIDE, "print"], r"finite, scores\[1\] is nan"),
        ([0.1, math.inf], [BONA_FIDE, "print"], "finite"),
        ([0.1, 0.2], [BONA_FIDE], "1 labels for 2 scores"),
        ([0.1, 0.2], "ab", "not a single string"),
        ([0.1, 0.2], [BONA_FIDE, ""], r"species\[1\] must be a non-empty string"),
        ([0.1, 0.2], [BONA_FIDE, 3], r"species\[1\] must be a non-empty string, got 3"),
        ([0.1, 0.2], ["print", "replay"], "no bona fide presentations"),
        ([0.1, 0.2], [BONA_FIDE, BONA_FIDE], "no attack presentations"),
    ],
)
def test_bad_input(scores: list[float], species: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pad_report(scores, species, 0.5)


def test_one_class_is_enough_where_only_it_is_needed() -> None:
    assert apcer([0.1, 0.9], ["print", "print"], 0.5) == {"print": 0.5}
    assert bpcer([0.1, 0.9], [BONA_FIDE, BONA_FIDE], 0.5) == 0.5
    with pytest.raises(ValueError, match="no attack presentations"):
        apcer([0.1], [BONA_FIDE], 0.5)
    with pytest.raises(ValueError, match="no bona fide presentations"):
        bpcer([0.1], ["print"], 0.5)
    with pytest.raises(ValueError, match="no bona fide"):
        det_curve([0.1], ["print"])


def test_bad_threshold_and_target() -> None:
    with pytest.raises(ValueError, match="threshold is nan"):
        apcer(SCORES, SPECIES, math.nan)
    with pytest.raises(ValueError, match="threshold is nan"):
        det_curve(SCORES, SPECIES).rates_at(math.nan)
    for target in (-0.1, 1.0, math.nan):
        with pytest.raises(ValueError, match=r"target must be in \[0, 1\)"):
            threshold_at_apcer(SCORES, SPECIES, target)


def test_plot_det_writes_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    rng = np.random.default_rng(0)
    scores = np.concatenate([rng.normal(2, 1, 400), rng.normal(-1, 1, 300), rng.normal(0, 1, 200)])
    species = [BONA_FIDE] * 400 + ["print"] * 300 + ["replay"] * 200
    curves = {"fold A": det_curve(scores, species), "hand case": det_curve(SCORES, SPECIES)}
    path = tmp_path / "plots" / "det.png"
    out = plot_det(curves, path, "PAD DET", operating_points={"operating": 0.5, "APCER 5%": 1.0})
    assert out == path
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 10_000
    assert [p.name for p in out.parent.iterdir()] == ["det.png"]  # no temp file left
    with pytest.raises(ValueError, match="curves is empty"):
        plot_det({}, tmp_path / "empty.png", "t")


def test_plot_det_without_matplotlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry in sys.modules makes the import fail as if the package were absent.
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.raises(MissingDependencyError, match=r"install facegate\[eval\]"):
        plot_det({"x": det_curve(SCORES, SPECIES)}, tmp_path / "x.png", "t")
    assert not (tmp_path / "x.png").exists()
