"""The pages' words in Chinese and English.

Chinese is the default; ``?lang=en`` switches and the choice is remembered in the
``facegate_lang`` cookie. Every key has both languages (a test checks it). The pages' scripts
get the same table, so a message the browser writes is translated too.
"""

from __future__ import annotations

from facegate.api.words import (
    accounts,
    enrollment_checks,
    errors,
    explanations,
    frontdesk,
    kiosk,
    layout,
    log,
    me,
    operator_accounts,
    reports,
    residents,
    security,
)
from facegate.store.notices import Language

DEFAULT_LANGUAGE = Language.ZH
LANGUAGE_COOKIE = "facegate_lang"
LANGUAGE_QUERY = "lang"

#: key → (Chinese, English): the shared words; each part of the product adds its own module.
_BASE: dict[str, tuple[str, str]] = {
    "app_name": ("facegate 门禁", "facegate gates"),
    "language": ("English", "中文"),
    "home_title": ("小区门禁", "Community gates"),
    "home_intro": (
        "人脸识别门禁，依法保护个人信息。人脸识别始终可选：门禁卡、密码和一次性验证码同样可以开门。",
        "Face-recognition gates that follow the law on personal information. Face recognition "
        "is always optional: a card, PIN or one-time code opens every door as well.",
    ),
    "nav_admin": ("物业管理后台", "Admin console"),
    "nav_me": ("居民自助", "Resident self-service"),
    "nav_kiosk": ("门口终端", "Gate kiosk"),
    # Shared
    "sign_in": ("登录", "Sign in"),
    "sign_out": ("退出登录", "Sign out"),
    "username": ("用户名", "Username"),
    "password": ("密码", "Password"),
    "site": ("小区代码", "Site code"),
    "code": ("验证码", "Code"),
    "submit": ("提交", "Submit"),
    "working": ("处理中…", "Working…"),
    "done": ("完成", "Done"),
    "error": ("出错了", "Something went wrong"),
    "not_signed_in": ("请先登录", "Please sign in"),
    "shown_once": ("只显示这一次，请立即记下。", "Shown only once: note it down now."),
    "expires_at": ("有效期至", "Valid until"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "none": ("无", "none"),
    # Admin console
    "admin_title": ("物业管理后台", "Administrator console"),
    "residents": ("住户", "Residents"),
    "name": ("姓名", "Name"),
    "kind": ("类型", "Kind"),
    "kind_resident": ("住户", "Resident"),
    "kind_visitor": ("访客", "Visitor"),
    "kind_temporary": ("临时住户", "Temporary resident"),
    "status": ("状态", "Status"),
    "status_active": ("在住", "Active"),
    "status_deleted": ("已删除", "Deleted"),
    "gate_name": ("名称", "Name"),
    "consent": ("人脸同意", "Face consent"),
    "templates": ("人脸模板数", "Face templates"),
    "actions": ("操作", "Actions"),
    "adult": ("已满 14 周岁", "Aged 14 or over"),
    "expires": ("到期日（访客/临时住户必填）", "End date (visitors and temporary residents)"),
    "add_resident": ("登记住户", "Register a resident"),
    "issue_signin_code": ("发放自助登录码", "Issue sign-in code"),
    "issue_pin": ("设置密码", "Set PIN"),
    "issue_card": ("登记门禁卡", "Register card"),
    "issue_otp": ("发放一次性验证码", "Issue one-time code"),
    "card_number": ("卡号", "Card number"),
    "pin": ("密码（数字）", "PIN (digits)"),
    "secret_for": ("发给", "For"),
    "signin_code": ("自助登录码", "Self-service sign-in code"),
    "otp_code": ("一次性验证码", "One-time code"),
    "gates": ("大门", "Gates"),
    "gate": ("大门", "Gate"),
    "accepts": ("可用方式", "Accepts"),
    "devices": ("门口终端设备", "Gate devices"),
    "device_name": ("设备名称", "Device name"),
    "add_device": ("登记设备", "Register device"),
    "device_key": ("设备密钥", "Device key"),
    "kiosk_link": ("终端链接（在门口设备上打开）", "Kiosk link (open it on the gate device)"),
    "revoke": ("停用", "Revoke"),
    "decisions": ("最近通行记录", "Recent decisions"),
    "time": ("时间", "Time"),
    "outcome": ("结果", "Outcome"),
    "reason": ("原因", "Reason"),
    "audit": ("审计日志", "Audit log"),
    "verify_audit": ("校验审计链", "Verify the audit chain"),
    "retention": ("数据保留", "Retention"),
    "run_retention": ("执行到期清理", "Run retention now"),
    "compliance": ("合规报告", "Compliance report"),
    "open_compliance": ("查看合规报告", "Open the compliance report"),
    "notice_editor": ("告知书编辑", "Notice editor"),
    "notice_version": ("新版本号", "New version"),
    "publish_notice": ("发布新版本", "Publish new version"),
    "current_version": ("当前版本", "Current version"),
    "move_out": ("登记搬离", "Move out"),
    "confirm_move_out": (
        "确认登记搬离？人脸开门立即停止，数据在保留期满后删除。",
        "Record the move-out? Face entry stops now; the data is erased after the retention period.",
    ),
    "delete_subject": ("删除住户", "Delete"),
    "confirm_delete": (
        "确认永久删除该住户的全部数据？此操作不可撤销。",
        "Erase all of this resident's data for good? This cannot be undone.",
    ),
    "deletion_receipt": ("删除回执", "Deletion receipt"),
    "templates_deleted": ("已删除人脸模板", "Face templates deleted"),
    "credentials_deleted": ("已删除开门凭证", "Credentials deleted"),
    "keys_destroyed": ("已销毁密钥", "Keys destroyed"),
    "receipt_id": ("回执编号", "Receipt number"),
    "deletion_reason_withdrawal": ("撤回同意", "consent withdrawn"),
    "deletion_reason_move_out": ("搬离", "moved out"),
    "deletion_reason_expiry": ("到期", "expired"),
    "deletion_reason_request": ("本人或管理员要求删除", "deletion on request"),
    "deletion_reason_reconcile": ("恢复备份后再次删除", "erased again after a restore"),
    "show_credentials": ("开门凭证", "Credentials"),
    "credential_kind_card": ("门禁卡", "Card"),
    "credential_kind_pin": ("密码", "PIN"),
    "credential_kind_otp": ("一次性验证码", "One-time code"),
    "credential_revoked": ("凭证已停用", "Credential revoked"),
    "credential_status_active": ("有效", "Active"),
    "credential_status_revoked": ("已停用", "Revoked"),
    "credential_status_used": ("已使用", "Used"),
    "paper_consent": ("登记书面同意", "Paper consent"),
    "consent_evidence": ("同意书凭据（扫描件编号）", "Evidence reference (scan number)"),
    "consent_method": ("签署方式", "How it was signed"),
    "method_signature": ("手写签名", "Handwritten signature"),
    "method_e_signature": ("电子签名", "Electronic signature"),
    "record_consent": ("登记同意", "Record consent"),
    "edit_gate": ("修改大门", "Edit gate"),
    "liveness_level": ("活体检测", "Liveness"),
    "liveness_passive": ("静默活体（单帧）", "Passive (one frame)"),
    "liveness_passive_active": (
        "静默活体 + 动作挑战（无人值守门推荐）",
        "Passive + challenge (recommended for unattended gates)",
    ),
    "edit": ("修改", "Edit"),
    "accepts_face": ("人脸识别", "Face recognition"),
    "accepts_card": ("门禁卡", "Card"),
    "accepts_pin": ("住户编号 + 密码", "Resident number + PIN"),
    "accepts_otp": ("一次性验证码", "One-time code"),
    "gate_needs_non_face": (
        "每个大门都必须至少支持一种不用人脸的方式。",
        "Every gate must accept at least one way in without the face.",
    ),
    "save_gate": ("保存", "Save gate"),
    "status_moved_out": ("已搬离", "Moved out"),
    # Self-service
    "me_title": ("居民自助服务", "Resident self-service"),
    "me_signin_title": ("用物业发放的登录码登录", "Sign in with the code from the front desk"),
    "my_data": ("我的信息", "My data"),
    "resident_number": ("住户编号（密码开门时输入）", "Resident number (for the PIN pad)"),
    "resident_number_short": ("住户编号", "Resident number"),
    "notice": ("人脸信息处理告知书", "Notice on face processing"),
    "notice_purpose": ("处理目的", "Purpose"),
    "notice_method": ("处理方式", "Method"),
    "notice_scope": ("处理范围", "Scope"),
    "notice_retention": ("保存期限", "Retention"),
    "notice_storage_location": ("存储位置", "Storage location"),
    "notice_processor": ("处理者", "Processor"),
    "notice_contact": ("联系方式", "Contact"),
    "notice_withdrawal": ("撤回与删除", "Withdrawal and deletion"),
    "consent_title": ("是否同意人脸识别", "Face recognition: your choice"),
    "consent_optional": (
        "人脸识别是可选的。不同意也可以用门禁卡、密码或一次性验证码开门。",
        "Face recognition is optional. Without it a card, PIN or one-time code opens the gates.",
    ),
    "consent_checkbox": (
        "我已阅读上述告知书，单独同意本小区为门禁通行处理我的人脸信息。",
        "I have read the notice above and separately consent to this community processing "
        "my face for gate entry.",
    ),
    "consent_give": ("同意人脸识别", "Give consent"),
    "consent_withdraw": ("撤回同意", "Withdraw consent"),
    "consent_given": ("已同意", "Consent given"),
    "face_reenroll": (
        "门禁已换用新的人脸识别模型：请用自助登录码在门口终端重新登记人脸。在此之前门禁仍能识别您。",
        "The gates now use a new face recognition model: please enroll your face again at "
        "the gate kiosk with a self-service code. Until then the gate still knows you.",
    ),
    "consent_none": ("未同意", "No consent"),
    "consent_tick_first": ("请先勾选同意框", "Tick the box first"),
    "export": ("导出我的数据", "Export my data"),
    "alternatives_title": ("不用人脸的开门方式", "Ways in without your face"),
    "get_otp": ("获取一次性验证码", "Get a one-time code"),
    "set_pin": ("设置开门密码", "Set my PIN"),
    "pin_set": ("密码已设置", "PIN set"),
    "delete_face": ("删除我的人脸数据", "Delete my face data"),
    "face_deleted": ("人脸数据已删除", "Face data deleted"),
    "credentials": ("开门凭证", "Credentials"),
    # Reasons (decision codes from the API; unknown codes are shown as they are)
    "reason_ok": ("验证通过", "Verified"),
    "reason_unknown_credential": ("凭证无效", "This credential is not known"),
    "reason_wrong_pin": ("住户编号或密码错误", "Wrong resident number or PIN"),
    "reason_expired": ("凭证已过期", "This credential has expired"),
    "reason_used": ("验证码已使用", "This code was already used"),
    "reason_revoked": ("凭证已停用", "This credential was revoked"),
    "reason_too_many_tries": (
        "错误次数过多，请稍候再试，或改用其他方式",
        "Too many wrong PINs: wait a moment, or use another way in",
    ),
    "reason_gate_does_not_accept": ("此门不支持该方式", "This gate does not accept that"),
    "reason_subject_inactive": ("住户已停用", "This resident is no longer active"),
    "reason_no_face": ("未检测到人脸，请正视摄像头", "No face seen: look at the camera"),
    "reason_multiple_faces": ("画面中有多张人脸", "More than one face in view"),
    "reason_face_too_small": ("请靠近一些", "Please come closer"),
    "reason_poor_quality": ("画面不清晰，请重试", "The picture is unclear: try again"),
    "reason_not_recognized": ("未识别到已登记的人脸", "Face not recognized"),
    "reason_no_match": ("未识别到已登记的人脸", "Face not recognized"),
    "reason_no_consent": ("没有有效的人脸识别同意", "No valid consent to face recognition"),
    "reason_consent_withdrawn": ("人脸识别同意已撤回", "Consent to face recognition withdrawn"),
    "reason_liveness_failed": (
        "活体检测未通过，请使用下方其他方式",
        "Liveness check failed: please use another way in below",
    ),
    "reason_challenge_required": ("请按提示做动作", "Please follow the prompts"),
    # Which liveness check refused the face (a decision's ``check``), under its reason.
    "check_passive": (
        "未通过：画面活体检测（摄像头未能确认是真人）",
        "Not passed: the live-face check (the camera could not confirm a live person)",
    ),
    "check_active": (
        "未通过：动作检测（未按提示转头或靠近）",
        "Not passed: the movement check (the movements were not done as asked)",
    ),
    "check_challenge": (
        "未通过：动作检测已超时或失效，可以重试",
        "Not passed: the movement check timed out or is no longer valid; you can try again",
    ),
    "step_baseline": ("请正视摄像头，保持不动", "Look at the camera and hold still"),
    "step_turn_left": ("请向左转头", "Turn your head to your left"),
    "step_turn_right": ("请向右转头", "Turn your head to your right"),
    "step_come_closer": ("请靠近摄像头", "Come closer to the camera"),
    "reason_rate_limited": ("尝试过于频繁，请稍后再试", "Too many tries: wait a moment"),
}


def _merged(*tables: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    merged: dict[str, tuple[str, str]] = {}
    for table in tables:
        twice = merged.keys() & table.keys()
        if twice:
            raise ValueError(f"page words defined twice: {sorted(twice)}")
        merged.update(table)
    return merged


STRINGS = _merged(
    _BASE,
    accounts.STRINGS,
    enrollment_checks.STRINGS,
    errors.STRINGS,
    explanations.STRINGS,
    frontdesk.STRINGS,
    kiosk.STRINGS,
    layout.STRINGS,
    log.STRINGS,
    me.STRINGS,
    operator_accounts.STRINGS,
    reports.STRINGS,
    residents.STRINGS,
    security.STRINGS,
)


def choose_language(query: str | None, cookie: str | None) -> Language:
    """The query's language if it names one, else the remembered one, else Chinese."""
    for candidate in (query, cookie):
        if candidate in {language.value for language in Language}:
            return Language(candidate)
    return DEFAULT_LANGUAGE


#: The notice's fields, labelled in each language whatever the page's language is.
NOTICE_FIELDS = (
    "purpose",
    "method",
    "scope",
    "retention",
    "storage_location",
    "processor",
    "contact",
    "withdrawal",
)


def notice_labels() -> dict[str, list[tuple[str, str]]]:
    """``{"zh": [(field, label), ...], "en": [...]}``, in the notice's order, for showing
    the notice in both languages."""
    return {
        language.value: [(field, strings(language)[f"notice_{field}"]) for field in NOTICE_FIELDS]
        for language in Language
    }


class Words:
    """The page words as attributes for templates (``t.clear``).

    A plain dict would not do: Jinja looks attributes up before items, so ``t.clear`` on a
    dict is the dict's ``clear`` method, which the kiosk once showed on its keypad. A key
    missing from the table fails the render instead of printing nothing.
    """

    __slots__ = ("_table",)

    def __init__(self, table: dict[str, str]) -> None:
        self._table = table

    def __getattr__(self, key: str) -> str:
        try:
            return self._table[key]
        except KeyError:
            raise AttributeError(f"no page word {key!r}") from None


def strings(language: Language) -> dict[str, str]:
    """Every page string in ``language``."""
    index = 0 if language is Language.ZH else 1
    return {key: pair[index] for key, pair in STRINGS.items()}
