"""Face data is used for recognition only: no age, sex, ethnicity, emotion or health
inference exists anywhere in facegate (R-26).

Three places could hold such an inference: the code (a function, class, argument or model
file name), the model registry (a model of another kind than detector, landmarks, embedding or
liveness) and the Face record (an attribute for the result). Each is scanned here, and
each scanner is first shown to catch a synthetic offender, so that a scan that silently
finds nothing cannot pass.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from facegate.models.registry import ModelRegistry
from facegate.vision.record import Face, Quality, QualityReason

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "facegate"
REGISTRY_JSON = PACKAGE / "models" / "registry.json"

#: Words naming an attribute that must never be inferred from a face.
FORBIDDEN_WORDS = frozenset(
    {
        "age",
        "ages",
        "gender",
        "genders",
        "sex",
        "ethnicity",
        "ethnic",
        "race",
        "racial",
        "emotion",
        "emotions",
        "emotional",
        "expression",
        "expressions",
        "mood",
        "smile",
        "health",
        "illness",
        "disease",
    }
)
#: Names of well-known attribute models and libraries (fragments of file or package names).
FORBIDDEN_MODELS = (
    "genderage",
    "age_net",
    "gender_net",
    "agegender",
    "fairface",
    "deepface",
    "hsemotion",
    "affectnet",
    "ferplus",
    "emotion_ferplus",
    "ssrnet",
    "ssr_net",
    "py-feat",
)
#: Modules that may use a forbidden word, and why. Age here is arithmetic on the date of
#: birth an operator enters (R-04: is the subject under 14?), never estimated from a face;
#: "health" is the service's own liveness probe (/healthz), "max_age" a cookie's lifetime.
ALLOWED: Mapping[str, frozenset[str]] = {
    "store/checks.py": frozenset(
        {"ADULT_AGE", "GUARDIAN_CONSENT_AGE", "_OLDEST_PLAUSIBLE_AGE", "age_on"}
    ),
    "store/consents.py": frozenset({"ADULT_AGE", "age_on"}),
    "api/app.py": frozenset({"health"}),
    "api/routes/health.py": frozenset({"Health", "facegate.api.schemas.health"}),
    "api/schemas/health.py": frozenset({"Health"}),
    "api/routes/auth.py": frozenset({"max_age"}),
    # The pages check a typed birth date against the same R-04 threshold before sending.
    "api/routes/pages.py": frozenset(
        {"LANGUAGE_COOKIE_MAX_AGE", "max_age", "GUARDIAN_CONSENT_AGE", "guardian_consent_age"}
    ),
    # "deepface" there is the folder of photos in ../shared/data taken from that library's
    # unit tests (bona fide faces for PAD training and calibration), never its models.
    "bench/attacks.py": frozenset({"deepface", "deepface_paths", "deepface_vga"}),
    "cli/bench_attacks.py": frozenset({"deepface"}),
    "liveness/corpus.py": frozenset(
        {"DEEPFACE", "DEEPFACE_DIR", "deepface", "deepface_unit_testset"}
    ),
}
#: The kinds of model facegate may ship: find a face, place its landmarks, embed it, and
#: tell a live face from a print or screen (about the presentation, not the person).
ALLOWED_MODEL_KINDS = frozenset({"detector", "landmarks", "embedding", "liveness"})
REGISTRY_TEXT_FIELDS = ("filename", "package", "source")


def _words(name: str) -> list[str]:
    """``estimateAge`` / ``estimate_age`` / ``age-net.onnx`` -> ["estimate", "age"]..."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return [word.lower() for word in re.split(r"[^A-Za-z0-9]+", spaced) if word]


