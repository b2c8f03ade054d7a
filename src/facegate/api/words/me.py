"""Words for the resident's part of the pages (self-service, the printable export, visitor
passes, gate schedules, and the kiosk's words for pass and schedule refusals):
key → (Chinese, English)."""

from __future__ import annotations

from facegate.store.passes import MAX_PASS_GATES
from facegate.store.schedules import MAX_WINDOWS
from facegate.store.schema import TIMEZONE_LENGTH

_SELF_SERVICE: dict[str, tuple[str, str]] = {
    "me_steps_title": ("我的进度", "Where you are"),
    "me_step_notice": ("阅读告知书", "Read the notice"),
    "me_step_consent": ("同意人脸识别（可选）", "Give consent to face recognition (optional)"),
    "me_step_face": ("录入人脸", "Face enrolled"),
    "me_step_alt": (
        "不用人脸的开门方式（密码、门禁卡或一次性验证码）",
        "A way in without your face (PIN, card or one-time code)",
    ),
    "me_step_done": ("已完成", "done"),
    "me_step_todo": ("未完成", "not yet"),
    "me_next_title": ("下一步", "Next step"),
    "me_next_consent": (
        "人脸识别是可选的。想用刷脸开门，请阅读下方告知书并勾选同意；不想用也没关系，设置密码或领取一次性验证码即可开门。",
        "Face recognition is optional. To use it, read the notice below and give consent. "
        "Without it, set a PIN or get a one-time code: they open the gates too.",
    ),
    "me_next_enroll": (
        "下一步：录入人脸。到小区门口终端，点“录入人脸”，输入物业前台发放的自助登录码，正视摄像头；也可以到物业前台用照片录入。",
        "Next: enroll your face. At the gate kiosk, tap “Enroll my face”, type a "
        "self-service sign-in code from the front desk and look at the camera. Or ask the "
        "front desk to enroll you from a photo.",
    ),
    "me_next_ready": (
        "人脸已录入，门禁可以识别您。您可以随时撤回同意，人脸数据会立即删除。",
        "Your face is enrolled: the gates know you. You can withdraw at any time; your face "
        "data is then erased at once.",
    ),
    "me_pin_rule": (
        "规则：6 到 12 位数字；不能是同一数字重复（如 111111）、"
        "连续数字（如 123456、654321）、重复的小段（如 121212）或常见密码。",
        "The rule: 6 to 12 digits; not one digit repeated (111111), not a run (123456 or "
        "654321), not a short block repeated (121212), not a common choice.",
    ),
    "me_export_json": ("下载数据文件（JSON）", "Download as a file (JSON)"),
    "me_export_print": ("查看可打印的数据页", "Open a page to read and print"),
    "me_confirm_withdraw_title": ("确认撤回同意？", "Withdraw your consent?"),
    "me_confirm_withdraw_body": (
        "撤回后人脸识别立即停止，您的人脸数据会被删除。密码、门禁卡和一次性验证码照常可用。以后想再用刷脸，需要重新同意并重新录入。",
        "Face recognition stops at once and your face data is erased. Your PIN, card and "
        "one-time codes keep working. To use your face again later, give consent and "
        "enroll again.",
    ),
    "me_confirm_withdraw_yes": ("确认撤回", "Yes, withdraw"),
    "me_confirm_delete_title": ("确认删除我的人脸数据？", "Delete your face data?"),
    "me_confirm_delete_body": (
        "您的人脸模板会被永久删除，同意也一并撤回，无法恢复。密码、门禁卡和一次性验证码照常可用。",
        "Your face templates are erased for good and your consent is withdrawn; this cannot "
        "be undone. Your PIN, card and one-time codes keep working.",
    ),
    "me_confirm_delete_yes": ("确认删除", "Yes, delete"),
    "me_cancel": ("取消", "Cancel"),
    "me_withdrawn": ("已撤回同意，人脸数据已删除", "Consent withdrawn; your face data is erased"),
    "me_signin_hint": (
        "小区代码和登录码都在物业前台给您的登录单上。",
        "The site code and the sign-in code are both on the slip from the front desk.",
    ),
}

