"""Words for the log part of the pages: key → (Chinese, English).

The access log, its live feed and CSV, opening a gate from the console, the audit check
and retention run in words, the notice form and the device form. Outcomes and reasons
here are the manager's wording (what happened), not the kiosk's (what to do next).
"""

from __future__ import annotations

#: Reason codes of gate decisions → the manager's words.
_REASONS: dict[str, tuple[str, str]] = {
    "log_reason_ok": ("验证通过", "Verified"),
    "log_reason_unknown_credential": ("凭证未登记", "Credential not registered"),
    "log_reason_wrong_pin": ("住户编号或密码错误", "Wrong resident number or PIN"),
    "log_reason_expired": ("凭证已过期", "Credential expired"),
    "log_reason_used": ("一次性验证码已用过", "One-time code already used"),
    "log_reason_revoked": ("凭证已停用", "Credential revoked"),
    "log_reason_too_many_tries": ("密码错误次数过多，暂时锁定", "Too many wrong PINs: paused"),
    "log_reason_gate_does_not_accept": ("此门不接受该方式", "Not accepted at this gate"),
    "log_reason_subject_inactive": ("住户已停用或已搬离", "Resident inactive or moved out"),
    "log_reason_outside_schedule": ("不在允许通行的时段", "Outside the allowed hours"),
    "log_reason_not_yet_valid": ("凭证尚未生效", "Credential not yet valid"),
    "log_reason_not_for_this_gate": ("凭证不适用于此门", "Credential not valid at this gate"),
    "log_reason_not_recognized": ("人脸未匹配到登记住户", "Face not matched to a resident"),
    "log_reason_no_face": ("画面中没有人脸", "No face in the picture"),
    "log_reason_multiple_faces": ("画面中有多张人脸", "Several faces in the picture"),
    "log_reason_face_too_small": ("人脸太小（距离太远）", "Face too small (too far away)"),
    "log_reason_poor_quality": ("画面质量不足", "Picture quality too low"),
    "log_reason_liveness_failed": ("活体检测未通过", "Liveness check failed"),
    "log_reason_challenge_required": ("已要求做动作验证", "Movement check requested"),
    "log_reason_no_consent": ("没有有效的人脸识别同意", "No valid face consent"),
    "log_reason_consent_withdrawn": ("人脸识别同意已撤回", "Face consent withdrawn"),
    "log_reason_rate_limited": ("尝试过于频繁", "Too many tries"),
    "log_reason_remote_open": ("工作人员远程开门", "Opened remotely by staff"),
}

