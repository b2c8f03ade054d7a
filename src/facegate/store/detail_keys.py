"""Audit-detail keys written outside the store and read back by it (no imports: the store's
modules and the gate both use them)."""

from __future__ import annotations

#: Detail keys the face decider writes for an explanation (``gate.explanation``).
TEMPLATE_KEY = "template_id"
MARGIN_KEY = "margin_band"
MODEL_KEY = "model"
#: Which enrollment-guard check refused an enrollment (``gate.enrollment_guard``).
REFUSED_BY_KEY = "refused_by"

#: Audit-detail keys a person's own export leaves out. Which enrollment check refused them
#: would tell someone that a look-alike is enrolled here; the margin band and the matched
#: template's id are the auditor's explanation of a decision, not the person's data about
#: themselves (their decisions' outcomes and reasons stay).
AUDITOR_ONLY_DETAIL = frozenset({REFUSED_BY_KEY, MARGIN_KEY, TEMPLATE_KEY})
