"""``facegate bench first-decision`` on a handful of people: it decides right and writes
its figures (the timing itself is a benchmark, never asserted)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from facegate.bench.first_decision import run_first_decision
from facegate.cli.main import app


def test_the_first_decisions_identify_the_newcomer_then_nobody(tmp_path: Path) -> None:
    result = run_first_decision(4, 2, data_dir=tmp_path)
    assert result.decisions_correct
    assert (result.people, result.templates) == (4, 4)
    assert (result.after_enrollment.n, result.after_erasure.n, result.full_rebuild.n) == (2, 2, 3)
    assert result.after_enrollment.median_ms <= result.after_enrollment.max_ms


def test_the_command_writes_first_decision_json(tmp_path: Path) -> None:
    out = tmp_path / "out"
    answer = CliRunner().invoke(
        app,
        ["bench", "first-decision", "--people", "3", "--repeats", "1", "--out", str(out),
         "--data-dir", str(tmp_path)],
    )  # fmt: skip
    assert answer.exit_code == 0, answer.output
    written = json.loads((out / "first_decision.json").read_text())
    assert written["result"]["people"] == 3
    assert written["result"]["decisions_correct"] is True
    assert set(written["result"]["after_enrollment"]) == {"n", "median_ms", "p90_ms", "max_ms"}
