"""Words for property companies' operator accounts: key → (Chinese, English).

An operator account (物业公司账号) runs many sites; it is not the front desk (前台), the
staff role that the code calls ``operator``. Its errors (``api.deps``) and the fields of
its overview (``api.schemas.operator_accounts``).
"""

from __future__ import annotations

STRINGS: dict[str, tuple[str, str]] = {
    "err_forbidden_needs_site_session": (
        "物业公司账号不能直接操作小区：请先为该小区打开管理员会话。",
        "A property company's account does not act on a site directly: open an "
        "administrator's session for that site first.",
    ),
    "err_forbidden_needs_operator_account": (
        "这里需要物业公司账号登录。",
        "This needs a property company's account.",
    ),
    "operator_account": ("物业公司账号", "Property company account"),
    "operator_signin_title": ("物业公司登录", "Property company sign-in"),
    "organisation": ("物业公司", "Property company"),
    "operator_sites": ("管理的小区", "Communities run"),
    "operator_site_people": ("已录入人脸的人数", "People with face data"),
    "operator_total_people": (
        "全部小区已录入人脸的人数（备案计数）",
        "People with face data across all communities (the filing count)",
    ),
    "operator_filing_threshold": ("备案门槛", "Filing threshold"),
    "operator_filing_due": (
        "已达到10万人：须在30个工作日内向省级网信部门备案。",
        "100,000 people reached: filing with the provincial CAC is due within 30 working days.",
    ),
    "operator_open_site": ("以管理员身份进入", "Open as administrator"),
}
