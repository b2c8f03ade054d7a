"""Words for an auditor's explanation of a decision: key → (Chinese, English).

Every key starts with ``xp_``. The codes the explanation answers (margin bands, quality and
liveness reasons, operating points, template states) each have a word here; the decision's
outcome, kind, reason and failed check reuse the access log's (``log_*``).
"""

from __future__ import annotations

#: Margin bands (``gate.explanation.MarginBand``): how far from the threshold, never a score.
_BANDS: dict[str, tuple[str, str]] = {
    "xp_band_far_below": ("明显低于阈值", "Well below the threshold"),
    "xp_band_near_below": ("略低于阈值", "Just below the threshold"),
    "xp_band_near_above": ("略高于阈值", "Just above the threshold"),
    "xp_band_far_above": ("明显高于阈值", "Well above the threshold"),
}

#: Quality reasons (``vision.record.QualityReason``).
_QUALITY: dict[str, tuple[str, str]] = {
    "xp_quality_face_too_small": ("人脸太小", "Face too small"),
    "xp_quality_blurred": ("画面模糊", "Blurred"),
    "xp_quality_underexposed": ("光线太暗", "Too dark"),
    "xp_quality_overexposed": ("光线太亮", "Too bright"),
    "xp_quality_strong_yaw": ("侧脸角度过大", "Head turned too far"),
    "xp_quality_strong_roll": ("头部倾斜过大", "Head tilted too far"),
}

#: Liveness outcomes the decider records (passive, active ``active_<reason>``, challenge).
_LIVENESS: dict[str, tuple[str, str]] = {
    "xp_liveness_skipped": ("未做活体检测（工作人员照片测试）", "Not checked (staff photo test)"),
    "xp_liveness_passive_ok": ("画面活体检测通过", "Live-face check passed"),
    "xp_liveness_passive_attack": ("画面判断为照片或屏幕", "Looked like a photo or screen"),
    "xp_liveness_passive_swap_boundary": ("检测到换脸边界", "A face-swap boundary was seen"),
    "xp_liveness_active_ok": ("动作检测通过", "Movement check passed"),
    "xp_liveness_active_empty_sequence": ("没有收到动作画面", "No movement frames arrived"),
    "xp_liveness_active_too_few_frames": ("动作画面太少", "Too few movement frames"),
    "xp_liveness_active_too_many_frames": ("动作画面太多", "Too many movement frames"),
    "xp_liveness_active_frame_size_mismatch": ("动作画面尺寸不一致", "Frames of different sizes"),
    "xp_liveness_active_no_face": ("动作画面中没有人脸", "No face in the movement frames"),
    "xp_liveness_active_several_faces": ("动作画面中有多张人脸", "Several faces in the frames"),
    "xp_liveness_active_not_frontal": ("起始画面不是正脸", "The first frame was not frontal"),
    "xp_liveness_active_identity_changed": ("动作过程中换了人", "The person changed"),
    "xp_liveness_active_challenge_not_followed": ("未按要求做动作", "Movements not as asked"),
    "xp_liveness_active_planar_motion": ("动作像平面照片", "Moved like a flat photo"),
    "xp_liveness_active_swap_boundary": ("动作画面中检测到换脸", "A face swap was seen"),
    "xp_liveness_active_replayed": ("重放了以前的动作画面", "An earlier answer was replayed"),
    "xp_liveness_active_frame_attack": ("动作画面判断为攻击", "A frame looked like an attack"),
    "xp_liveness_unknown_nonce": ("动作验证码无效", "Unknown movement challenge"),
    "xp_liveness_expired_nonce": ("动作验证已过期", "The movement challenge expired"),
    "xp_liveness_nonce_mismatch": (
        "动作验证属于其他设备或大门",
        "The challenge was another device's or gate's",
    ),
}

#: Operating points (``matching.OperatingPoint``): the error rate the threshold is set for.
_POINTS: dict[str, tuple[str, str]] = {
    "xp_point_fmr_1e-3": ("误识率千分之一", "False match rate 1 in 1,000"),
    "xp_point_fmr_1e-4": ("误识率万分之一", "False match rate 1 in 10,000"),
    "xp_point_fmr_1e-5": ("误识率十万分之一", "False match rate 1 in 100,000"),
}

STRINGS: dict[str, tuple[str, str]] = {
    **_BANDS,
    **_QUALITY,
    **_LIVENESS,
    **_POINTS,
    "xp_why": ("为何如此", "Why"),
    "xp_title": ("这次通行的判定依据", "Why this decision went this way"),
    "xp_close": ("关闭", "Close"),
    "xp_outcome": ("结果", "Outcome"),
    "xp_kind": ("方式", "Kind"),
    "xp_reason": ("原因", "Reason"),
    "xp_quality": ("画面质量问题", "Picture quality"),
    "xp_liveness": ("活体检测", "Liveness"),
    "xp_template": ("匹配的人脸模板", "Matched face template"),
    "xp_enrolled_at": ("录入时间", "enrolled"),
    "xp_template_erased": ("已删除", "erased"),
    "xp_margin": ("与阈值的差距", "Margin to the threshold"),
    "xp_point": ("判定标准", "Operating point"),
    "xp_model": ("识别模型", "Model"),
    "xp_engine": ("旧版识别引擎开门（请重新录入）", "Opened by an older engine (enroll again)"),
    "xp_none": ("无", "none"),
    "xp_no_score": (
        "只显示区间，不显示分数；门口设备和住户看不到这些信息。",
        "Bands only, never scores; gate devices and residents never see this.",
    ),
}