_EXPORT: dict[str, tuple[str, str]] = {
    "exp_title": ("我的个人信息", "My personal data"),
    "exp_intro": (
        "本小区门禁系统保存的关于您的全部信息。人脸模板经过加密，不会显示或导出。",
        "Everything this community's gate system holds about you. Face templates are "
        "encrypted and are never shown or exported.",
    ),
    "exp_print": ("打印", "Print"),
    "exp_back": ("返回居民自助", "Back to self-service"),
    "exp_loading": ("正在读取…", "Loading…"),
    "exp_exported_at": ("导出时间", "Exported at"),
    "exp_who": ("我是谁", "Who"),
    "exp_site": ("小区", "Community"),
    "exp_operator": ("处理者", "Run by"),
    "exp_kind": ("身份", "Kind"),
    "exp_registered": ("登记时间", "Registered"),
    "exp_consents": ("人脸识别同意", "Consents to face recognition"),
    "exp_notice_version": ("告知书版本", "Notice version"),
    "exp_given": ("同意时间", "Given"),
    "exp_withdrawn": ("撤回时间", "Withdrawn"),
    "exp_method": ("方式", "How"),
    "exp_credentials": ("不用人脸的开门方式", "Ways in without the face"),
    "exp_created": ("创建时间", "Created"),
    "exp_used": ("使用时间", "Used"),
    "exp_enrollments": ("人脸录入", "Face enrollment"),
    "exp_template_count": ("保存的人脸模板数", "Face templates held"),
    "exp_model": ("识别模型", "Model"),
    "exp_enrolled_at": ("录入时间", "Enrolled"),
    "exp_decisions": ("最近的通行记录", "Recent gate decisions"),
    "exp_audit": ("对我的数据做过的操作（审计日志）", "What was done with my data (audit log)"),
    "exp_action": ("操作", "Action"),
    "exp_actor": ("操作者", "By"),
    "exp_passes": ("我发放的访客通行证", "Visitor passes I made"),
    "exp_empty": ("无", "none"),
    "exp_outcome_open": ("已开门", "Opened"),
    "exp_outcome_deny": ("未开门", "Refused"),
    "exp_outcome_try_another": ("请换一种方式", "Another way asked"),
    "exp_act_subject_added": ("登记住户", "Registered"),
    "exp_act_consent_recorded": ("记录同意", "Consent recorded"),
    "exp_act_consent_withdrawn": ("撤回同意", "Consent withdrawn"),
    "exp_act_enrollment_refused": ("人脸录入未通过", "Face enrollment refused"),
    "exp_act_template_enrolled": ("录入人脸", "Face enrolled"),
    "exp_act_templates_erased": ("删除人脸数据", "Face data erased"),
    "exp_act_templates_read": ("读取人脸模板（比对）", "Face templates read (to compare)"),
    "exp_act_decision_identify": ("刷脸通行", "Face at a gate"),
    "exp_act_decision_verify": ("刷脸核验", "Face check"),
    "exp_act_decision_credential": ("凭证通行", "Credential at a gate"),
    "exp_act_credential_issued": ("发放开门凭证", "Credential issued"),
    "exp_act_credential_revoked": ("停用开门凭证", "Credential revoked"),
    "exp_act_subject_exported": ("导出我的数据", "My data exported"),
    "exp_act_session_signed_in": ("登录自助服务", "Signed in"),
    "exp_act_session_signed_out": ("退出自助服务", "Signed out"),
    "exp_act_signin_code_issued": ("发放自助登录码", "Sign-in code issued"),
    "exp_act_subject_moved_out": ("登记搬离", "Move-out recorded"),
}

