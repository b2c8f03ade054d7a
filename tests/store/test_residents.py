"""The console's resident list: homes, search and paging, CSV import (all or nothing), export."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from facegate.errors import InvalidRecordError
from facegate.store import AuditAction, SiteInfo, Store, SubjectKind, SubjectStatus
from facegate.store.homes import Home
from facegate.store.resident_csv import BOM, EXPORT_COLUMNS, MAX_IMPORT_BYTES, Reason
from facegate.store.residents import ResidentFilter, ResidentQuery
from facegate.store.schema import SUBJECT_LIST_ORDER, Subject

from .helpers import OPERATOR, SITE_CODE

CHILD_BORN = (date.today() - timedelta(days=365 * 6)).isoformat()
NEXT_YEAR = (date.today() + timedelta(days=365)).isoformat()


def _csv(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _problems(store: Store, data: bytes) -> list[tuple[int, str | None, str]]:
    report = store.residents.import_csv(SITE_CODE, data, dry_run=True, actor=OPERATOR)
    return [(p.line, p.column, p.reason) for p in report.problems]


def test_a_subject_keeps_building_unit_and_household(store: Store, site: SiteInfo) -> None:
    subject = store.add_subject(
        SITE_CODE,
        "王芳",
        SubjectKind.RESIDENT,
        home=Home(" 12 ", "3", "1202"),
        actor=OPERATOR,
    )
    again = store.get_subject(subject.id)
    assert (again.building, again.unit, again.household) == ("12", "3", "1202")
    empty = store.add_subject(SITE_CODE, "李雷", SubjectKind.RESIDENT, home=Home("", None, " "))
    assert (empty.building, empty.unit, empty.household) == (None, None, None)


@pytest.mark.parametrize(
    ("home", "reason"),
    [
        (Home(building="x" * 17), "text_too_long"),
        (Home(household="12\x0702"), "control_characters"),
    ],
)
def test_a_bad_home_label_is_refused_with_its_reason(
    store: Store, site: SiteInfo, home: Home, reason: str
) -> None:
    with pytest.raises(InvalidRecordError) as refused:
        store.add_subject(SITE_CODE, "王芳", SubjectKind.RESIDENT, home=home)
    assert refused.value.reason == reason


def _many(store: Store) -> None:
    lines = ["name,building,unit,household,born"]
    for i in range(120):
        born = CHILD_BORN if i % 10 == 0 else ""
        lines.append(f"居民{i:03d},{i % 12 + 1},{i % 2 + 1},{i:04d},{born}")
    report = store.residents.import_csv(SITE_CODE, _csv(*lines), dry_run=False, actor=OPERATOR)
    assert (report.imported, report.problems) == (120, [])


def test_search_pages_and_orders_by_building_as_people_count(store: Store, site: SiteInfo) -> None:
    _many(store)
    first = store.residents.search(SITE_CODE, ResidentQuery(per_page=25))
    assert (first.total, len(first.items)) == (120, 25)
    buildings = [row.subject.building for row in first.items]
    # "2" comes before "10": shorter labels first.
    assert buildings[:10] == ["1"] * 10
    assert buildings[10:20] == ["2"] * 10
    last = store.residents.search(SITE_CODE, ResidentQuery(page=5, per_page=25))
    assert (last.total, len(last.items)) == (120, 20)
    seen = {
        row.subject.id
        for page in range(1, 6)
        for row in store.residents.search(SITE_CODE, ResidentQuery(page=page, per_page=25)).items
    }
    assert len(seen) == 120


def test_search_by_chinese_name_number_building_and_status(store: Store, site: SiteInfo) -> None:
    _many(store)
    by_name = store.residents.search(SITE_CODE, ResidentQuery(text="居民01"))
    assert sorted(r.subject.display_name or "" for r in by_name.items) == [
        f"居民{i:03d}" for i in range(10, 20)
    ]
    one = by_name.items[0].subject
    by_number = store.residents.search(SITE_CODE, ResidentQuery(text=one.resident_number))
    assert [r.subject.id for r in by_number.items] == [one.id]
    in_building = store.residents.search(SITE_CODE, ResidentQuery(building="12", unit="2"))
    assert in_building.total == 10
    assert {(r.subject.building, r.subject.unit) for r in in_building.items} == {("12", "2")}
    children = store.residents.search(SITE_CODE, ResidentQuery(status=ResidentFilter.CHILD))
    assert children.total == 12
    assert all(r.subject.minor for r in children.items)
    # A typed wildcard matches itself only.
    assert store.residents.search(SITE_CODE, ResidentQuery(text="%")).total == 0


@pytest.mark.rule("R-24")
def test_moved_out_residents_show_when_their_data_is_erased(store: Store, site: SiteInfo) -> None:
    subject = store.add_subject(SITE_CODE, "赵敏", SubjectKind.RESIDENT, actor=OPERATOR)
    store.add_subject(SITE_CODE, "钱进", SubjectKind.RESIDENT, actor=OPERATOR)
    moved = store.retention.record_move_out(subject.id, actor=OPERATOR)
    page = store.residents.search(SITE_CODE, ResidentQuery(status=ResidentFilter.MOVED_OUT))
    assert [r.subject.id for r in page.items] == [subject.id]
    assert page.items[0].erase_after == moved + timedelta(days=30)
    active = store.residents.search(SITE_CODE, ResidentQuery(status=ResidentFilter.ACTIVE))
    assert [r.subject.display_name for r in active.items] == ["钱进"]
    assert active.items[0].erase_after is None


def test_search_refuses_a_bad_page(store: Store, site: SiteInfo) -> None:
    with pytest.raises(ValueError, match="page"):
        store.residents.search(SITE_CODE, ResidentQuery(page=0))
    with pytest.raises(ValueError, match="per_page"):
        store.residents.search(SITE_CODE, ResidentQuery(per_page=201))


@pytest.mark.rule("R-04", "R-27")
def test_import_registers_every_row_in_one_audited_transaction(
    store: Store, site: SiteInfo
) -> None:
    data = BOM.encode() + _csv(
        "姓名,类型,楼栋,单元,户号,出生日期,到期日",
        "张伟,住户,3,1,301,,",
        f"张小伟,resident,3,1,301,{CHILD_BORN},",
        f"刘访客,访客,,,,,{NEXT_YEAR}",
    )
    events = store.verify_audit().events_checked
    report = store.residents.import_csv(SITE_CODE, data, dry_run=False, actor=OPERATOR)
    assert (report.rows, report.imported, report.problems) == (3, 3, [])
    subjects = {s.display_name: s for s in store.list_subjects(SITE_CODE)}
    assert subjects["张小伟"].minor
    assert not subjects["张伟"].minor
    assert subjects["刘访客"].kind is SubjectKind.VISITOR
    assert subjects["刘访客"].expires_at is not None
    assert (subjects["张伟"].building, subjects["张伟"].household) == ("3", "301")
    audit = store.verify_audit()
    assert audit.ok
    assert audit.events_checked == events + 4
    actions = [e.action for e in store.audit_events(subjects["张伟"].id)]
    assert actions == [AuditAction.SUBJECT_ADDED]


def test_a_dry_run_imports_nothing(store: Store, site: SiteInfo) -> None:
    report = store.residents.import_csv(
        SITE_CODE, _csv("name", "王五"), dry_run=True, actor=OPERATOR
    )
    assert (report.rows, report.imported, report.ok) == (1, 0, True)
    assert store.list_subjects(SITE_CODE) == []


def test_every_bad_line_is_named_and_nothing_is_imported(store: Store, site: SiteInfo) -> None:
    store.add_subject(SITE_CODE, "老住户", SubjectKind.RESIDENT, home=Home("1", "1", "101"))
    data = _csv(
        "name,kind,building,unit,household,born,expires",
        "好人,resident,1,1,102,,",  # line 2: fine
        ",resident,1,1,103,,",  # 3: no name
        "坏类型,martian,1,1,104,,",  # 4
        "坏日期,resident,1,1,105,1990-13-01,",  # 5
        f"访客甲,visitor,,,,,{date.today() - timedelta(days=2)}",  # 6: expired
        "访客乙,visitor,,,,,",  # 7: no end
        f"住户有期,resident,1,1,106,,{NEXT_YEAR}",  # 8
        f"太长,resident,{'x' * 17},1,107,,",  # 9
        "好人,resident,1,1,102,,",  # 10: same as line 2
        "老住户,resident,1,1,101,,",  # 11: already registered
        "少一列,resident,1",  # 12
        f"未来,resident,1,1,108,{date.today() + timedelta(days=3)},",  # 13
    )
    report = store.residents.import_csv(SITE_CODE, data, dry_run=False, actor=OPERATOR)
    found = [(p.line, p.column, p.reason) for p in report.problems]
    assert found == [
        (3, "name", Reason.REQUIRED),
        (4, "kind", Reason.BAD_KIND),
        (5, "born", Reason.BAD_DATE),
        (6, "expires", Reason.EXPIRES_PAST),
        (7, "expires", Reason.EXPIRES_REQUIRED),
        (8, "expires", Reason.EXPIRES_NOT_ALLOWED),
        (9, "building", Reason.TOO_LONG),
        (10, None, Reason.DUPLICATE_ROW),
        (11, None, Reason.ALREADY_REGISTERED),
        (12, None, Reason.FIELD_COUNT),
        (13, "born", Reason.BAD_BIRTH_DATE),
    ]
    assert report.problems[7].other_line == 2
    assert (report.rows, report.imported) == (12, 0)
    assert [s.display_name for s in store.list_subjects(SITE_CODE)] == ["老住户"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", [(1, None, Reason.EMPTY_FILE)]),
        (_csv("name,building"), [(1, None, Reason.EMPTY_FILE)]),
        ("name\n王五\n".encode("gbk"), [(0, None, Reason.NOT_UTF8)]),
        (b"x" * (MAX_IMPORT_BYTES + 1), [(0, None, Reason.TOO_LARGE)]),
        (
            _csv("nmae,buildng,name,name", "a,b,c,d"),
            [
                (1, "nmae", Reason.UNKNOWN_COLUMN),
                (1, "buildng", Reason.UNKNOWN_COLUMN),
                (1, "name", Reason.DUPLICATE_COLUMN),
            ],
        ),
        (_csv("building,unit", "1,2"), [(1, "name", Reason.MISSING_COLUMN)]),
        (_csv("name", '"unclosed'), [(2, None, Reason.BAD_CSV)]),
    ],
)
def test_a_bad_file_is_named_as_a_whole(
    store: Store, site: SiteInfo, data: bytes, expected: list[tuple[int, str | None, str]]
) -> None:
    assert _problems(store, data) == expected


def test_lf_crlf_bom_and_blank_lines_are_read_alike(store: Store, site: SiteInfo) -> None:
    lf = b"name,household\n\xe7\x8e\x8b\xe4\xba\x94,1\n\n"
    crlf = BOM.encode() + b"name,household\r\n\xe7\x8e\x8b\xe4\xba\x94,1\r\n"
    for data in (lf, crlf):
        report = store.residents.import_csv(SITE_CODE, data, dry_run=True, actor=OPERATOR)
        assert (report.rows, report.problems) == (1, [])


def test_too_many_rows_names_the_first_row_over(
    store: Store, site: SiteInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("facegate.store.resident_csv.MAX_IMPORT_ROWS", 3)
    data = _csv("name", "a", "b", "c", "d", "e")
    assert _problems(store, data) == [(5, None, Reason.TOO_MANY_ROWS)]


@pytest.mark.rule("R-27")
def test_export_is_excel_ready_utf8_and_audited(store: Store, site: SiteInfo) -> None:
    child = store.add_subject(
        SITE_CODE,
        "王小芳",
        SubjectKind.RESIDENT,
        date_of_birth=date.fromisoformat(CHILD_BORN),
        home=Home("12", "3", "1202"),
    )
    store.add_subject(SITE_CODE, "=HYPERLINK(1)", SubjectKind.RESIDENT, home=Home("12"))
    moved = store.add_subject(SITE_CODE, "搬走了", SubjectKind.RESIDENT)
    store.retention.record_move_out(moved.id, actor=OPERATOR)
    events = store.verify_audit().events_checked
    data = store.residents.export_csv(SITE_CODE, actor=OPERATOR)
    assert data.startswith(BOM.encode())
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    by_name = {row["name"]: row for row in rows}
    assert by_name["王小芳"]["child_until"] == str(child.minor_until)
    assert by_name["王小芳"]["resident_number"] == child.resident_number
    assert by_name["'=HYPERLINK(1)"]["building"] == "12"
    assert (by_name["搬走了"]["status"], by_name["搬走了"]["consent"]) == ("moved_out", "no")
    assert store.verify_audit().events_checked == events + 1


def test_the_list_order_is_read_from_its_index_without_sorting(
    store: Store, site: SiteInfo
) -> None:
    _many(store)
    statement = (
        select(Subject.id)
        .where(Subject.site_id == site.id, Subject.status == SubjectStatus.ACTIVE)
        .order_by(*SUBJECT_LIST_ORDER)
        .limit(50)
        .offset(100)
    )
    sql = str(statement.compile(compile_kwargs={"literal_binds": True}))
    with store.reading() as session:
        plan = " ".join(row[3] for row in session.execute(text("EXPLAIN QUERY PLAN " + sql)))
    assert "COVERING INDEX ix_subject_list_order" in plan
    assert "TEMP B-TREE" not in plan


@pytest.mark.rule("R-12")
def test_an_import_takes_no_id_number_or_phone(store: Store, site: SiteInfo) -> None:
    data = _csv("name,id_card,phone,household", "王五,110101199001011234,13800000000,101")
    assert _problems(store, data) == [
        (1, "id_card", Reason.UNKNOWN_COLUMN),
        (1, "phone", Reason.UNKNOWN_COLUMN),
    ]
    assert store.list_subjects(SITE_CODE) == []
