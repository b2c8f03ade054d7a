"""Plain-language words for every error code the API answers: key → (Chinese, English).

``err_<code>`` for each code, ``err_<code>_<reason>`` where one code covers several causes
(the error body's ``reason``), and ``field_<name>`` for a malformed request's field. The
pages never show the API's English message (``FG.errorText`` in ``fg.js``); a test
(``tests/api/test_error_words.py``) finds every code, reason and request field and checks
that each has words here or in another part's module.
"""

from __future__ import annotations

from facegate.privacy.secrets import (
    MAX_CARD_CHARS,
    MAX_PIN_DIGITS,
    MIN_CARD_CHARS,
    MIN_PIN_DIGITS,
    OTP_DIGITS,
)
from facegate.store.accounts import MIN_PASSWORD_LENGTH
from facegate.store.schema import RESIDENT_NUMBER_DIGITS

_ASK_ADMIN_ZH = "请联系物业管理员。"
_ASK_ADMIN_EN = "Ask the site administrator."
_REFRESH_ZH = "请刷新页面后再试。"
_REFRESH_EN = "Refresh the page and try again."

#: The fallbacks and the words for each error code, whatever its reason.
_CODES: dict[str, tuple[str, str]] = {
    "err_unknown": (
        "操作没有成功，请稍后再试或联系物业。",
        "That did not work. Try again later or ask the office.",
    ),
    "err_network": (
        "无法连接服务器，请检查网络后再试。",
        "The server cannot be reached. Check the network and try again.",
    ),
    "err_until": ("可再次尝试的时间：", "You can try again at"),
    # facegate.errors
    "err_facegate_error": (
        "操作没有成功，请稍后再试或联系物业。",
        "That did not work. Try again later or ask the office.",
    ),
    "err_image_invalid": (
        "这张照片无法使用，请换一张清晰的照片。",
        "This picture cannot be used: try another, clear photo.",
    ),
    "err_image_corrupt": (
        "照片文件已损坏，请重新拍摄或上传。",
        "The picture file is damaged: take or upload it again.",
    ),
    "err_image_too_large": (
        "照片太大，请换一张较小的照片。",
        "The picture is too large: use a smaller one.",
    ),
    "err_image_unsupported": (
        "不支持这种图片格式，请使用常见的 JPEG 或 PNG 照片。",
        "That picture format is not supported: use an ordinary JPEG or PNG photo.",
    ),
    "err_face_error": (
        "照片中没有可用的人脸，请重拍。",
        "There is no usable face in the picture: take it again.",
    ),
    "err_no_face": (
        "没有找到人脸：请正对镜头，露出整张脸。",
        "No face found: face the camera with your whole face visible.",
    ),
    "err_multiple_faces": (
        "照片中有不止一张大小相近的人脸：每张照片只能有一个人，请重拍。",
        "More than one face of a similar size in the picture: one person per photo, please "
        "take it again.",
    ),
    "err_poor_quality": (
        "照片不够清晰（太暗、太模糊或人脸太小），请重拍。",
        "The picture is not clear enough (too dark, blurred or the face too small): take it again.",
    ),
    "err_liveness_failed": (
        "活体检测未通过：请本人正对摄像头，不要使用照片或屏幕。也可以改用门禁卡、密码或验证码。",
        "The live-person check failed: stand in front of the camera yourself, not a photo or "
        "screen. A card, PIN or code works too.",
    ),
    "err_model_error": (
        "人脸识别暂时不可用，请改用门禁卡、密码或验证码，并告知物业。",
        "Face recognition is not available right now: use a card, PIN or code, and tell the "
        "office.",
    ),
    "err_model_integrity": (
        "人脸识别模型文件校验失败，已停止使用。" + _ASK_ADMIN_ZH,
        "The face recognition model file failed its check and is not used. " + _ASK_ADMIN_EN,
    ),
    "err_model_unknown": (
        "系统设置了一个未知的人脸识别模型。" + _ASK_ADMIN_ZH,
        "The system names an unknown face recognition model. " + _ASK_ADMIN_EN,
    ),
    "err_store_error": (
        "数据保存出错，请稍后再试或联系物业。",
        "The data could not be saved. Try again later or ask the office.",
    ),
    "err_not_found": (
        "找不到要操作的记录，可能已被删除。" + _REFRESH_ZH,
        "That record was not found; it may have been deleted. " + _REFRESH_EN,
    ),
    "err_already_exists": ("该记录已经存在。", "That already exists."),
    "err_consent_required": (
        "还没有有效的人脸识别同意：请先在居民自助页面或物业前台登记同意。",
        "There is no valid consent to face recognition yet: give it first on the "
        "self-service page or at the front desk.",
    ),
    "err_consent_renewal_required": (
        "告知书已更新（扩大了处理目的、方式或范围），需要重新同意后才能使用人脸识别。",
        "The notice has changed (a wider purpose, method or scope): consent again before "
        "face recognition is used.",
    ),
    "err_guardian_required": (
        "未满 14 周岁的儿童，人脸识别需要由登记的监护人同意。",
        "For a child under 14, face recognition needs the consent of their recorded guardian.",
    ),
    "err_assessment_required": (
        "本小区尚未登记个人信息保护影响评估，暂时不能录入人脸。" + _ASK_ADMIN_ZH,
        "This community has no personal-information impact assessment on record yet, so no "
        "face can be enrolled. " + _ASK_ADMIN_EN,
    ),
    "err_policy_refused": (
        "这项操作不符合本小区的个人信息保护规则，已被拒绝。",
        "This is not allowed by the community's privacy rules.",
    ),
    "err_invalid_record": (
        "填写的内容格式不正确，请检查后再试。",
        "Something entered is not in the right form: check it and try again.",
    ),
    "err_key_error": (
        "加密密钥不可用，无法继续。" + _ASK_ADMIN_ZH,
        "The encryption key is not available, so this cannot go on. " + _ASK_ADMIN_EN,
    ),
    "err_integrity_violation": (
        "数据完整性校验失败，操作已停止。" + _ASK_ADMIN_ZH,
        "A data integrity check failed and the action was stopped. " + _ASK_ADMIN_EN,
    ),
    "err_filesystem_error": (
        "服务器无法读写所需的文件。" + _ASK_ADMIN_ZH,
        "The server cannot read or write a file it needs. " + _ASK_ADMIN_EN,
    ),
    "err_missing_dependency": (
        "服务器缺少这项功能所需的组件。" + _ASK_ADMIN_ZH,
        "The server lacks a component this needs. " + _ASK_ADMIN_EN,
    ),
    "err_config_error": (
        "服务器的设置有误，暂时无法使用。" + _ASK_ADMIN_ZH,
        "The server's settings are wrong, so this is not available. " + _ASK_ADMIN_EN,
    ),
    "err_dataset_error": (
        "数据文件缺失或格式不正确。",
        "A data file is missing or malformed.",
    ),
    "err_access_error": ("没有权限进行此操作。", "This is not allowed for you."),
    "err_unauthenticated": (
        "请先登录（可能登录已过期）。",
        "Please sign in (your session may have ended).",
    ),
    "err_forbidden": ("您的账号没有权限进行此操作。", "Your account may not do this."),
    "err_rate_limited": (
        "尝试次数过多，请稍候再试。",
        "Too many tries: wait a moment and try again.",
    ),
    "err_pipeline_busy": (
        "系统正忙，请几秒钟后再试。",
        "The system is busy: try again in a few seconds.",
    ),
    # A challenge answer refused (liveness.challenge.ChallengeErrorCode): ask for a new one.
    "err_unknown_nonce": (
        "动作检测已失效（已用过或已过期），请重新开始，或改用其他方式开门。",
        "The movement check is no longer valid (used or expired): start again, or use "
        "another way in.",
    ),
    "err_expired_nonce": (
        "动作检测超时了，请重新开始，或改用其他方式开门。",
        "The movement check timed out: start again, or use another way in.",
    ),
    "err_nonce_mismatch": (
        "动作检测不是在这台终端开始的，请在本终端重新开始。",
        "The movement check was started on another kiosk: start again here.",
    ),
    # The web layer's own codes (ApiError, middleware, the HTTP fallbacks in api/errors.py)
    "err_invalid_request": (
        "提交的内容不完整或格式不正确，请检查后再试。",
        "What was sent is incomplete or malformed: check it and try again.",
    ),
    "err_request_too_large": (
        "上传的内容太大，请换一张较小的照片。",
        "What was sent is too large: use a smaller photo.",
    ),
    "err_cross_origin_refused": (
        "请求来自其他网站，已被拒绝。请直接在本系统的页面上操作。",
        "The request came from another website and was refused: use this system's own pages.",
    ),
    "err_internal_error": (
        "服务器出现意外错误，已记录。请稍后再试。",
        "An unexpected error on the server; it was logged. Try again later.",
    ),
    "err_bad_request": (
        "请求格式不正确。" + _REFRESH_ZH,
        "The request is malformed. " + _REFRESH_EN,
    ),
    "err_unauthorized": ("请先登录。", "Please sign in."),
    "err_method_not_allowed": (
        "不支持这种操作方式。" + _REFRESH_ZH,
        "That kind of request is not supported here. " + _REFRESH_EN,
    ),
    "err_not_acceptable": (
        "无法提供所要求的格式。" + _REFRESH_ZH,
        "That format cannot be provided. " + _REFRESH_EN,
    ),
    "err_request_timeout": ("请求超时，请再试一次。", "The request took too long: try again."),
    "err_conflict": (
        "数据已被其他操作修改。" + _REFRESH_ZH,
        "The data was changed by something else. " + _REFRESH_EN,
    ),
    "err_unsupported_media_type": (
        "提交的内容格式不受支持。" + _REFRESH_ZH,
        "What was sent is in a form not supported here. " + _REFRESH_EN,
    ),
    "err_unprocessable_entity": (
        "提交的内容不完整或格式不正确，请检查后再试。",
        "What was sent is incomplete or malformed: check it and try again.",
    ),
    "err_unprocessable_content": (
        "提交的内容不完整或格式不正确，请检查后再试。",
        "What was sent is incomplete or malformed: check it and try again.",
    ),
    "err_too_many_requests": (
        "请求过于频繁，请稍候再试。",
        "Too many requests: wait a moment and try again.",
    ),
    "err_service_unavailable": (
        "服务暂时不可用，请稍后再试。",
        "The service is not available right now: try again later.",
    ),
}

