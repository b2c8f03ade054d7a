"""``facegate bench import``: a generated resident file imported into a throwaway store."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest

from facegate.bench.resident_import import generate_csv
from facegate.cli.main import main

ROWS = 200


def test_the_bench_imports_every_row_and_times_the_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench"
    code = main(["bench", "import", "--rows", str(ROWS), "--repeats", "2", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert f"facegate bench import: {ROWS} residents" in printed
    report = json.loads((out / "import-seed0.json").read_text(encoding="utf-8"))
    result = report["result"]
    assert (result["rows"], result["imported"], result["problems"]) == (ROWS, ROWS, 0)
    assert result["seed"] == 0
    # The site's creation, the import, one per resident and the export; the chain holds.
    assert (result["audit_events"], result["audit_ok"]) == (ROWS + 3, True)
    assert result["import_s"] > 0
    timings = {q["name"]: q for q in result["queries"]}
    assert set(timings) == {
        "first page",
        "last page",
        "name contains",
        "resident number",
        "building + unit",
        "children",
    }
    assert timings["first page"]["total"] == ROWS
    assert all(q["median_ms"] <= q["max_ms"] for q in timings.values())
    assert report["command"].startswith("facegate bench import --rows 200")


def test_the_generated_file_is_realistic_and_distinct() -> None:
    data = generate_csv(500, seed=3, today=date(2026, 12, 6))
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) == 500
    assert len({(r["name"], r["building"], r["unit"], r["household"]) for r in rows}) == 500
    assert {int(r["building"]) for r in rows} <= set(range(1, 41))
    assert all("\u4e00" <= r["name"][0] <= "\u9fff" for r in rows)
    children = [r for r in rows if r["born"]]
    assert 10 < len(children) < 90
    assert all(r["expires"] for r in rows if r["kind"] != "resident")
    assert generate_csv(500, seed=3, today=date(2026, 12, 6)) == data


def test_the_bench_refuses_zero_rows(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "import", "--rows", "0"]) != 0
    capsys.readouterr()
