"""What is presented for a face decision, and where: a gate device, or an operator's check."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from facegate.gate.frames import ImageSource
from facegate.matching import DEFAULT_OPERATING_POINT, OperatingPoint
from facegate.store.accounts import DeviceInfo
from facegate.store.audit import AuditAction, DetailValue
from facegate.store.records import GateInfo, LivenessLevel

#: Why templates are read for a decision at a gate (the ``templates.read`` audit purpose).
GATE_PURPOSE = "gate"
#: Why templates are read for staff's test of recognition from the console.
TRIAL_PURPOSE = "recognition_test"


class LivenessDemand(StrEnum):
    """The liveness checks a decision demands before matching.

    PASSIVE: the presentation-attack check on the frame that is matched (every gate).
    PASSIVE_ACTIVE: that, and a challenge of movements (a gate's ``passive_active`` level).
    SKIPPED: none; only for an operator's offline check of a photo file (a photo is not a
    live presentation, and the passive model calls many news photos attacks). Audited as
    ``liveness: skipped``; a gate never skips.
    """

    PASSIVE = "passive"
    PASSIVE_ACTIVE = "passive_active"
    SKIPPED = "skipped"

    @classmethod
    def of(cls, gate: GateInfo) -> LivenessDemand:
        """What ``gate``'s liveness level demands."""
        return cls(LivenessLevel(gate.liveness).value)


def device_actor(device: DeviceInfo) -> str:
    """The audit actor of a gate device."""
    return f"device:{device.id}"


@dataclass(frozen=True, slots=True)
class FacePresentation:
    """What was presented: one frame (encoded bytes or a file), or a challenge answer (the
    nonce a device was given and the frames, in time order, of the person doing the
    movements)."""

    image: ImageSource | None = None
    challenge: str | None = None
    frames: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class FaceRequest:
    """Where and how to decide: 1:N on ``site_code``'s gallery, or 1:1 against
    ``claimed_subject``, at ``operating_point``, with the liveness ``liveness`` demands.

    ``gate`` and ``device_id`` are set for a gate device (:meth:`at_gate`) and left out for
    an operator's check (the CLI). ``trial_gate`` names the gate staff test recognition for
    from the console (a photo, no device): audited as ``recognition.tested``, which opens
    nothing and is not a gate decision. Raises ``ValueError`` naming the field when they do
    not fit together.
    """

    site_code: str
    actor: str
    claimed_subject: str | None = None
    liveness: LivenessDemand = LivenessDemand.PASSIVE
    operating_point: OperatingPoint = DEFAULT_OPERATING_POINT
    gate: GateInfo | None = None
    device_id: str | None = None
    trial_gate: str | None = None

    def __post_init__(self) -> None:
        # Plain strings become the enums (the rules compare with ``is``).
        for name, kind in (("liveness", LivenessDemand), ("operating_point", OperatingPoint)):
            value = getattr(self, name)
            try:
                object.__setattr__(self, name, kind(value))
            except ValueError:
                raise ValueError(f"{name}: {value!r} is not a {kind.__name__}") from None
        if (self.gate is None) != (self.device_id is None):
            raise ValueError("gate and device_id: give both (a gate device) or neither")
        if self.gate is not None and self.gate.site_code != self.site_code:
            raise ValueError("gate: not a gate of site_code")
        if self.liveness is LivenessDemand.PASSIVE_ACTIVE and self.gate is None:
            raise ValueError("liveness: a challenge is bound to a gate device")
        if self.liveness is LivenessDemand.SKIPPED and self.gate is not None:
            raise ValueError("liveness: a gate never skips liveness")
        if self.trial_gate is not None and self.gate is not None:
            raise ValueError("trial_gate: a gate device's presentation is not a test")

    @classmethod
    def at_gate(
        cls, device: DeviceInfo, gate: GateInfo, claimed_subject: str | None = None
    ) -> FaceRequest:
        """A presentation at ``gate`` by ``device``, with the gate's liveness level, at the
        default (door) operating point."""
        return cls(
            site_code=device.site_code,
            actor=device_actor(device),
            claimed_subject=claimed_subject,
            liveness=LivenessDemand.of(gate),
            gate=gate,
            device_id=device.id,
        )

    @property
    def action(self) -> AuditAction:
        if self.trial_gate is not None:
            return AuditAction.RECOGNITION_TESTED
        if self.claimed_subject is None:
            return AuditAction.DECISION_IDENTIFY
        return AuditAction.DECISION_VERIFY

    @property
    def purpose(self) -> str:
        """The audited purpose of reading templates for this decision."""
        if self.gate is not None:
            return GATE_PURPOSE
        if self.trial_gate is not None:
            return TRIAL_PURPOSE
        return "identify" if self.claimed_subject is None else "verify"

    def where(self) -> dict[str, DetailValue]:
        """The audit detail naming the gate and device, if any."""
        if self.trial_gate is not None:
            return {"gate": self.trial_gate}
        if self.gate is None or self.device_id is None:
            return {}
        return {"gate": self.gate.code, "device": self.device_id}
