"""A rule's status from a test run: PROVEN when at least one of its tests passed and none
failed, FAILING when any failed, UNTESTED when no test carries it or all were skipped.

Shared by the compliance report and the frozen release results, so both say the same."""

from __future__ import annotations

from collections import Counter
from enum import StrEnum

from facegate.privacy.rules import RuleId
from facegate.privacy.run_results import RuleRun, TestOutcome, TestResult


class RuleStatus(StrEnum):
    PROVEN = "proven"
    FAILING = "failing"
    UNTESTED = "untested"


def rule_status(
    rule_id: RuleId, run: RuleRun | None
) -> tuple[RuleStatus, str, tuple[TestResult, ...]]:
    """The status of ``rule_id`` in ``run``, a one-line note saying why, and its tests."""
    if run is None:
        return RuleStatus.UNTESTED, "the tests have not been run", ()
    tests = tuple(test for test in run.tests if rule_id.value in test.rules)
    outcomes = Counter(test.outcome for test in tests)
    total = len(tests)
    if not tests:
        return RuleStatus.UNTESTED, f"no test in the last run carries {rule_id.value}", ()
    if outcomes[TestOutcome.FAILED]:
        return (
            RuleStatus.FAILING,
            f"{outcomes[TestOutcome.FAILED]} of {total} test(s) failed",
            tests,
        )
    if outcomes[TestOutcome.PASSED]:
        skipped = outcomes[TestOutcome.SKIPPED]
        extra = f", {skipped} skipped" if skipped else ""
        return RuleStatus.PROVEN, f"{outcomes[TestOutcome.PASSED]} of {total} passed{extra}", tests
    reasons = sorted({test.reason for test in tests if test.reason})
    why = f": {reasons[0]}" if len(reasons) == 1 else ""
    return RuleStatus.UNTESTED, f"all {total} test(s) were skipped{why}", tests
