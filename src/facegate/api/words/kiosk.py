"""Words for the gate kiosk (``/kiosk``): key → (Chinese, English).

Short and large on purpose: the kiosk is read standing at a door, often by elderly residents.
The decision reasons (``reason_*``) and liveness checks (``check_*``) stay with the shared
words, since the console's decision log shows them too.
"""

from __future__ import annotations

STRINGS: dict[str, tuple[str, str]] = {
    "kiosk_title": ("门口终端", "Gate kiosk"),
    "kiosk_not_configured": (
        "此终端未配置：请用管理后台给出的终端链接打开。",
        "This kiosk is not set up: open it with the kiosk link from the admin console.",
    ),
    "look_at_camera": ("请正视摄像头", "Please look at the camera"),
    "camera_unavailable": (
        "摄像头不可用，请使用下方其他方式开门。",
        "The camera is not available: use one of the other ways in below.",
    ),
    "mode_gate": ("刷脸开门", "Face entry"),
    "mode_enroll": ("录入人脸", "Enroll my face"),
    "enroll_intro": (
        "先在居民自助页面同意人脸识别，再输入物业发放的自助登录码，正视摄像头。",
        "Give consent on the self-service page first, then type your sign-in code and look "
        "at the camera.",
    ),
    "enroll_start": ("开始录入", "Start enrolling"),
    "enrolled": ("人脸已录入", "Face enrolled"),
    "other_ways": ("其他开门方式", "Other ways in"),
    "use_pin": ("住户编号 + 密码", "Resident number + PIN"),
    "pin_secret": ("密码", "PIN"),
    "use_otp": ("一次性验证码", "One-time code"),
    "use_card": ("门禁卡号", "Card number"),
    "enter": ("确认", "Enter"),
    "clear": ("清除", "Clear"),
    "back_to_face": ("返回刷脸", "Back to face entry"),
    "outcome_open": ("门已打开，请通行", "Door open: come in"),
    "prompt_reenroll": (
        "请用自助登录码在本终端重新登记人脸（已换用新模型）",
        "Please enroll your face again here with a self-service code (new model)",
    ),
    "outcome_deny": ("未能开门", "Not opened"),
    "outcome_try_another": ("请换一种方式", "Please try another way"),
    "kiosk_card_submit": ("确认卡号开门", "Open with this card"),
}