#: One code, several causes: ``err_<code>_<reason>`` (the raise site's ``reason=``).
_REASONS: dict[str, tuple[str, str]] = {
    # unauthenticated
    "err_unauthenticated_sign_in_failed": (
        "用户名或密码不正确，或账号已被暂时锁定。",
        "Wrong username or password, or the account is locked for now.",
    ),
    "err_unauthenticated_locked": (
        "登录失败次数过多，账号已暂时锁定。",
        "Too many failed sign-ins: the account is locked for now.",
    ),
    "err_unauthenticated_signin_code_invalid": (
        "登录码无效：可能输错了、已经用过或已过期。请核对后再试，或到物业前台领取新的登录码。",
        "That sign-in code does not work: it may be mistyped, used or expired. Check it, or "
        "get a new one at the front desk.",
    ),
    "err_unauthenticated_not_signed_in": ("请先登录。", "Please sign in."),
    "err_unauthenticated_session_expired": (
        "登录已过期，请重新登录。",
        "Your session has expired: please sign in again.",
    ),
    "err_unauthenticated_session_ended": (
        "登录已结束，请重新登录。",
        "Your session has ended: please sign in again.",
    ),
    "err_unauthenticated_device_key_missing": (
        "此终端未配置：请用管理后台给出的终端链接打开。",
        "This kiosk is not set up: open it with the kiosk link from the admin console.",
    ),
    "err_unauthenticated_device_key_invalid": (
        "此终端的设备密钥无效或已停用，请联系物业重新登记设备。",
        "This kiosk's device key is unknown or revoked: ask the office to register the "
        "device again.",
    ),
    "err_unauthenticated_metrics_token": (
        "读取运行指标需要正确的访问令牌。",
        "Reading the metrics needs the right scrape token.",
    ),
    # forbidden
    "err_forbidden_needs_admin": (
        "只有小区管理员可以进行此操作。",
        "Only the site administrator may do this.",
    ),
    "err_forbidden_needs_desk": (
        "只有物业前台或管理员可以进行此操作。",
        "Only the front desk or the site administrator may do this.",
    ),
    "err_forbidden_needs_reader": (
        "只有审计员或管理员可以查看。",
        "Only an auditor or the site administrator may see this.",
    ),
    "err_forbidden_needs_staff": (
        "这是物业工作人员的页面。",
        "This is for the community office's staff.",
    ),
    "err_forbidden_residents_only": (
        "这是居民本人的自助服务。",
        "This is the resident's own self-service.",
    ),
    "err_forbidden_other_site": (
        "您的账号属于另一个小区，不能操作这里的数据。",
        "Your account belongs to another community and may not act here.",
    ),
    "err_forbidden_device_wrong_gate": (
        "此终端没有登记服务这个大门。",
        "This kiosk is not registered for this gate.",
    ),
    "err_forbidden_metrics_off": (
        "运行指标未开启。",
        "Metrics are switched off.",
    ),
    # policy_refused
    "err_policy_refused_gate_needs_non_face": (
        "每个大门都必须至少支持一种不用人脸的开门方式（门禁卡、密码或一次性验证码），"
        "不能只用人脸识别。",
        "Every gate must accept at least one way in without the face (card, PIN or "
        "one-time code): face recognition alone is not allowed.",
    ),
    "err_policy_refused_gate_without_face": (
        "这个大门不使用人脸识别，不能在此录入人脸。",
        "This gate does not use face recognition: no face can be enrolled here.",
    ),
    "err_policy_refused_moved_out": (
        "该住户已登记搬离（或访客期限已结束），不能再进行此操作。",
        "This person has moved out (or their stay has ended): this is no longer possible.",
    ),
    "err_policy_refused_not_a_minor": (
        "此人已满 14 周岁，由本人同意，不需要监护人。",
        "This person is 14 or older and consents for themselves: no guardian is needed.",
    ),
    "err_policy_refused_notice_superseded": (
        "告知书已有新版本，请按最新版本重新同意。" + _REFRESH_ZH,
        "A newer notice is in force: consent to the newest one. " + _REFRESH_EN,
    ),
    "err_policy_refused_too_many_otps": (
        "此人未使用的一次性验证码已达上限，请先停用一个或等其过期。",
        "This person already holds the most unused one-time codes allowed: revoke one or "
        "let it expire first.",
    ),
    "err_policy_refused_frames_not_kept": (
        "本小区没有开启保存有争议通行的画面。",
        "This community does not keep frames of disputed entries.",
    ),
    "err_policy_refused_frames_not_declared": (
        "当前告知书没有说明会保存有争议通行的画面：请先发布说明此事的告知书。",
        "The current notice does not say that frames of disputed entries are kept: publish "
        "a notice that says so first.",
    ),
    # consent_required, guardian_required
    "err_consent_required_snapshot_without_consent": (
        "此人没有有效的人脸识别同意，画面中的人脸需要打码保存。",
        "This person has no valid consent to face recognition: their face must be blurred "
        "in the kept frame.",
    ),
    "err_guardian_required_guardian_not_named": (
        "未满 14 周岁的儿童：请先登记监护人，再由监护人同意。",
        "A child under 14: record their guardian first; the guardian gives the consent.",
    ),
    "err_guardian_required_consent_not_by_guardian": (
        "未满 14 周岁的儿童：人脸识别需要由登记的监护人重新同意。",
        "A child under 14: face recognition needs consent given by their recorded guardian.",
    ),
    # already_exists
    "err_already_exists_card_taken": (
        "这张门禁卡已经登记过了：请先停用原来的卡。",
        "This card is already registered: revoke the earlier one first.",
    ),
    "err_already_exists_notice_version_taken": (
        "这个告知书版本号已经发布过，请换一个新的版本号。",
        "That notice version is already published: choose a new version number.",
    ),
    "err_already_exists_otp_draw_failed": (
        "暂时无法生成一次性验证码，请再试一次。",
        "No one-time code could be made just now: try again.",
    ),
    "err_already_exists_site_exists": (
        "这个小区代码已经被使用。",
        "That community code is already in use.",
    ),
    "err_already_exists_username_taken": (
        "这个用户名已经被使用，请换一个。",
        "That username is already taken: choose another.",
    ),
    # invalid_request (ApiError), request_too_large
    "err_invalid_request_born_or_adult": (
        "请填写出生日期（用于判断是否未满 14 周岁），或勾选“已满 14 周岁”。",
        "Give the date of birth (to tell a child under 14), or tick “Aged 14 or over”.",
    ),
    "err_invalid_request_no_images": ("请选择至少一张照片。", "Choose at least one photo."),
    "err_invalid_request_too_many_images": (
        "一次上传的照片太多，请减少照片数量。",
        "Too many photos at once: send fewer.",
    ),
    "err_request_too_large_image_too_large": (
        "照片文件太大，请换一张较小的照片。",
        "A photo file is too large: use a smaller one.",
    ),
    # invalid_record: what was typed, and the gate's own requests
    "err_invalid_record_resident_number_format": (
        f"住户编号为 1 到 {RESIDENT_NUMBER_DIGITS} 位数字。",
        f"A resident number is 1 to {RESIDENT_NUMBER_DIGITS} digits.",
    ),
    "err_invalid_record_pin_format": (
        f"密码必须是 {MIN_PIN_DIGITS} 到 {MAX_PIN_DIGITS} 位数字，不能有其他字符。",
        f"A PIN is {MIN_PIN_DIGITS} to {MAX_PIN_DIGITS} digits, nothing else.",
    ),
    "err_invalid_record_pin_too_easy": (
        "这个密码太容易被猜到（如重复数字、连续数字或常用密码），请换一个。",
        "This PIN is too easy to guess (repeated or consecutive digits, or a common choice): "
        "choose another.",
    ),
    "err_invalid_record_pin_attempt_format": (
        f"密码只能是数字，最多 {MAX_PIN_DIGITS} 位。",
        f"A PIN is digits only, at most {MAX_PIN_DIGITS} of them.",
    ),
    "err_invalid_record_card_format": (
        f"卡号为 {MIN_CARD_CHARS} 到 {MAX_CARD_CHARS} 位字母或数字。",
        f"A card number is {MIN_CARD_CHARS} to {MAX_CARD_CHARS} letters or digits.",
    ),
    "err_invalid_record_otp_format": (
        f"一次性验证码为 {OTP_DIGITS} 位数字。",
        f"A one-time code is {OTP_DIGITS} digits.",
    ),
    "err_invalid_record_otp_ttl_range": (
        "一次性验证码的有效时长超出了允许范围。",
        "That validity period for a one-time code is outside the allowed range.",
    ),
    "err_invalid_record_pin_needs_owner": (
        "用密码开门时，请同时输入住户编号。",
        "With a PIN, type the resident number too.",
    ),
    "err_invalid_record_credential_names_owner": (
        "门禁卡和一次性验证码不需要填写住户。",
        "A card or one-time code needs no resident.",
    ),
    "err_invalid_record_unknown_credential_kind": (
        "不认识这种开门方式。",
        "That way in is not known.",
    ),
    "err_invalid_record_secret_missing": (
        "请输入卡号、密码或验证码。",
        "Type the card number, PIN or code.",
    ),
    "err_invalid_record_image_missing": (
        "没有收到摄像头画面，请正视摄像头再试。",
        "No camera picture arrived: look at the camera and try again.",
    ),
    "err_invalid_record_image_too_large": (
        "照片文件太大，请换一张较小的照片。",
        "A photo file is too large: use a smaller one.",
    ),
    "err_invalid_record_challenge_needs_frames": (
        "动作检测需要连续的画面，请按提示再做一次。",
        "The movement check needs a series of frames: follow the prompts again.",
    ),
    "err_invalid_record_too_many_frames": (
        "动作检测的画面太多，请按提示再做一次。",
        "Too many frames for the movement check: follow the prompts again.",
    ),
    "err_invalid_record_enrollment_image_count": (
        "录入人脸需要 1 到几张照片，数量不对，请重试。",
        "Enrolling needs one to a few photos; the number sent is wrong: try again.",
    ),
    "err_invalid_record_device_needs_gate": (
        "请为设备选择至少一个大门。",
        "Choose at least one gate for the device.",
    ),
    "err_invalid_record_bad_gate_code": (
        "大门代码只能包含字母、数字、点、下划线和短横线。",
        "A gate code holds only letters, digits, '.', '_' and '-'.",
    ),
    "err_invalid_record_bad_site_code": (
        "小区代码只能包含字母、数字、点、下划线和短横线。",
        "A community code holds only letters, digits, '.', '_' and '-'.",
    ),
    "err_invalid_record_unknown_liveness": (
        "不认识这种活体检测级别。",
        "That liveness level is not known.",
    ),
    "err_invalid_record_not_boolean": ("请选择“是”或“否”。", "Choose yes or no."),
    "err_invalid_record_text_empty": ("请填写必填项。", "Fill in the required field."),
    "err_invalid_record_text_too_long": (
        "填写的内容太长，请缩短。",
        "What was typed is too long: shorten it.",
    ),
    "err_invalid_record_control_characters": (
        "填写的内容含有不可见的控制字符，请重新输入。",
        "What was typed holds invisible control characters: type it again.",
    ),
    "err_invalid_record_not_text": ("请填写文字。", "Type some text."),
    "err_invalid_record_bad_id": (
        "找不到要操作的记录。" + _REFRESH_ZH,
        "That record cannot be found. " + _REFRESH_EN,
    ),
    "err_invalid_record_not_a_time": ("请填写日期和时间。", "Give a date and time."),
    "err_invalid_record_time_without_zone": (
        "时间需要包含时区。",
        "A time needs its time zone.",
    ),
    "err_invalid_record_birth_date_format": (
        "出生日期格式为 年-月-日（例如 2015-06-01）。",
        "A date of birth is year-month-day (e.g. 2015-06-01).",
    ),
    "err_invalid_record_born_in_future": (
        "出生日期不能晚于今天。",
        "A date of birth cannot be after today.",
    ),
    "err_invalid_record_born_implausible": (
        "出生日期不合理，请检查年份。",
        "That date of birth is not plausible: check the year.",
    ),
    "err_invalid_record_expiry_required": (
        "访客和临时住户必须填写到期日。",
        "Visitors and temporary residents need an end date.",
    ),
    "err_invalid_record_expiry_in_past": (
        "到期日必须晚于现在。",
        "The end date must be in the future.",
    ),
    "err_invalid_record_resident_no_expiry": (
        "住户没有到期日：搬离时登记搬离即可。",
        "A resident has no end date: record the move-out when they leave.",
    ),
    "err_invalid_record_not_a_resident": (
        "只有住户需要登记搬离；访客和临时住户到期后自动失效。",
        "Only residents move out; visitors and temporary residents expire by themselves.",
    ),
    "err_invalid_record_unknown_value": (
        "选择的选项不在允许范围内。" + _REFRESH_ZH,
        "That choice is not one of the options. " + _REFRESH_EN,
    ),
    "err_invalid_record_unknown_relation": (
        "请选择监护人与孩子的关系。",
        "Choose how the guardian is related to the child.",
    ),
    "err_invalid_record_guardian_minor": (
        "监护人必须年满 18 周岁。",
        "A guardian must be 18 or older.",
    ),
    "err_invalid_record_unknown_consent_method": (
        "请选择同意书的签署方式。",
        "Choose how the consent was signed.",
    ),
    "err_invalid_record_given_in_future": (
        "同意时间不能晚于现在。",
        "A consent cannot be given in the future.",
    ),
    "err_invalid_record_consent_ends_before_given": (
        "同意的结束时间必须晚于同意时间。",
        "A consent must end after it is given.",
    ),
    "err_invalid_record_consent_too_long": (
        "同意的有效期不能超过告知书的保存期限或访客期限。",
        "A consent cannot outlast the notice's retention period or the visit.",
    ),
    "err_invalid_record_notice_invalid": (
        "告知书内容格式不正确，请检查每个字段。",
        "The notice content is malformed: check each field.",
    ),
    "err_invalid_record_notice_incomplete": (
        "告知书必须写明处理目的、处理方式和处理范围。",
        "A notice must state its purposes, methods and scope.",
    ),
    "err_invalid_record_notice_retention_range": (
        "告知书的保存期限超出允许范围。",
        "The notice's retention period is outside the allowed range.",
    ),
    "err_invalid_record_notice_language_missing": (
        "告知书必须同时有中文和英文内容。",
        "A notice needs its text in both Chinese and English.",
    ),
    "err_invalid_record_retention_days_range": (
        "保留天数超出允许范围。",
        "That number of days is outside the allowed range.",
    ),
    "err_invalid_record_no_change": ("没有要修改的设置。", "No setting to change was given."),
    "err_invalid_record_box_without_subject": (
        "标出人脸时必须指明是哪位住户。",
        "A marked face needs the resident it belongs to.",
    ),
    "err_invalid_record_unknown_snapshot_reason": (
        "不认识这种保存画面的原因。",
        "That reason for keeping a frame is not known.",
    ),
    "err_invalid_record_unknown_incident_kind": (
        "不认识这种事件类型。",
        "That kind of incident is not known.",
    ),
    "err_invalid_record_assessed_in_future": (
        "评估日期不能晚于今天。",
        "An assessment cannot be dated in the future.",
    ),
    "err_invalid_record_document_hash_format": (
        "评估文件的 SHA-256 校验值应为 64 位小写十六进制字符。",
        "The assessment document's SHA-256 is 64 lowercase hex characters.",
    ),
    "err_invalid_record_bad_template": (
        "人脸数据格式不正确，请重新录入。",
        "The face data is malformed: enroll again.",
    ),
    "err_invalid_record_not_a_decision": (
        "这不是一条通行记录。",
        "That is not a gate decision.",
    ),
    "err_invalid_record_outcome_in_detail": (
        "通行记录的格式不正确。",
        "The gate decision record is malformed.",
    ),
    # Raised by the command line and the store's own checks; worded for completeness.
    "err_invalid_record_notice_file_too_large": (
        "告知书文件太大。",
        "The notice file is too large.",
    ),
    "err_already_exists_file_exists": (
        "该文件已存在，请换一个新文件名。",
        "That file exists: choose a new file name.",
    ),
    "err_invalid_record_bad_box": (
        "标出的人脸区域不在画面内或大小不正确。",
        "The marked face area is outside the frame or has no size.",
    ),
    "err_invalid_record_bad_results_file": (
        "规则测试结果文件格式不正确。",
        "The rule results file is malformed.",
    ),
    "err_invalid_record_audit_detail": (
        "审计记录的附加信息不符合要求（不能含姓名、人脸数据或分数，且不能过长）。",
        "The audit record's detail is not allowed (no names, face data or scores, and not "
        "too long).",
    ),
    "err_invalid_record_no_backup_file": (
        "找不到备份文件。",
        "The backup file was not found.",
    ),
    "err_invalid_record_not_a_backup": (
        "这个文件不是可用的 facegate 备份。",
        "That file is not a usable facegate backup.",
    ),
    "err_invalid_record_unknown_role": (
        "请选择一种工作人员角色。",
        "Choose a staff role.",
    ),
    "err_invalid_record_password_format": ("请填写密码。", "Type a password."),
    "err_invalid_record_password_length": (
        f"密码长度不符合要求（请至少 {MIN_PASSWORD_LENGTH} 个字符）。",
        f"That password's length is not allowed (use at least {MIN_PASSWORD_LENGTH} characters).",
    ),
    "err_invalid_record_password_repetitive": (
        "这个密码重复的字符太多，请换一个。",
        "This password repeats itself too much: choose another.",
    ),
}

