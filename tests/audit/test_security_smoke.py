"""CI's smoke run of ``facegate audit security``: every section runs on a few people with
tiny budgets, the report has its structure, and every defence was exercised."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from facegate.audit.report import HTML_FILE, QUERIES_PLOT, REPORT_FILE, SUCCESS_PLOT, TABLE_FILE
from facegate.cli.main import main

pytest.importorskip("art", reason="the audit extra (facegate[audit]) is not installed")

EXPECTED_ATTACKS = {
    "evasion_pgd_face_impersonation",
    "evasion_pgd_face_dodging",
    "evasion_pgd_eyeglasses_impersonation",
    "evasion_pgd_eyeglasses_dodging",
    "theft_decision_only_impersonation",
    "brute_force_any_resident",
    "poisoning_morph_enrollment",
    "poisoning_detector_backdoor",
    "model_file_tampering",
}


@pytest.mark.shared_data
@pytest.mark.slow
def test_smoke_audit_writes_a_complete_report(shared_data_dir: Path, tmp_path: Path) -> None:
    groups = tmp_path / "groups.csv"
    lfw = shared_data_dir / "lfw_deepfunneled_subset"
    # The auditor's groups: here an arbitrary split by name, never inferred from faces.
    people = sorted(p.name for p in (lfw / "images").iterdir() if p.is_dir())
    groups.write_text(
        "identity,group\n"
        + "".join(f"{p},{'A' if k % 2 else 'B'}\n" for k, p in enumerate(people)),
        encoding="utf-8",
    )
    out = tmp_path / "audit"
    code = main(
        [
            "audit",
            "security",
            "--smoke",
            "--data",
            str(lfw),
            "--detection-data",
            str(shared_data_dir),
            "--groups",
            str(groups),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    report = json.loads((out / REPORT_FILE).read_text(encoding="utf-8"))
    assert report["version"] == 1
    assert report["skipped"] == {}
    assert report["data"]["equivalence"]["max_cosine_distance"] < 1e-5
    names = {a["name"] for a in report["attacks"]}
    assert names == EXPECTED_ATTACKS
    for attack in report["attacks"]:
        for key in ("goal", "access", "budget", "n", "success_undefended", "defences"):
            assert key in attack, (attack["name"], key)
        assert attack["n"] > 0, attack["name"]
        assert 0.0 <= attack["success_undefended"] <= 1.0
        assert attack["defences"], attack["name"]
        for defence in attack["defences"]:
            assert defence["exercised"], (attack["name"], defence["name"])
            assert defence["n"] > 0, (attack["name"], defence["name"])
            assert 0.0 <= defence["success_defended"] <= 1.0
            assert defence["cost"]
    assert report["fairness"]
    assert report["template_protection"]
    for name in (HTML_FILE, TABLE_FILE, SUCCESS_PLOT, QUERIES_PLOT):
        assert (out / name).stat().st_size > 0, name
    page = (out / HTML_FILE).read_text(encoding="utf-8")
    assert all(name in page for name in EXPECTED_ATTACKS)
