"""Words for the accounts part of the pages: key → (Chinese, English).

Staff accounts and roles on the console, signing in and getting back in, and the errors
of idempotency keys (``api.idempotency``) and of staff changes (``store.staff``).
"""

from __future__ import annotations

from facegate.store.accounts import MIN_PASSWORD_LENGTH

STRINGS: dict[str, tuple[str, str]] = {
    # Signing in
    "staff_signin_title": ("工作人员登录", "Staff sign-in"),
    "staff_signin_hint": (
        "管理员、前台和审计员都在这里登录。忘记密码请联系管理员重置。",
        "Administrators, front desk and auditors sign in here. Forgot the password? Ask an "
        "administrator to reset it.",
    ),
    "signed_in_as": ("当前身份", "Signed in as"),
    # Roles
    "role": ("角色", "Role"),
    "role_admin": ("管理员", "Administrator"),
    "role_operator": ("前台", "Front desk"),
    "role_auditor": ("审计员", "Auditor"),
    "role_resident": ("居民", "Resident"),
    "role_admin_hint": (
        "管理员：全部功能，包括删除、设置和员工账号。",
        "Administrator: everything, including deletion, settings and staff accounts.",
    ),
    "role_operator_hint": (
        "前台：登记住户、记录同意、发放门禁卡/密码/验证码、录入人脸；不能删除，不能改设置。",
        "Front desk: register residents, record consent, issue cards, PINs and codes, enroll "
        "faces; no deletion, no settings.",
    ),
    "role_auditor_hint": (
        "审计员：只读，查看通行记录、审计日志和合规报告。",
        "Auditor: read-only; sees the access log, audit check and compliance report.",
    ),
    # The staff section
    "staff_title": ("员工账号", "Staff accounts"),
    "staff_add": ("添加员工", "Add a staff member"),
    "staff_password_optional": (
        "初始密码（可不填：不填则自动生成，只显示一次；"
        f"自己设置需至少 {MIN_PASSWORD_LENGTH} 个字符）",
        f"Initial password (optional: left empty, one is generated and shown once; your own "
        f"needs at least {MIN_PASSWORD_LENGTH} characters)",
    ),
    "staff_created": ("已添加员工", "Staff member added"),
    "staff_password_for": ("新密码 · 账号", "New password · account"),
    "staff_state": ("账号状态", "Account"),
    "staff_active": ("正常", "Active"),
    "staff_disabled": ("已停用", "Disabled"),
    "staff_locked_until": ("锁定至", "Locked until"),
    "staff_disable": ("停用", "Disable"),
    "staff_enable": ("启用", "Enable"),
    "staff_change_role": ("改为", "Make"),
    "staff_reset_password": ("重置密码", "Reset password"),
    "staff_confirm_disable": (
        "停用这个账号？其登录会立即结束。",
        "Disable this account? Its sessions end at once.",
    ),
    "staff_confirm_reset": (
        "为这个账号生成新密码？旧密码和已登录的会话立即失效。",
        "Make a new password for this account? The old one and its sessions stop working at once.",
    ),
    "staff_changed": ("已保存", "Saved"),
    # Fields of the staff requests (a malformed one is named in these words)
    "field_role": ("角色", "Role"),
    "field_disabled": ("是否停用", "Disabled"),
    # Errors this part raises
    "err_duplicate_request": (
        "这个操作已经提交过了，没有重复执行。如果需要新的验证码或密码，请重新操作一次。",
        "This was already done once and was not repeated. If you need a new code or "
        "password, do it again.",
    ),
    "err_idempotency_key_reused": (
        "这次提交与之前的不一致，请刷新页面后再试。",
        "This request differs from the one sent before: refresh the page and try again.",
    ),
    "err_idempotency_key_invalid": (
        "请求标识无效，请刷新页面后再试。",
        "The request's key is not valid: refresh the page and try again.",
    ),
    "err_policy_refused_last_admin": (
        "小区至少要保留一个正常使用的管理员账号：请先添加或启用另一位管理员。",
        "A community keeps at least one active administrator: add or enable another "
        "administrator first.",
    ),
}
