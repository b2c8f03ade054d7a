"""Decision explanations for auditors: no schema change.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

What an explanation reads is in each decision's audit ``detail`` already (quality and
liveness reasons, operating point) or added there by the face decider from this revision
on (``model``, ``margin_band``, ``template_id``: see ``gate.explanation``). The matched
template's enrollment time is read from its ``template`` row at explanation time, so
erasing the person (R-23) deletes it with the row and no copy needs a column of its own.
Kept as a revision so the chain stays 0010 → 0011 → later ones; nothing to freeze.
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing: explanations live in the decision's audit detail (module docstring)."""


def downgrade() -> None:
    """Nothing to undo; older code ignores the added detail keys."""