STRINGS: dict[str, tuple[str, str]] = {
    **_REASONS,
    # The access log
    "log_title": ("通行记录", "Access log"),
    "log_col_time": ("时间", "Time"),
    "log_col_gate": ("大门", "Gate"),
    "log_col_device": ("设备", "Device"),
    "log_col_person": ("人员", "Person"),
    "log_col_kind": ("方式", "Way in"),
    "log_col_outcome": ("结果", "Outcome"),
    "log_col_reason": ("原因", "Reason"),
    "log_col_why": ("远程开门原因", "Reason given for a remote opening"),
    "log_console": ("管理后台", "Console"),
    "log_kind_face": ("人脸", "Face"),
    "log_kind_card": ("门禁卡", "Card"),
    "log_kind_pin": ("密码", "PIN"),
    "log_kind_otp": ("一次性验证码", "One-time code"),
    "log_kind_remote": ("远程开门", "Remote opening"),
    "log_outcome_open": ("已开门", "Opened"),
    "log_outcome_deny": ("拒绝", "Refused"),
    "log_outcome_try_another": ("提示换用其他方式", "Asked to use another way"),
    "log_check_passive": ("画面活体检测", "live-face check"),
    "log_check_active": ("动作检测", "movement check"),
    "log_check_challenge": ("动作检测超时或失效", "movement check timed out or invalid"),
    "log_person_unknown": ("未知人员", "Unknown person"),
    "log_person_deleted": ("已删除的住户", "Deleted resident"),
    "log_person_staff": ("工作人员", "Staff"),
    "log_person_visitor": ("{name} 的访客", "Visitor of {name}"),
    "log_filter_from": ("开始日期", "From"),
    "log_filter_to": ("结束日期", "To"),
    "log_filter_gate": ("大门", "Gate"),
    "log_filter_outcome": ("结果", "Outcome"),
    "log_filter_kind": ("方式", "Way in"),
    "log_filter_person": ("人员（姓名或住户编号）", "Person (name or resident number)"),
    "log_filter_any": ("全部", "All"),
    "log_filter_apply": ("查询", "Search"),
    "log_filter_reset": ("清除条件", "Clear filters"),
    "log_export": ("导出 CSV", "Export CSV"),
    "log_export_needs_range": (
        "导出前请选择开始和结束日期。",
        "Choose a start and an end date before exporting.",
    ),
    "log_exported": ("已导出", "Exported"),
    "log_prev": ("上一页", "Previous"),
    "log_next": ("下一页", "Next"),
    "log_page": ("第 {from}–{to} 条，共 {total} 条", "{from}–{to} of {total}"),
    "log_empty": ("没有符合条件的记录", "No decisions match"),
    "log_scroll_hint": (
        "表格较宽：可左右滑动查看全部列",
        "Wide table: swipe sideways to see every column",
    ),
    "log_no_score": (
        "记录只显示结果和原因，从不显示相似度分数。",
        "The log shows outcomes and reasons, never a similarity score.",
    ),
    # The live feed
    "log_live": ("实时通行", "Live feed"),
    "log_live_start": ("开始实时显示", "Start live feed"),
    "log_live_stop": ("停止实时显示", "Stop live feed"),
    "log_live_on": (
        "实时显示中：新的通行记录会出现在表格顶部",
        "Live: new decisions appear at the top",
    ),
    "log_live_off": ("实时显示已停止", "Live feed stopped"),
    "log_live_lost": ("实时连接中断，正在重连…", "Live connection lost, reconnecting…"),
    # Opening a gate from the console
    "log_open_gate": ("远程开门", "Open remotely"),
    "log_open_title": ("远程开门", "Open the gate remotely"),
    "log_open_why": ("开门原因（必填，4–200 字）", "Reason (required, 4–200 characters)"),
    "log_open_confirm": ("确认开门", "Open the gate"),
    "log_open_cancel": ("取消", "Cancel"),
    "log_open_audited": (
        "开门操作会记录操作人和原因，并出现在通行记录中。",
        "Who opened it and why are recorded and shown in the access log.",
    ),
    "log_opened": ("已远程开门", "Opened remotely"),
    "log_open_kiosk_note": (
        "门口终端暂不显示远程开门。",
        "The gate's kiosk does not show remote openings yet.",
    ),
    "field_why": ("请填写开门原因（4–200 字）。", "Give a reason of 4 to 200 characters."),
    # The audit check and retention run, in words
    "log_audit_ok": (
        "已校验 {count} 条事件，审计链完整，最后一条事件时间 {last}",
        "{count} events checked, chain intact, last event {last}",
    ),
    "log_audit_ok_empty": ("已校验 0 条事件，审计链完整", "0 events checked, chain intact"),
    "log_audit_broken": (
        "审计链在第 {event} 条事件处断开——请查看审计日志并联系技术支持。",
        "Chain broken at event {event}: see the audit log and call support.",
    ),
    "log_audit_broken_unknown": (
        "审计链校验未通过——请查看审计日志并联系技术支持。",
        "The chain check failed: see the audit log and call support.",
    ),
    "log_retention_done": ("数据保留清理已完成：", "Retention run done:"),
    "log_retention_move_out": (
        "{n} 位已搬离住户的人脸数据已删除",
        "{n} moved-out residents' face data erased",
    ),
    "log_retention_expiry": (
        "{n} 位到期访客或临时住户的数据已删除",
        "{n} expired visitors or temporary residents erased",
    ),
    "log_retention_withdrawal": (
        "{n} 位撤回同意者的人脸数据已删除",
        "{n} withdrawn consents' face data erased",
    ),
    "log_retention_request": ("{n} 份按要求删除", "{n} erased on request"),
    "log_retention_reconcile": ("{n} 份恢复备份后再次删除", "{n} erased again after a restore"),
    "log_retention_other": ("{n} 份其他删除", "{n} other erasures"),
    "log_retention_nothing": (
        "没有到期需要删除的数据（0 位搬离住户，0 位到期访客）",
        "nothing was due (0 moved-out residents, 0 expired visitors)",
    ),
    # The notice form
    "log_notice_intro": (
        "每一项都要写中文和英文。发布后，扩大目的、方式或范围的新版本需要住户重新同意。",
        "Fill in every item in Chinese and English. A version that widens the purposes, "
        "methods or scope needs every resident's consent again.",
    ),
    "log_notice_zh": ("中文", "Chinese"),
    "log_notice_en": ("英文", "English"),
    "log_notice_item": ("项目", "Item"),
    "log_notice_days": ("保存天数", "Retention (days)"),
    "log_notice_purposes": ("处理目的", "Purposes"),
    "log_notice_methods": ("处理方式", "Methods"),
    "log_notice_scope": ("数据范围", "Data kept"),
    "log_notice_required": ("必填", "Required"),
    "log_notice_pick_one": ("至少选择一项", "Pick at least one"),
    "log_notice_too_long": ("太长（最多 2000 字）", "Too long (2000 characters at most)"),
    "log_notice_days_range": ("请填写 1 到 1825 之间的天数", "Give 1 to 1825 days"),
    "log_notice_fix": ("请先修改标红的项目。", "Fix the items marked in red first."),
    "log_notice_published": ("已发布告知书版本", "Published notice version"),
    "log_notice_renewals": ("位住户需要重新同意", "residents need to consent again"),
    "log_np_gate_entry": ("小区大门通行", "Community gate entry"),
    "log_np_unit_door": ("单元门通行", "Building door entry"),
    "log_np_dispute_review": ("争议通行复核", "Review of disputed entries"),
    "log_np_verify_1_1": ("1:1 核验", "1:1 verification"),
    "log_np_identify_1_n": ("1:N 识别", "1:N identification"),
    "log_np_liveness": ("活体检测", "Liveness check"),
    "log_np_keep_disputed_frames": ("保留争议画面", "Keeping disputed frames"),
    "log_np_face_template": ("人脸模板", "Face template"),
    "log_np_access_events": ("通行记录", "Access records"),
    "log_np_disputed_frames": ("争议画面", "Disputed frames"),
    "log_np_non_face_credentials": ("非人脸凭证", "Non-face credentials"),
    # The device form
    "log_device_gates": ("服务的大门（至少选一个）", "Gates it serves (at least one)"),
    "log_device_need_gate": ("请至少选择一个大门。", "Pick at least one gate."),
    "log_device_no_gates": ("还没有大门：请先添加大门。", "No gates yet: add a gate first."),
    "log_device_registered": ("设备已登记", "Device registered"),
    "log_device_confirm_revoke": (
        "确认停用这台设备？它的密钥立即失效，门口终端需要重新登记。",
        "Revoke this device? Its key stops working at once; the kiosk must be registered again.",
    ),
    # Errors of this part (FG.errorText)
    "err_invalid_record_log_range": (
        "结束日期要晚于开始日期。",
        "The end date must be after the start date.",
    ),
    "err_invalid_record_log_export_too_many": (
        "这段时间的记录超过 10 万条，请缩短日期范围或加筛选条件后再导出。",
        "More than 100,000 decisions in that range: shorten it or add a filter.",
    ),
    "err_invalid_record_log_range_long": (
        "一次最多导出一年的记录，请选择开始和结束日期。",
        "Export at most a year at a time: choose a start and an end date.",
    ),
}
