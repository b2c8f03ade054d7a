"""``security.json``: what each attack achieved, with and without each defence.

Rates are fractions of ``n`` attempts with a 95% Wilson interval; ``cost`` says in words what
a defence costs genuine users (with the number where it is an accuracy cost).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from facegate.audit.stats import Rate

SCHEMA_VERSION = 1


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DefenceResult(_Model):
    name: str
    #: Fraction of the ``n`` attempts that still succeeded with this defence in place.
    success_defended: float = Field(ge=0.0, le=1.0)
    n: int = Field(ge=0)
    ci95: tuple[float, float]
    #: In words, with the figure: what genuine users (or the site) pay for the defence.
    cost: str
    #: Genuine false non-match rate added at the door's operating point, where that is the cost.
    cost_fnmr: float | None = None
    #: The defence acted during the audit: it ran on attempts and, for a detector, fired at
    #: least once (refused, flagged, held). False: listed but not shown to work here.
    exercised: bool
    detail: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def of(
        cls, name: str, rate: Rate, cost: str, *, exercised: bool | None = None, **extra: Any
    ) -> DefenceResult:
        """``exercised`` defaults to "ran on at least one attempt"; detectors pass whether
        they fired."""
        return cls(
            name=name,
            success_defended=rate.value,
            n=rate.n,
            ci95=rate.ci95,
            cost=cost,
            exercised=rate.n > 0 if exercised is None else exercised,
            **extra,
        )


class AttackResult(_Model):
    #: Stable id, e.g. ``evasion_pgd_impersonation``.
    name: str
    goal: str
    #: The attacker's knowledge and access (white-box copy, decisions only, training data…).
    access: str
    budget: str
    n: int = Field(ge=0)
    success_undefended: float = Field(ge=0.0, le=1.0)
    ci95: tuple[float, float]
    defences: list[DefenceResult]
    detail: dict[str, Any] = Field(default_factory=dict)

    @property
    def still_succeeds(self) -> bool:
        """Some attempts succeed even with the strongest defence measured."""
        rates = [d.success_defended for d in self.defences] or [self.success_undefended]
        return min(rates) > 0.0


class SecurityReport(_Model):
    version: int = SCHEMA_VERSION
    engine: str
    operating_point: str
    threshold: float
    data: dict[str, Any]
    config: dict[str, Any]
    attacks: list[AttackResult]
    fairness: dict[str, Any]
    template_protection: dict[str, Any]
    #: How decisions' margin bands (what an auditor's explanation shows) split real pairs.
    explanations: dict[str, Any] = Field(default_factory=dict)
    duration_s: float
    #: Sections that did not run, with why (a missing extra, a budget of zero).
    skipped: dict[str, str] = Field(default_factory=dict)
