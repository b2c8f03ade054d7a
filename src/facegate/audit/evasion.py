"""White-box evasion on the differentiable SFace copy: PGD over the whole face and inside an
eyeglass frame (the physical attack), impersonation and dodging, judged by the shipped engine.

The attacker owns the aligned 112 px face the network sees (a digital injection after the
camera: the upper bound of what a perturbation can do). ART's PGD runs on a classifier
whose logits are the scaled cosines of the face to the enrolled templates, so a targeted
attack pulls the face onto the victim's template and an untargeted one pushes it off the
attacker's own. Success is decided by the shipped OpenCV network and the door's threshold,
not by the copy. Input transformations (JPEG, down-and-up resize, small crop) are measured
as defences, with their cost in genuine false non-matches at the same threshold.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from facegate.audit.data import AuditData, AuditSample
from facegate.audit.schema import AttackResult, DefenceResult
from facegate.audit.stats import Rate, rate
from facegate.audit.torch_sface import chips_to_tensor, torch_sface
from facegate.vision.sface import SFACE_CHIP_SIZE

logger = logging.getLogger(__name__)

#: SFace's (ArcFace's) 5-point template in the 112 px chip: eyes, nose tip, mouth corners.
SFACE_TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float32,
)
#: Logit scale of the gallery head (cosines span [-1, 1]; CE needs a sharper softmax).
_LOGIT_SCALE = 30.0


@dataclass(frozen=True, slots=True)
class EvasionBudget:
    pairs: int = 32
    #: L∞ budget over the whole face, in 0..255 pixel units.
    eps: float = 8.0
    eps_step: float = 1.0
    iterations: int = 20
    #: Inside the eyeglass frame the attacker prints any colour (a physical patch).
    glasses_eps: float = 255.0
    glasses_step: float = 8.0


SMOKE_EVASION = EvasionBudget(pairs=4, iterations=5)


def eyeglass_mask(size: int = SFACE_CHIP_SIZE, thickness: int = 5) -> NDArray[np.float32]:
    """``(3, size, size)`` mask of an eyeglass frame around SFace's template eyes."""
    mask = np.zeros((size, size), np.uint8)
    scale = size / SFACE_CHIP_SIZE
    left, right = SFACE_TEMPLATE[0] * scale, SFACE_TEMPLATE[1] * scale
    axes = (int(15 * scale), int(11 * scale))
    for eye in (left, right):
        cv2.ellipse(mask, (int(eye[0]), int(eye[1])), axes, 0, 0, 360, 1, thickness)
    y = int((left[1] + right[1]) / 2) - 2
    cv2.line(mask, (int(left[0] + axes[0]), y), (int(right[0] - axes[0]), y), 1, thickness - 1)
    cv2.line(mask, (0, y), (int(left[0] - axes[0]), y), 1, thickness - 1)
    cv2.line(mask, (int(right[0] + axes[0]), y), (size - 1, y), 1, thickness - 1)
    return np.repeat(mask[None].astype(np.float32), 3, axis=0)


