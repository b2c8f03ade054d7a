"""Words for the enrollment guard's refusal (``gate.enrollment_guard``): key → (Chinese,
English).

One reason whichever check refused, and words that name nobody: the enroller must not learn
that somebody alike is enrolled, nor who.
"""

from __future__ import annotations

STRINGS: dict[str, tuple[str, str]] = {
    "err_policy_refused_enrollment_refused": (
        "这张照片不能为此人录入人脸。请本人到物业前台办理。",
        "This photo cannot be enrolled for this person. Please come to the front desk in person.",
    ),
    "field_live": (
        "现场拍摄的照片：一张只有一张人脸的 JPEG 或 PNG 图片。",
        "The photo taken at the desk: one JPEG or PNG image showing one face.",
    ),
}
