"""``facegate audit security``: every section in order, budgets from one config.

Sections share one pass of the folder through the shipped engine (:mod:`.data`). A section
whose data is not given (the detector's box annotations, the auditor's groups) is recorded in
``skipped`` with why, never silently left out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from facegate.audit.blackbox import SMOKE_BLACKBOX, BlackBoxBudget
from facegate.audit.data import AuditData, load_audit_data
from facegate.audit.evasion import SMOKE_EVASION, EvasionBudget
from facegate.audit.schema import AttackResult, SecurityReport

#: Called with a section's name when it starts (a progress display).
SectionProgress = Callable[[str], None]

SECTIONS = (
    "equivalence",
    "evasion",
    "decision_only",
    "brute_force",
    "morphs",
    "detector_backdoor",
    "model_files",
    "fairness",
    "template_protection",
    "explanations",
)


@dataclass(frozen=True, slots=True)
class AuditConfig:
    max_people: int | None = None
    max_images_per_person: int | None = None
    evasion: EvasionBudget = field(default_factory=EvasionBudget)
    blackbox: BlackBoxBudget = field(default_factory=BlackBoxBudget)
    morphs: int = 100
    detector_smoke: bool = False
    bootstrap_rounds: int = 1000
    seed: int = 0

    @classmethod
    def smoke(cls) -> AuditConfig:
        """A few people and tiny budgets: the report's structure, every defence exercised."""
        return cls(
            max_people=20,
            # The morph section needs four photos of a person (morph, live, door, enrolled).
            max_images_per_person=4,
            evasion=SMOKE_EVASION,
            blackbox=SMOKE_BLACKBOX,
            morphs=6,
            detector_smoke=True,
            bootstrap_rounds=50,
        )

    def with_seed(self, seed: int) -> AuditConfig:
        return replace(self, seed=seed)


def run_security_audit(
    data_dir: Path,
    config: AuditConfig,
    *,
    detection_data: Path | None = None,
    groups_csv: Path | None = None,
    progress: SectionProgress | None = None,
    embed_progress: Callable[[int, int], None] | None = None,
) -> SecurityReport:
    started = time.perf_counter()

    def section(name: str) -> None:
        if progress is not None:
            progress(name)

    data = load_audit_data(
        data_dir,
        max_people=config.max_people,
        max_images_per_person=config.max_images_per_person,
        seed=config.seed,
        progress=embed_progress,
    )
    attacks: list[AttackResult] = []
    skipped: dict[str, str] = {}
    section("equivalence")
    equivalence = _equivalence(data)

    section("evasion")
    from facegate.audit.evasion import audit_evasion

    attacks.extend(audit_evasion(data, config.evasion, seed=config.seed))

    section("decision_only")
    from facegate.audit.blackbox import audit_brute_force, audit_decision_only

    attacks.append(audit_decision_only(data, config.blackbox, seed=config.seed))
    section("brute_force")
    attacks.append(
        audit_brute_force(data, minutes_at_door=config.blackbox.minutes_at_door, seed=config.seed)
    )

    section("morphs")
    from facegate.audit.morph import audit_morphs

    attacks.append(audit_morphs(data, max_morphs=config.morphs, seed=config.seed))

    section("detector_backdoor")
    if detection_data is None:
        skipped["detector_backdoor"] = "no --detection-data (a folder of box-annotated photos)"
    else:
        from facegate.audit.backdoor import DetectorBudget, audit_detector_backdoor

        attacks.append(
            audit_detector_backdoor(
                data_root=detection_data,
                budget=DetectorBudget.SMOKE if config.detector_smoke else DetectorBudget.FULL,
                seed=config.seed,
            )
        )

    section("model_files")
    from facegate.audit.model_files import audit_model_files

    attacks.append(audit_model_files(data.registry))

    section("fairness")
    from facegate.audit.fairness import audit_fairness

    fairness = audit_fairness(
        data, groups_csv=groups_csv, rounds=config.bootstrap_rounds, seed=config.seed
    )

    section("template_protection")
    from facegate.audit.protection import audit_template_protection

    protection = audit_template_protection(data, seed=config.seed)

    section("explanations")
    from facegate.audit.explanations import explanation_bands

    explanations = explanation_bands(data, seed=config.seed)

    return SecurityReport(
        engine=data.model,
        operating_point=data.point.value,
        threshold=data.threshold,
        data={**data.summary(), "folder": str(data_dir), "equivalence": equivalence},
        config=_jsonable_config(config),
        attacks=attacks,
        fairness=fairness,
        template_protection=protection,
        explanations=explanations,
        duration_s=time.perf_counter() - started,
        skipped=skipped,
    )


def _equivalence(data: AuditData) -> dict[str, Any]:
    from facegate.audit.torch_sface import check_equivalence, torch_sface

    sample = data.samples[:64]
    result = check_equivalence(
        torch_sface(data.registry), [s.chip for s in sample], data.embeddings()[: len(sample)]
    )
    if not result.same:
        raise RuntimeError(
            "the differentiable SFace copy disagrees with the shipped engine "
            f"(max cosine distance {result.max_cosine_distance:.2e}): white-box results would "
            "not apply"
        )
    return asdict(result)


def _jsonable_config(config: AuditConfig) -> dict[str, Any]:
    out = asdict(config)
    out["sections"] = list(SECTIONS)
    return out