class _GalleryHead:
    """torch module: chip batch → scaled cosine to each gallery template (the logits)."""

    def __new__(cls, network: Any, gallery: NDArray[np.float32]) -> Any:
        import torch

        class Head(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.network = network
                self.templates = torch.from_numpy(gallery.astype(np.float32))

            def forward(self, x: Any) -> Any:
                emb = torch.nn.functional.normalize(self.network(x), dim=1)
                return _LOGIT_SCALE * emb @ self.templates.T

        return Head().eval()


def _classifier(network: Any, gallery: NDArray[np.float32]) -> Any:
    import torch
    from art.estimators.classification import PyTorchClassifier

    return PyTorchClassifier(
        model=_GalleryHead(network, gallery),
        loss=torch.nn.CrossEntropyLoss(),
        input_shape=(3, SFACE_CHIP_SIZE, SFACE_CHIP_SIZE),
        nb_classes=len(gallery),
        clip_values=(0.0, 255.0),
        device_type="cpu",
    )


# --- input transformations: candidate defences ------------------------------------------


def jpeg_chip(chip: NDArray[np.uint8], quality: int = 75) -> NDArray[np.uint8]:
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(chip, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:
        raise ValueError("JPEG encoding failed")
    decoded = np.asarray(cv2.imdecode(buf, cv2.IMREAD_COLOR), dtype=np.uint8)
    return np.asarray(cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB), dtype=np.uint8)


def resize_chip(chip: NDArray[np.uint8], factor: float = 0.75) -> NDArray[np.uint8]:
    side = chip.shape[0]
    small = cv2.resize(chip, (int(side * factor), int(side * factor)), interpolation=cv2.INTER_AREA)
    return np.asarray(cv2.resize(small, (side, side), interpolation=cv2.INTER_LINEAR), np.uint8)


#: Draws the random crops: one stream per audit, so each face gets its own offset.
_CROPS = random.Random(0)


def crop_chip(
    chip: NDArray[np.uint8], pixels: int = 4, rng: random.Random = _CROPS
) -> NDArray[np.uint8]:
    side = chip.shape[0]
    dx, dy = rng.randint(0, pixels), rng.randint(0, pixels)
    cut = chip[dy : side - pixels + dy, dx : side - pixels + dx]
    return np.asarray(cv2.resize(cut, (side, side), interpolation=cv2.INTER_LINEAR), np.uint8)


TRANSFORMS: dict[str, Callable[[NDArray[np.uint8]], NDArray[np.uint8]]] = {
    "input_jpeg_q75": jpeg_chip,
    "input_resize_0.75": resize_chip,
    "input_random_crop_4px": crop_chip,
}


# --- the attack ----------------------------------------------------------------------------


def _attack_pairs(
    data: AuditData, count: int, seed: int
) -> list[tuple[AuditSample, AuditSample, AuditSample]]:
    """(attacker's probe, victim's enrolled photo, attacker's enrolled photo) for people with
    two or more faces; victims drawn at random among the others."""
    groups = [g for g in data.by_identity().values() if len(g) >= 2]
    rng = random.Random(seed)
    rng.shuffle(groups)
    out = []
    for k, attacker in enumerate(groups[:count]):
        victim = groups[(k + 1) % len(groups)]
        out.append((attacker[0], victim[1], attacker[1]))
    return out


@dataclass(frozen=True, slots=True)
class _Outcome:
    undefended: list[bool]
    defended: dict[str, list[bool]]
    linf: list[float]
    pixels: float


def _run_pgd(
    data: AuditData,
    network: Any,
    pairs: Sequence[tuple[AuditSample, AuditSample, AuditSample]],
    *,
    impersonate: bool,
    eps: float,
    step: float,
    iterations: int,
    mask: NDArray[np.float32] | None,
) -> _Outcome:
    from art.attacks.evasion import ProjectedGradientDescentPyTorch

    gallery = np.stack(
        [victim.embedding for _, victim, _ in pairs] + [own.embedding for _, _, own in pairs]
    )
    classifier = _classifier(network, gallery)
    attack = ProjectedGradientDescentPyTorch(
        classifier,
        norm=np.inf,
        eps=eps,
        eps_step=step,
        max_iter=iterations,
        targeted=impersonate,
        num_random_init=0,
        batch_size=8,
        verbose=False,
    )
    x = chips_to_tensor([probe.chip for probe, _, _ in pairs]).numpy()
    n = len(pairs)
    target = np.arange(n) if impersonate else n + np.arange(n)
    labels = np.eye(len(gallery), dtype=np.float32)[target]
    kwargs: dict[str, Any] = {}
    if mask is not None:
        kwargs["mask"] = np.repeat(mask[None], n, axis=0)
    adv = attack.generate(x=x.astype(np.float32), y=labels, **kwargs)
    chips = [np.clip(np.rint(a.transpose(1, 2, 0)), 0, 255).astype(np.uint8) for a in adv]

    def opens(chip: NDArray[np.uint8], k: int) -> bool:
        emb = data.embed_chip(chip)
        ref = pairs[k][1].embedding if impersonate else pairs[k][2].embedding
        matched = data.score(emb, ref) >= data.threshold
        return matched if impersonate else not matched

    undefended = [opens(chip, k) for k, chip in enumerate(chips)]
    defended = {
        name: [opens(transform(chip), k) for k, chip in enumerate(chips)]
        for name, transform in TRANSFORMS.items()
    }
    linf = [
        float(np.max(np.abs(chip.astype(np.float32) - p.chip.astype(np.float32))))
        for chip, (p, _, _) in zip(chips, pairs, strict=True)
    ]
    pixels = float(mask[0].mean()) if mask is not None else 1.0
    return _Outcome(undefended, defended, linf, pixels)


def transform_costs(
    data: AuditData, max_pairs: int = 2000, seed: int = 0
) -> dict[str, tuple[Rate, Rate]]:
    """Genuine false non-matches at the door's threshold: (plain, transformed) per transform,
    over same-person pairs (the probe transformed, the enrolled template as stored)."""
    genuine = []
    for group in data.by_identity().values():
        for i in range(len(group)):
            for j in range(i + 1, len(group)):
                genuine.append((group[i], group[j]))
    random.Random(seed).shuffle(genuine)
    genuine = genuine[:max_pairs]
    plain = rate([data.score(a.embedding, b.embedding) < data.threshold for a, b in genuine])
    out = {}
    for name, transform in TRANSFORMS.items():
        out[name] = (
            plain,
            rate(
                [
                    data.score(data.embed_chip(transform(a.chip)), b.embedding) < data.threshold
                    for a, b in genuine
                ]
            ),
        )
    return out


def audit_evasion(
    data: AuditData, budget: EvasionBudget = EvasionBudget(), *, seed: int = 0
) -> list[AttackResult]:
    """Four white-box results: impersonation and dodging, whole face and eyeglass frame."""
    network = torch_sface(data.registry)
    _CROPS.seed(seed)
    pairs = _attack_pairs(data, budget.pairs, seed)
    if not pairs:
        raise ValueError("evasion needs people with two or more faces")
    costs = transform_costs(data, seed=seed)
    access = (
        "white-box: a differentiable copy of the shipped SFace network (onnx2torch, same "
        "embeddings)"
    )
    # Dodging needs a face the door knew: pairs whose probe matched its own template.
    known = [p for p in pairs if data.score(p[0].embedding, p[2].embedding) >= data.threshold]
    results = []
    for region, mask, eps, step in (
        ("face", None, budget.eps, budget.eps_step),
        ("eyeglasses", eyeglass_mask(), budget.glasses_eps, budget.glasses_step),
    ):
        for impersonate in (True, False):
            if not (pairs if impersonate else known):
                continue
            outcome = _run_pgd(
                data,
                network,
                pairs if impersonate else known,
                impersonate=impersonate,
                eps=eps,
                step=step,
                iterations=budget.iterations,
                mask=mask,
            )
            goal = (
                "impersonation: the attacker's face opens the door as a chosen resident"
                if impersonate
                else "dodging: an enrolled person is not recognised as themselves"
            )
            where = (
                "the whole aligned face"
                if mask is None
                else f"an eyeglass frame ({outcome.pixels:.0%} of the face)"
            )
            defences = []
            for name, flags in outcome.defended.items():
                plain, transformed = costs[name]
                added = transformed.value - plain.value
                defences.append(
                    DefenceResult.of(
                        name,
                        rate(flags),
                        f"genuine FNMR at {data.point.value} {plain.value:.2%} → "
                        f"{transformed.value:.2%} (n={plain.n} same-person pairs); "
                        "not adaptive-attack proof",
                        cost_fnmr=added,
                    )
                )
            undefended = rate(outcome.undefended)
            results.append(
                AttackResult(
                    name=f"evasion_pgd_{region}_{'impersonation' if impersonate else 'dodging'}",
                    goal=goal,
                    access=access,
                    budget=f"PGD (ART), L∞ ≤ {eps:g}/255 over {where}, "
                    f"{budget.iterations} steps of {step:g}",
                    n=undefended.n,
                    success_undefended=undefended.value,
                    ci95=undefended.ci95,
                    defences=defences,
                    detail={
                        "median_linf": float(np.median(outcome.linf)),
                        "judged_by": "shipped OpenCV SFace at the door's threshold",
                    },
                )
            )
    return results