def _names(tree: ast.AST) -> Iterator[str]:
    """Every name the code defines or uses, every imported module, and every string that
    looks like a name (no spaces: identifiers, keys, file and model names; prose such as
    docstrings may talk about what facegate does not do)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            yield node.id
        elif isinstance(node, ast.Attribute):
            yield node.attr
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield node.name
        elif isinstance(node, ast.arg) or (isinstance(node, ast.keyword) and node.arg):
            yield str(node.arg)
        elif isinstance(node, ast.alias):
            yield node.name
            if node.asname is not None:
                yield node.asname
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            yield node.module
        elif isinstance(node, ast.Constant) and _looks_like_a_name(node.value):
            yield str(node.value)


def _looks_like_a_name(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip()) and not any(map(str.isspace, value))


def _offends(name: str) -> bool:
    lowered = name.lower()
    return bool(FORBIDDEN_WORDS.intersection(_words(name))) or any(
        model in lowered for model in FORBIDDEN_MODELS
    )


def inference_findings(source: str, module: str) -> list[str]:
    """What in ``source`` (the text of ``module``, a path under facegate/) names an
    attribute inference: ``"module: name"`` for each offending name."""
    allowed = ALLOWED.get(module, frozenset())
    findings = set()
    for name in _names(ast.parse(source)):
        if name not in allowed and _offends(name):
            findings.add(f"{module}: {name}")
    return sorted(findings)


def registry_findings(document: Mapping[str, Any]) -> list[str]:
    """Models in a registry document that are not a detector, landmarks or embedding, or
    whose name, file or source names an attribute model."""
    findings = []
    for name, entry in document["models"].items():
        if entry["kind"] not in ALLOWED_MODEL_KINDS:
            findings.append(f"{name}: kind {entry['kind']!r}")
        texts = {"name": name} | {f: str(entry.get(f) or "") for f in REGISTRY_TEXT_FIELDS}
        findings += [f"{name}: {field} {text!r}" for field, text in texts.items() if _offends(text)]
    return findings


def record_findings(record_type: type[Any]) -> list[str]:
    """Fields (and properties) of a record type named for an inferred attribute."""
    names = [field.name for field in dataclasses.fields(record_type)]
    names += [name for name, value in vars(record_type).items() if isinstance(value, property)]
    return [name for name in names if FORBIDDEN_WORDS.intersection(_words(name))]


def _package_modules() -> list[tuple[str, str]]:
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 40  # the whole package, not an empty glob
    return [(path.relative_to(PACKAGE).as_posix(), path.read_text("utf-8")) for path in modules]


# The scanners catch offenders (so that the real scans below can fail).


@pytest.mark.parametrize(
    "snippet",
    [
        "def estimate_age(face): ...",
        "class EmotionClassifier: ...",
        "def analyse(face, *, gender=None): ...",
        "result = model.predictEthnicity(chip)",
        "from insightface.model_zoo import genderage",
        "import deepface",
        "MODEL = 'emotion-ferplus-8.onnx'",
        "LABELS = {'happy': 0, 'health': 1}",
        "face.expression = 'smile'",
    ],
)
def test_the_code_scan_catches_an_inference(snippet: str) -> None:
    assert inference_findings(snippet, "vision/attributes.py") != []


def test_the_code_scan_allows_only_the_listed_modules() -> None:
    snippet = "ADULT_AGE = 18\ndef age_on(born, day): ..."
    assert inference_findings(snippet, "store/checks.py") == []
    assert inference_findings(snippet, "vision/embed.py") == [
        "vision/embed.py: ADULT_AGE",
        "vision/embed.py: age_on",
    ]


def test_the_code_scan_ignores_prose_and_lookalike_words() -> None:
    snippet = (
        '"""Nothing here infers age, sex, ethnicity or emotion (R-26)."""\n'
        "image = storage.page(message)\n"
        "trace = average(usage)\n"
    )
    assert inference_findings(snippet, "vision/image.py") == []


def test_the_registry_scan_catches_an_attribute_model() -> None:
    document = {
        "models": {
            "insightface_genderage": {"kind": "attribute", "filename": "genderage.onnx"},
            "fer_plus": {"kind": "embedding", "filename": "emotion-ferplus-8.onnx"},
        }
    }
    assert registry_findings(document) == [
        "insightface_genderage: kind 'attribute'",
        "insightface_genderage: name 'insightface_genderage'",
        "insightface_genderage: filename 'genderage.onnx'",
        "fer_plus: filename 'emotion-ferplus-8.onnx'",
    ]


def test_the_record_scan_catches_an_attribute_field() -> None:
    @dataclasses.dataclass
    class AnalysedFace:
        embedding: list[float]
        age: int
        emotionLabel: str  # noqa: N815 (as a careless contributor might write it)

    assert record_findings(AnalysedFace) == ["age", "emotionLabel"]


# The real scans.


@pytest.mark.rule("R-26")
def test_no_module_names_an_attribute_inference() -> None:
    findings = [
        finding
        for module, source in _package_modules()
        for finding in inference_findings(source, module)
    ]
    assert findings == []


@pytest.mark.rule("R-26")
def test_the_allowlist_is_still_needed() -> None:
    # An allowance nothing uses any more is removed, so it cannot hide a later addition.
    sources = dict(_package_modules())
    for module, names in ALLOWED.items():
        used = set(_names(ast.parse(sources[module])))
        assert names <= used, f"{module}: {sorted(names - used)} no longer used"


@pytest.mark.rule("R-26")
def test_the_registry_ships_only_detection_landmarks_embedding_and_liveness() -> None:
    document = json.loads(REGISTRY_JSON.read_text("utf-8"))
    assert registry_findings(document) == []
    kinds = {entry.kind for entry in map(ModelRegistry.default().entry, document["models"])}
    assert kinds == ALLOWED_MODEL_KINDS


@pytest.mark.rule("R-26")
def test_the_face_record_has_no_attribute_for_an_inference() -> None:
    assert record_findings(Face) == []
    assert record_findings(Quality) == []
    reasons = [reason.value for reason in QualityReason]
    assert [r for r in reasons if FORBIDDEN_WORDS.intersection(_words(r))] == []
    # What a face carries, exactly: a new field is a decision to review against R-26.
    assert [field.name for field in dataclasses.fields(Face)] == [
        "box",
        "detection_score",
        "landmarks",
        "keypoints",
        "chip",
        "quality",
        "embedding",
        "stage_seconds",
    ]