_PASSES: dict[str, tuple[str, str]] = {
    "pass_title": ("访客通行证", "Visitor passes"),
    "pass_intro": (
        "为来访的亲友生成一次性通行码：在您选的大门、您定的时间内可以开门一次"
        "（最长 24 小时，7 天内开始）。把号码或二维码发给访客；"
        "到门口时在终端选“一次性验证码”，输入号码即可。",
        "Make a one-time code for a visitor: it opens the gates you choose once, within the "
        "time you set (at most 24 hours, starting within 7 days). Send the number or the QR "
        "picture to your visitor; at the gate they choose “One-time code” and type it.",
    ),
    "pass_label": ("访客称呼（可不填，如“李阿姨”）", "Visitor (optional, e.g. “Aunt Li”)"),
    "pass_gates": ("可用的大门", "Gates"),
    "pass_from": ("开始时间", "From"),
    "pass_until": ("结束时间", "Until"),
    "pass_create": ("生成通行证", "Make a pass"),
    "pass_code": ("通行码", "Pass code"),
    "pass_qr_alt": ("通行码二维码", "QR code of the pass"),
    "pass_share_hint": (
        "只显示这一次：现在就把号码或二维码截图发给访客。到门口时选“一次性验证码”，输入号码。",
        "Shown only once: send the number or a screenshot of the QR code to your visitor "
        "now. At the gate: “One-time code”, then type the number.",
    ),
    "pass_limits": (
        "同时最多 5 张未使用的通行证。",
        "At most 5 unused passes at once.",
    ),
    "pass_list": ("我的通行证", "My passes"),
    "pass_none": ("还没有通行证", "No passes yet"),
    "pass_pick_gate": ("请至少选一个大门", "Choose at least one gate"),
    "pass_no_gates": (
        "本小区没有接受一次性验证码的大门，请联系物业。",
        "No gate here takes one-time codes: please ask the front desk.",
    ),
    "pass_revoke": ("作废", "Revoke"),
    "pass_revoked": ("通行证已作废", "Pass revoked"),
    "pass_created": ("通行证已生成", "Pass made"),
    "pass_status": ("状态", "Status"),
    "pass_status_upcoming": ("未到时间", "Not yet valid"),
    "pass_status_active": ("可使用", "Valid"),
    "pass_status_used": ("已使用", "Used"),
    "pass_status_expired": ("已过期", "Expired"),
    "pass_status_revoked": ("已作废", "Revoked"),
    "pass_visitor": ("访客", "Visitor"),
    "pass_when": ("有效时间", "Valid"),
}

_SCHEDULES: dict[str, tuple[str, str]] = {
    "sched_title": ("通行时段", "Gate schedules"),
    "sched_intro": (
        "为每个大门设置各种方式可以开门的时段（按小区当地时间）。某种方式没有设置时段，就全天可用。只要刷脸可用，就必须同时有一种不用人脸的方式可用。",
        "Set when each way in may open a gate (local time). A way with no window works at "
        "any time. Whenever the face is allowed, some way in without the face must be "
        "allowed too.",
    ),
    "sched_gate": ("大门", "Gate"),
    "sched_timezone": ("时区", "Time zone"),
    "sched_kind": ("方式", "Way in"),
    "sched_days": ("星期", "Days"),
    "sched_start": ("开始", "From"),
    "sched_end": ("结束", "Until"),
    "sched_add": ("添加时段", "Add a window"),
    "sched_remove": ("删除", "Remove"),
    "sched_save": ("保存时段", "Save schedule"),
    "sched_saved": ("时段已保存", "Schedule saved"),
    "sched_none": (
        "未设置时段：所有方式全天可用。",
        "No schedule: every way in works at any time.",
    ),
    "sched_day_0": ("一", "Mon"),
    "sched_day_1": ("二", "Tue"),
    "sched_day_2": ("三", "Wed"),
    "sched_day_3": ("四", "Thu"),
    "sched_day_4": ("五", "Fri"),
    "sched_day_5": ("六", "Sat"),
    "sched_day_6": ("日", "Sun"),
    "sched_kind_face": ("刷脸", "Face"),
    "sched_kind_card": ("门禁卡", "Card"),
    "sched_kind_pin": ("密码", "PIN"),
    "sched_kind_otp": ("一次性验证码", "One-time code"),
    "sched_pick_day": ("每个时段至少选一天", "Each window needs at least one day"),
}

