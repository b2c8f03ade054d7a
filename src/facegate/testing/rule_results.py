"""pytest plugin: record which compliance rules each test proves, and whether it passed.

Enable it with ``pytest_plugins = ["facegate.testing.rule_results"]`` in the top conftest
(or ``-p facegate.testing.rule_results``). For every test carrying
``@pytest.mark.rule("R-xx", ...)`` it records the node id, the rule ids and the outcome,
and at the end of the session writes them (``privacy.run_results`` format) to
``$FACEGATE_RULE_RESULTS``, else the ini option ``facegate_rule_results``, else
``artifacts/compliance/rule-results.json`` under the rootdir.

A marker naming an unknown rule id is a collection error of its module: a typo must not
let a test silently prove nothing. Nothing is written with ``--collect-only``, by xdist
workers (the controller writes, from the rule ids the workers attach to each report), or
when no rule test ran (so a partial run of unrelated tests keeps the last results).
"""

from __future__ import annotations

import os
from collections.abc import Generator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from facegate.privacy.rules import parse_rule_id
from facegate.privacy.run_results import (
    DEFAULT_RESULTS_PATH,
    RESULTS_ENV,
    RuleRun,
    TestOutcome,
    TestResult,
    write_run,
)

MARKER = "rule"
INI_OPTION = "facegate_rule_results"
#: The ``user_properties`` key carrying a test's rule ids on its reports (xdist-safe).
RULES_PROPERTY = "facegate_rules"
_PLUGIN_NAME = "facegate-rule-results-recorder"
_MAX_REASON = 300


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        INI_OPTION,
        help=f"rule-results JSON path (relative to the rootdir); ${RESULTS_ENV} overrides it",
        default=str(DEFAULT_RESULTS_PATH),
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}(*ids): the compliance rules (R-xx) a test proves")
    config.pluginmanager.register(RuleResultsRecorder(config), _PLUGIN_NAME)


def marker_rule_ids(item: pytest.Item) -> tuple[str, ...]:
    """The rule ids of every ``rule`` marker on ``item`` (function, class, module), in order
    and without repeats. ``ValueError`` for a marker without ids or with an unknown one."""
    ids: list[str] = []
    for mark in item.iter_markers(MARKER):
        if not mark.args or mark.kwargs:
            raise ValueError(f'@pytest.mark.{MARKER} takes rule ids only, e.g. rule("R-20")')
        for arg in mark.args:
            if not isinstance(arg, str):
                raise ValueError(f"rule id {arg!r} is not a string")
            rule_id = parse_rule_id(arg).value
            if rule_id not in ids:
                ids.append(rule_id)
    return tuple(ids)


class RuleResultsRecorder:
    """Per-session state; one instance per ``pytest.Config`` (pytester runs get their own)."""

    def __init__(self, config: pytest.Config) -> None:
        self._config = config
        self._started_at = datetime.now(UTC)
        self._results: dict[str, TestResult] = {}
        self._written: Path | None = None
        self._path = _results_path(config)

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(
        self, collector: pytest.Collector
    ) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
        report = yield
        if not report.passed:
            return report
        problems = []
        for node in report.result:
            if isinstance(node, pytest.Item):
                try:
                    ids = marker_rule_ids(node)
                except ValueError as exc:
                    problems.append(f"{node.nodeid}: {exc}")
                    continue
                if ids:
                    node.user_properties.append((RULES_PROPERTY, ids))
        if problems:
            report.outcome = "failed"
            report.longrepr = "invalid compliance rule markers:\n" + "\n".join(problems)
            report.result = []
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        ids = next((v for k, v in report.user_properties if k == RULES_PROPERTY), None)
        if not isinstance(ids, tuple | list) or not ids:
            return
        outcome, reason = _outcome(report)
        previous = self._results.get(report.nodeid)
        duration = report.duration + (previous.duration_s if previous else 0.0)
        if previous is not None and previous.outcome is not TestOutcome.PASSED:
            # The first phase that did not pass decides (a teardown pass keeps a call failure).
            outcome, reason = previous.outcome, previous.reason
        self._results[report.nodeid] = TestResult(
            nodeid=report.nodeid,
            rules=tuple(str(rule) for rule in ids),
            outcome=outcome,
            reason=reason,
            duration_s=duration,
        )

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        config = self._config
        if hasattr(config, "workerinput") or config.option.collectonly or not self._results:
            return
        run = RuleRun(
            started_at=self._started_at,
            finished_at=datetime.now(UTC),
            exit_status=int(exitstatus),
            pytest_args=tuple(config.invocation_params.args),
            tests=tuple(self._results.values()),
        )
        self._written = write_run(run, self._path)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self._written is None:
            return
        rules = {rule for result in self._results.values() for rule in result.rules}
        terminalreporter.write_line(
            f"compliance: {len(self._results)} rule tests covering {len(rules)} rules "
            f"recorded in {self._written}"
        )


def _results_path(config: pytest.Config) -> Path:
    from_env = os.environ.get(RESULTS_ENV)
    if from_env:
        return config.invocation_params.dir / from_env
    configured = Path(str(config.getini(INI_OPTION)))
    base = config.inipath.parent if config.inipath is not None else config.rootpath
    return base / configured


def _outcome(report: pytest.TestReport) -> tuple[TestOutcome, str | None]:
    if hasattr(report, "wasxfail"):
        if report.skipped:
            return TestOutcome.SKIPPED, _one_line(f"xfail: {report.wasxfail}")
        return TestOutcome.PASSED, None  # xpass: the assertion held
    if report.passed:
        return TestOutcome.PASSED, None
    if report.skipped:
        longrepr = report.longrepr
        if isinstance(longrepr, tuple) and len(longrepr) == 3:
            return TestOutcome.SKIPPED, _one_line(str(longrepr[2]).removeprefix("Skipped: "))
        return TestOutcome.SKIPPED, _one_line(str(longrepr))
    crash = getattr(report.longrepr, "reprcrash", None)
    message = getattr(crash, "message", None) or report.longreprtext
    prefix = "" if report.when == "call" else f"error in {report.when}: "
    return TestOutcome.FAILED, _one_line(prefix + str(message))


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _MAX_REASON else line[: _MAX_REASON - 1] + "…"
