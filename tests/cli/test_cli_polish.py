"""The CLI read by a person at an 80-column terminal: help that does not give switches a
value, a notice shown whole, a subject table that fits, names not ids, and a demo whose
deletion step does not read like a failure."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import typer
from numpy.typing import NDArray
from rich.cells import cell_len
from typer.core import TyperGroup
from typer.testing import CliRunner, Result

from facegate.cli.main import app
from facegate.core.config import load_settings
from facegate.demo import DELETED_AFTER_WITHDRAWAL, deletion_outcome
from facegate.fixtures import encode_png
from facegate.store import DeletionReason, Store
from facegate.store.records import DeletionReceipt

COLUMNS = 80
ENV = {"COLUMNS": str(COLUMNS)}
LONG_NAMES = (
    "Zhang Wei (Building 3, Unit 2, Room 1201), who has a long name",
    "欧阳娜娜是一个名字很长的住户用来检查中文名字是否完整换行",
)
_BOX = set("│┃┆┊║─━┄┈═┌┐└┘├┤┬┴┼╭╮╰╯┏┓┗┛┣┫┳┻╋┡┩╇")


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env=ENV)


def ok(*args: str) -> str:
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result.output


def _fits(output: str) -> None:
    wide = [line for line in output.splitlines() if cell_len(line) > COLUMNS]
    assert not wide, wide


def _flat(output: str) -> str:
    """The output's words with the table borders and line breaks taken out."""
    return "".join(ch for ch in output if ch not in _BOX and not ch.isspace())


def _ready_site() -> None:
    ok("init", "--site", "demo")
    ok(
        "notice", "publish", "--site", "demo", "--version", "v1", "--starter",
        "--operator", "演示物业服务有限公司", "--contact", "1号楼物业前台",
    )  # fmt: skip
    ok("assessment", "record", "--site", "demo", "--assessor", "Wang", "--summary", "PIA done.")


def _command_paths(group: TyperGroup, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    ctx = typer.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if isinstance(command, TyperGroup):
            paths += _command_paths(command, (*prefix, name))
        elif command is not None:
            paths.append((*prefix, name))
    return paths


def test_help_gives_no_switch_a_value_type() -> None:
    root = typer.main.get_group(app)
    assert isinstance(root, TyperGroup)
    paths = _command_paths(root)
    assert ("compliance", "report") in paths
    assert len(paths) > 20
    for path in paths:
        output = ok(*path, "--help")
        assert "<bool>" not in output, path
        _fits(output)
    # Options that take a value still say what kind.
    report_help = ok("compliance", "report", "--help")
    assert "<path>" in report_help
    assert "--strict " in report_help


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_notice_show_prints_the_whole_notice(data_dir: Path, lang: str) -> None:
    _ready_site()
    output = ok("notice", "show", "--site", "demo", "--lang", lang)
    _fits(output)
    assert "…" not in output
    with Store.open(load_settings(data_dir=data_dir)) as store:
        notice = store.notices.current("demo")
    text = {k.value: v for k, v in notice.content.texts.items()}[lang]
    flat = _flat(output)
    for field in ("purpose", "method", "scope", "retention", "withdrawal", "contact"):
        assert _flat(getattr(text, field)) in flat, field
    assert ("处理目的" if lang == "zh" else "Purpose") in output


def test_subject_list_fits_80_columns_with_whole_headers_and_ids() -> None:
    _ready_site()
    ids = []
    for name in LONG_NAMES:
        added = json.loads(
            ok("--json", "subject", "add", "--site", "demo", "--name", name, "--adult")
        )
        ids.append(added["subject"]["id"])
    output = ok("subject", "list", "--site", "demo")
    _fits(output)
    assert "…" not in output
    header = output.splitlines()[0].split()
    assert header == ["name", "/", "id", "kind", "status", "consent", "templates"]
    lines = [line.strip() for line in output.splitlines()]
    for subject_id in ids:
        assert subject_id in lines  # whole, on its own line: it is copied into other commands
    # The name column alone, read down: each long name wraps, none is cut.
    first_column = "".join(
        re.sub(r"\s{2,}resident\s+active\s+no\s+0\s*$", "", line) for line in lines
    )
    for name in LONG_NAMES:
        assert _flat(name) in _flat(first_column)


def test_identify_prints_the_name_and_json_has_the_id_too(
    tmp_path: Path, face_rgb: NDArray[np.uint8]
) -> None:
    _ready_site()
    photo = tmp_path / "face.png"
    photo.write_bytes(encode_png(face_rgb))
    mirrored = tmp_path / "mirrored.png"
    mirrored.write_bytes(encode_png(np.ascontiguousarray(face_rgb[:, ::-1])))
    added = json.loads(
        ok("--json", "subject", "add", "--site", "demo", "--name", "Eileen", "--adult")
    )
    subject_id = added["subject"]["id"]
    ok("consent", "record", subject_id, "--evidence", "esign:tx-1")
    ok("enroll", subject_id, str(photo))
    human = ok("identify", "--skip-liveness", str(mirrored))
    assert human.strip() == "identified: Eileen (of 1 subjects)"
    assert subject_id not in human
    body = json.loads(ok("--json", "identify", "--skip-liveness", str(mirrored)))
    assert (body["name"], body["identification"]["subject_id"]) == ("Eileen", subject_id)


def _receipt(templates: int, keys: int) -> DeletionReceipt:
    return DeletionReceipt(
        id="r1",
        subject_id="s1",
        site_code="demo",
        deleted_at=datetime(2026, 12, 6, tzinfo=UTC),
        reason=DeletionReason.REQUEST,
        requested_by="demo-operator",
        subject_erased=True,
        templates_deleted=templates,
        credentials_deleted=0,
        snapshots_deleted=0,
        keys_destroyed=keys,
        audit_event_id=1,
    )


def test_demo_deletion_says_what_happened_not_false() -> None:
    # After the withdrawal: the face data and key were already gone, the record goes now.
    after_withdrawal = deletion_outcome(_receipt(templates=0, keys=0))
    assert after_withdrawal == DELETED_AFTER_WITHDRAWAL
    assert "already erased at withdrawal" in after_withdrawal
    assert "False" not in after_withdrawal
    assert deletion_outcome(_receipt(templates=2, keys=1)) == (
        "record erased: 2 face template(s) deleted, data key destroyed"
    )