_KIOSK_AND_ERRORS: dict[str, tuple[str, str]] = {
    # The kiosk's words for the reasons this part adds (FG.reasonText reads reason_<code>).
    "reason_outside_schedule": (
        "现在不是这种方式的通行时段，请换一种方式",
        "Not at this time of day: please use another way in",
    ),
    "reason_not_yet_valid": ("通行证还没到可用时间", "This pass is not valid yet"),
    "reason_not_for_this_gate": ("通行证不能在此门使用", "This pass is not for this gate"),
    "err_policy_refused_too_many_passes": (
        "您已有 5 张未使用的通行证：请先作废一张，或等它过期。",
        "You already have 5 unused passes: revoke one or let it expire first.",
    ),
    "err_policy_refused_gate_takes_no_codes": (
        "所选大门不接受一次性验证码，请换一个大门。",
        "A gate you chose does not take one-time codes: choose another.",
    ),
    "err_invalid_record_pass_in_past": (
        "开始时间不能早于现在。",
        "The start cannot be in the past.",
    ),
    "err_invalid_record_pass_too_far": (
        "开始时间最多在 7 天以后。",
        "The start can be at most 7 days ahead.",
    ),
    "err_invalid_record_pass_too_long": (
        "通行证最长 24 小时。",
        "A pass lasts at most 24 hours.",
    ),
    "err_invalid_record_pass_window_order": (
        "结束时间要晚于开始时间。",
        "The end must be after the start.",
    ),
    "err_invalid_record_pass_gates": ("请至少选一个大门。", "Choose at least one gate."),
    "err_invalid_record_too_many_pass_gates": (
        f"一张通行证最多选 {MAX_PASS_GATES} 个大门。",
        f"A pass names at most {MAX_PASS_GATES} gates.",
    ),
    "err_not_found_pass_unknown_gate": (
        "所选的大门不在本小区，请刷新页面后重新选择。",
        "A gate you chose is not at this community: reload the page and choose again.",
    ),
    "err_invalid_record_pass_time_zone": (
        "开始和结束时间都要带时区。",
        "The start and end times must each carry their time zone.",
    ),
    "err_policy_refused_schedule_face_only": (
        "这样设置会让某些时段只能刷脸进门。每个大门在允许刷脸的时段，必须同时允许一种不用人脸的方式（门禁卡、密码或一次性验证码）。",
        "That would leave times when only the face opens this gate. Whenever the face is "
        "allowed, a card, PIN or one-time code must be allowed too.",
    ),
    "err_invalid_record_unknown_timezone": (
        "时区名称不正确，例如 Asia/Shanghai。",
        "Unknown time zone: use a name such as Asia/Shanghai.",
    ),
    "err_invalid_record_timezone_format": (
        f"请填写时区名称（最多 {TIMEZONE_LENGTH} 个字符），例如 Asia/Shanghai。",
        f"Fill in a time zone name (at most {TIMEZONE_LENGTH} characters) such as Asia/Shanghai.",
    ),
    "err_invalid_record_too_many_windows": (
        f"一个大门的通行时段最多 {MAX_WINDOWS} 个，请合并一些时段。",
        f"A gate's schedule holds at most {MAX_WINDOWS} windows: merge some of them.",
    ),
    "err_invalid_record_window_order": (
        "每个时段的开始要早于结束，并在同一天内（00:00 到 24:00）。",
        "Each window starts before it ends, within one day (00:00 to 24:00).",
    ),
    "err_invalid_record_pin_rule": (
        "这个密码不符合规则，请按密码框下方的规则换一个。",
        "That PIN does not follow the rule under the PIN box: choose another.",
    ),
    "field_label": ("访客称呼最多 40 个字。", "The visitor's label is at most 40 characters."),
    "field_days": ("请选择星期（周一到周日）。", "Choose the days (Monday to Sunday)."),
    "field_start": ("开始时间格式为 时:分，如 06:00。", "The start is a time such as 06:00."),
    "field_end": ("结束时间格式为 时:分，如 23:00。", "The end is a time such as 23:00."),
    "field_timezone": (
        "请填写时区，如 Asia/Shanghai。",
        "Fill in a time zone such as Asia/Shanghai.",
    ),
    "field_windows": ("时段设置不正确。", "The windows are not right."),
    "field_valid_from": ("请填写开始时间。", "Fill in the start time."),
    "field_valid_until": ("请填写结束时间。", "Fill in the end time."),
}

STRINGS: dict[str, tuple[str, str]] = {
    **_SELF_SERVICE,
    **_EXPORT,
    **_PASSES,
    **_SCHEDULES,
    **_KIOSK_AND_ERRORS,
}
