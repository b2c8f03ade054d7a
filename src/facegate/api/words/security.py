"""Words for the AI-security defences: key → (Chinese, English).

A device held for probing the matcher (``probe_suspected``) and faces refused after a model
file changed (``face_unavailable``): the kiosk's words (what to do next) and the log's (what
happened). Neither says more than that: no score, no count, no threshold.
"""

from __future__ import annotations

STRINGS: dict[str, tuple[str, str]] = {
    "reason_probe_suspected": (
        "人脸识别暂不可用，请使用门禁卡、密码或一次性验证码",
        "Face recognition is paused here: please use a card, PIN or one-time code",
    ),
    "reason_face_unavailable": (
        "人脸识别暂不可用，请使用门禁卡、密码或一次性验证码",
        "Face recognition is unavailable: please use a card, PIN or one-time code",
    ),
    "log_reason_probe_suspected": (
        "疑似攻击探测：此设备的人脸识别已暂停",
        "Suspected probing: faces paused at this device",
    ),
    "log_reason_face_unavailable": (
        "模型文件校验失败：人脸识别已停用，需重启服务",
        "A model file failed its check: faces refused until a restart",
    ),
}
