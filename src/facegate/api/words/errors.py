"""Plain-language words for every error code the API answers: key → (Chinese, English).

``err_<code>`` for each code, ``err_<code>_<reason>`` where one code covers several causes
(the error body's ``reason``), and ``field_<name>`` for a malformed request's field. The
pages never show the API's English message (``FG.errorText`` in ``fg.js``).
"""

from __future__ import annotations

STRINGS: dict[str, tuple[str, str]] = {
    "err_unknown": (
        "操作没有成功，请稍后再试或联系物业。",
        "That did not work. Try again later or ask the office.",
    ),
    "err_network": (
        "无法连接服务器，请检查网络后再试。",
        "The server cannot be reached. Check the network and try again.",
    ),
    "err_until": ("可再次尝试的时间：", "You can try again at"),
}
