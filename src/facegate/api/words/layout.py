"""Words for the pages' shared layout: key → (Chinese, English)."""

from __future__ import annotations

STRINGS: dict[str, tuple[str, str]] = {
    # Shown above a table that is wider than the screen (a phone): it scrolls sideways.
    "layout_scroll_hint": ("← 左右滑动查看更多 →", "← Swipe sideways to see more →"),
    # The landing page: whom each page is for.
    "layout_home_admin_for": (
        "物业和前台：登记住户、发放凭证、查看通行记录",
        "Property office and front desk: residents, credentials, the access log",
    ),
    "layout_home_me_for": (
        "住户：用物业发放的登录码查看和管理自己的信息",
        "Residents: see and manage your own data with the code from the front desk",
    ),
    "layout_home_kiosk_for": (
        "门口设备：用管理后台给出的终端链接打开",
        "Gate device: open it with the kiosk link from the console",
    ),
}