#: ``field_<name>``: what a malformed request field should hold (from the In-schemas' rules).
_FIELDS: dict[str, tuple[str, str]] = {
    "field_username": (
        "请填写用户名（最多 100 个字符）。",
        "Type the username (at most 100 characters).",
    ),
    "field_password": (
        "请填写密码（最多 256 个字符）。",
        "Type the password (at most 256 characters).",
    ),
    "field_site": (
        "请填写小区代码（最多 64 个字符，登录单上有）。",
        "Type the community code (at most 64 characters; it is on the sign-in slip).",
    ),
    "field_code": (
        "请填写登录码或验证码（最多 32 个字符）。",
        "Type the sign-in or one-time code (at most 32 characters).",
    ),
    "field_evidence": (
        "请填写同意书凭据（如扫描件编号，最多 200 个字符）。",
        "Give the evidence reference (e.g. the scan number, at most 200 characters).",
    ),
    "field_method": ("请选择签署方式。", "Choose how it was signed."),
    "field_guardian_id": ("请选择监护人。", "Choose the guardian."),
    "field_accept": ("请先勾选同意框。", "Tick the box first."),
    "field_notice_version": (
        "告知书版本不正确。" + _REFRESH_ZH,
        "The notice version is not right. " + _REFRESH_EN,
    ),
    "field_name": ("请填写名称（1 到 200 个字符）。", "Type a name (1 to 200 characters)."),
    "field_relation": ("请选择与孩子的关系。", "Choose the relation to the child."),
    "field_born": (
        "出生日期格式为 年-月-日（例如 2015-06-01）。",
        "A date of birth is year-month-day (e.g. 2015-06-01).",
    ),
    "field_card_number": (
        "请填写卡号（最多 64 个字符）。",
        "Type the card number (at most 64 characters).",
    ),
    "field_pin": (
        f"密码为 {MIN_PIN_DIGITS} 到 {MAX_PIN_DIGITS} 位数字。",
        f"A PIN is {MIN_PIN_DIGITS} to {MAX_PIN_DIGITS} digits.",
    ),
    "field_accepts_face": ("请选择是否使用人脸识别。", "Choose whether faces are accepted."),
    "field_accepts_card": ("请选择是否使用门禁卡。", "Choose whether cards are accepted."),
    "field_accepts_pin": ("请选择是否使用密码。", "Choose whether PINs are accepted."),
    "field_accepts_otp": (
        "请选择是否使用一次性验证码。",
        "Choose whether one-time codes are accepted.",
    ),
    "field_liveness": ("请选择活体检测级别。", "Choose the liveness level."),
    "field_gates": (
        "请选择至少一个大门，且不要超过表单允许的数量。",
        "Choose at least one gate, and no more than the form allows.",
    ),
    "field_version": (
        "请填写新版本号（1 到 64 个字符）。",
        "Type the new version (1 to 64 characters).",
    ),
    "field_content": (
        "告知书内容必须是一个 JSON 对象。",
        "The notice content must be a JSON object.",
    ),
    "field_adult": ("请选择是否已满 14 周岁。", "Choose whether the person is 14 or over."),
    "field_expires": (
        "到期日格式为 年-月-日 时:分（访客和临时住户必填）。",
        "An end date is year-month-day and time (needed for visitors and temporary residents).",
    ),
    "field_kind": ("请选择类型。", "Choose the kind."),
    "field_assessed_at": ("请填写评估日期。", "Give the assessment date."),
    "field_assessor": ("请填写评估人。", "Give who made the assessment."),
    "field_document_sha256": (
        "评估文件的 SHA-256 校验值应为 64 位小写十六进制字符。",
        "The assessment document's SHA-256 is 64 lowercase hex characters.",
    ),
    "field_summary": ("请填写评估摘要。", "Give the assessment's summary."),
    "field_resident_retention_days": (
        "住户数据保留天数必须是允许范围内的整数。",
        "Resident data retention is a whole number of days within the allowed range.",
    ),
    "field_snapshot_retention_days": (
        "画面保留天数必须是允许范围内的整数。",
        "Frame retention is a whole number of days within the allowed range.",
    ),
    "field_keep_disputed_frames": (
        "请选择是否保存有争议通行的画面。",
        "Choose whether frames of disputed entries are kept.",
    ),
    # The gate device's form fields (POST /decisions, /enrollments)
    "field_resident_number": (
        f"住户编号为 1 到 {RESIDENT_NUMBER_DIGITS} 位数字。",
        f"A resident number is 1 to {RESIDENT_NUMBER_DIGITS} digits.",
    ),
    "field_subject_id": (
        "住户信息不正确。" + _REFRESH_ZH,
        "The resident is not right. " + _REFRESH_EN,
    ),
    "field_secret": ("请输入卡号、密码或验证码。", "Type the card number, PIN or code."),
    "field_gate": ("此终端没有配置大门。", "This kiosk has no gate set."),
    "field_image": ("没有收到照片。", "No photo arrived."),
    "field_images": ("请选择至少一张照片。", "Choose at least one photo."),
    "field_frames": ("没有收到动作检测的画面。", "No frames for the movement check arrived."),
    "field_challenge": (
        "动作检测已失效，请重新开始。",
        "The movement check is no longer valid: start again.",
    ),
}

STRINGS: dict[str, tuple[str, str]] = {**_CODES, **_REASONS, **_FIELDS}
