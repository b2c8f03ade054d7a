"""The resident CSV import and the console's list at community scale (``facegate bench
import``): a generated file of N residents, a dry run and a real import into a fresh
temporary store, then the list's page, search and filter latencies over those N.

The file is realistic in what the import checks: Chinese names (surname + one or two
characters), buildings 1-40, units 1-6, households as floor + room ("1203"), about one
resident in twelve a child under 14, a few visitors and temporary residents with an end date.
"""

from __future__ import annotations

import io
import logging
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TypeVar

from facegate.core.config import Environment, Settings
from facegate.store import Store
from facegate.store.residents import ResidentFilter, ResidentQuery

BENCH_SITE = "bench-garden"
BUILDINGS = 40
UNITS = 6
FLOORS = 30
ROOMS_PER_FLOOR = 4
#: Shares of the generated rows (the rest are adult residents).
CHILD_SHARE = 1 / 12
VISITOR_SHARE = 0.02
TEMPORARY_SHARE = 0.03
ACTOR = "bench:import"
#: Steps ``run_import_bench`` reports to ``on_step`` (for a progress bar): generate, dry run,
#: import, then each repeat of the list queries, then export and the audit check.
FIXED_STEPS = 5

_T = TypeVar("_T")
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
)
_GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红建国志宏欣怡子涵浩宇梓轩雨桐佳"
)


@dataclass(frozen=True, slots=True)
class QueryTiming:
    """Median and worst of ``repeats`` runs of one list query, in milliseconds."""

    name: str
    median_ms: float
    max_ms: float
    #: Matches of the query (the list's ``total``).
    total: int


@dataclass(frozen=True, slots=True)
class ImportBenchResult:
    rows: int
    seed: int
    file_bytes: int
    dry_run_s: float
    import_s: float
    imported: int
    problems: int
    rows_per_s: float
    export_s: float
    export_bytes: int
    audit_events: int
    audit_ok: bool
    repeats: int
    queries: list[QueryTiming]


def generate_csv(rows: int, seed: int = 0, today: date | None = None) -> bytes:
    """A UTF-8 CSV (with BOM, CRLF, as Excel saves it) of ``rows`` distinct residents."""
    if rows < 1:
        raise ValueError(f"rows must be 1 or more, got {rows}")
    rng = random.Random(seed)  # noqa: S311 (made-up test data, seeded on purpose)
    today = today or date.today()
    end = (today + timedelta(days=180)).isoformat()
    out = io.StringIO()
    out.write("\ufeffname,kind,building,unit,household,born,expires\r\n")
    seen: set[tuple[str, int, int, str]] = set()
    while len(seen) < rows:
        name = rng.choice(_SURNAMES) + "".join(rng.choices(_GIVEN, k=rng.choice((1, 2))))
        building, unit = rng.randint(1, BUILDINGS), rng.randint(1, UNITS)
        household = f"{rng.randint(1, FLOORS)}{rng.randint(1, ROOMS_PER_FLOOR):02d}"
        key = (name, building, unit, household)
        if key in seen:
            continue
        seen.add(key)
        draw = rng.random()
        kind, born, expires = "resident", "", ""
        if draw < CHILD_SHARE:
            born = (today - timedelta(days=rng.randint(365, 13 * 365))).isoformat()
        elif draw < CHILD_SHARE + VISITOR_SHARE:
            kind, expires = "visitor", end
        elif draw < CHILD_SHARE + VISITOR_SHARE + TEMPORARY_SHARE:
            kind, expires = "temporary", end
        out.write(f"{name},{kind},{building},{unit},{household},{born},{expires}\r\n")
    return out.getvalue().encode("utf-8")


def _timed(work: Callable[[], _T]) -> tuple[float, _T]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def run_import_bench(
    rows: int,
    *,
    repeats: int = 5,
    seed: int = 0,
    on_step: Callable[[str], None] | None = None,
) -> ImportBenchResult:
    """Generate ``rows`` residents, time a dry run and a real import into a fresh store in a
    temporary directory, then ``repeats`` runs of each list query (``median`` reported),
    an export and an audit check. ``on_step`` hears each step's name as it finishes."""
    if repeats < 1:
        raise ValueError(f"repeats must be 1 or more, got {repeats}")
    step = on_step or (lambda _: None)
    data = generate_csv(rows, seed)
    step("generate")
    with tempfile.TemporaryDirectory(prefix="facegate-bench-import-") as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", env=Environment.DEVELOPMENT)
        # A throwaway store: its development key warning says nothing useful here.
        logging.getLogger("facegate.store.crypto").setLevel(logging.ERROR)
        with Store.open(settings) as store:
            store.create_site(BENCH_SITE, "Bench Garden", actor=ACTOR)
            residents = store.residents
            dry_s, _ = _timed(
                lambda: residents.import_csv(BENCH_SITE, data, dry_run=True, actor=ACTOR)
            )
            step("dry run")
            import_s, report = _timed(
                lambda: residents.import_csv(BENCH_SITE, data, dry_run=False, actor=ACTOR)
            )
            step("import")
            queries = _list_queries(store, repeats, step)
            export_s, exported = _timed(lambda: residents.export_csv(BENCH_SITE, actor=ACTOR))
            step("export")
            audit = store.verify_audit()
            step("audit")
    imported = report.imported
    return ImportBenchResult(
        rows=rows,
        seed=seed,
        file_bytes=len(data),
        dry_run_s=round(dry_s, 3),
        import_s=round(import_s, 3),
        imported=imported,
        problems=len(report.problems),
        rows_per_s=round(imported / import_s, 1) if import_s else 0.0,
        export_s=round(export_s, 3),
        export_bytes=len(exported),
        audit_events=audit.events_checked,
        audit_ok=audit.ok,
        repeats=repeats,
        queries=queries,
    )


def _list_queries(store: Store, repeats: int, step: Callable[[str], None]) -> list[QueryTiming]:
    """The console's list: first and last page, a name, a resident number's start, a
    building, and children, each ``repeats`` times."""
    first = store.residents.search(BENCH_SITE, ResidentQuery())
    sample = first.items[0].subject
    name_part = (sample.display_name or "王")[:2]
    last_page = max(1, -(-first.total // first.per_page))
    cases = {
        "first page": ResidentQuery(),
        "last page": ResidentQuery(page=last_page),
        "name contains": ResidentQuery(text=name_part),
        "resident number": ResidentQuery(text=(sample.resident_number or "1")[:4]),
        "building + unit": ResidentQuery(building="17", unit="3"),
        "children": ResidentQuery(status=ResidentFilter.CHILD),
    }
    timings: dict[str, list[float]] = {name: [] for name in cases}
    totals: dict[str, int] = {}
    for _ in range(repeats):
        for name, query in cases.items():
            started = time.perf_counter()
            page = store.residents.search(BENCH_SITE, query)
            timings[name].append((time.perf_counter() - started) * 1e3)
            totals[name] = page.total
        step("list queries")
    return [
        QueryTiming(name, round(statistics.median(ms), 2), round(max(ms), 2), totals[name])
        for name, ms in timings.items()
    ]
