"""The face decision, written once, below the gate API and the CLI.

- ``decider.py``: :class:`FaceDecider`, the rules in order (quality, liveness, match),
  one audit event per decision;
- ``request.py``: what is presented and where (:class:`FacePresentation`,
  :class:`FaceRequest`, :class:`LivenessDemand`);
- ``outcome.py``: :class:`FaceDecision`, :class:`FaceReason`, :class:`ClaimStatus`;
- its parts: ``pool.py`` (the pipelines), ``liveness.py`` (the checks), ``matcher.py``
  (thresholds and 1:1 / 1:N), ``frames.py`` (the bounded frame copy);
- ``runtime.py``: builds the registry, pipelines and liveness for the service and the CLI.
"""

from facegate.gate.decider import FaceDecider
from facegate.gate.outcome import ClaimStatus, FaceDecision, FaceReason
from facegate.gate.request import FacePresentation, FaceRequest, LivenessDemand

__all__ = [
    "ClaimStatus",
    "FaceDecider",
    "FaceDecision",
    "FacePresentation",
    "FaceReason",
    "FaceRequest",
    "LivenessDemand",
]
