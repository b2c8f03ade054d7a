"""A starting processing notice (R-01) in Chinese and English, for a new site to edit.

It declares the least a gate needs: 1:1 and 1:N matching of face templates at the gates,
with liveness, templates only (no photos kept), on the community's own server.
"""

from __future__ import annotations

import re

from facegate.store.notices import Language, NoticeContent, NoticeText
from facegate.store.records import DataCategory, ProcessingMethod, Purpose

#: One year; a consent ends with it unless renewed (R-07).
DEFAULT_RETENTION_DAYS = 365
#: How a name gives itself in two languages: "Demo community / 演示小区".
NAME_SEPARATOR = " / "
_CJK = re.compile(r"[\u3400-\u9fff]")


def name_in(name: str, language: Language) -> str:
    """The part of a two-language name ("Sunny Garden / 阳光花园") for ``language``: the
    part in Chinese characters for Chinese, the other for English; a one-language name
    as it is."""
    parts = [part.strip() for part in name.split(NAME_SEPARATOR) if part.strip()]
    chinese = language is Language.ZH
    for part in parts:
        if bool(_CJK.search(part)) == chinese:
            return part
    return name


def starter_notice(site_name: str, operator: str, contact: str) -> NoticeContent:
    """The starter notice for a site, filled with its name, operator and contact (each
    language gets its part of a two-language name, see ``name_in``)."""
    site_zh, site_en = name_in(site_name, Language.ZH), name_in(site_name, Language.EN)
    operator_zh, operator_en = name_in(operator, Language.ZH), name_in(operator, Language.EN)
    return NoticeContent(
        purposes=frozenset({Purpose.GATE_ENTRY}),
        methods=frozenset(
            {ProcessingMethod.VERIFY_1_1, ProcessingMethod.IDENTIFY_1_N, ProcessingMethod.LIVENESS}
        ),
        scope=frozenset({DataCategory.FACE_TEMPLATE, DataCategory.ACCESS_EVENTS}),
        retention_days=DEFAULT_RETENTION_DAYS,
        texts={
            Language.ZH: NoticeText(
                purpose=f"仅用于{site_zh}的大门和单元门的通行验证。",
                method="在门口摄像头前比对人脸特征（1:1 与 1:N），并进行活体检测。"
                "不推断年龄、性别、民族、情绪或健康状况。",
                scope="人脸特征模板（不保存人脸照片）和通行记录。"
                "不收集身份证号、手机号或房产信息。",
                retention=f"同意有效期 {DEFAULT_RETENTION_DAYS} 天；撤回同意、搬离或到期后删除，"
                "搬离后按小区设定的天数自动清除。",
                storage_location="小区自有服务器，加密存储，不上传互联网，不提供给第三方。",
                processor=f"{operator_zh}（本小区物业服务企业）",
                contact=contact,
                withdrawal="可随时在自助页面或物业前台撤回同意并删除人脸数据，"
                "撤回后立即停止人脸识别，仍可使用门禁卡、密码或一次性验证码通行。",
            ),
            Language.EN: NoticeText(
                purpose=f"Only to let residents through the gates and unit doors of {site_en}.",
                method="Face templates are compared at the gate camera (1:1 and 1:N), with a "
                "liveness check. No age, sex, ethnicity, emotion or health is inferred.",
                scope="Face templates (no face photos are kept) and access events. No ID-card "
                "number, phone number or property documents are collected.",
                retention=f"Consent lasts {DEFAULT_RETENTION_DAYS} days; data is deleted on "
                "withdrawal, move-out or expiry, and purged automatically after move-out.",
                storage_location="The community's own server, encrypted; never uploaded to the "
                "internet or given to third parties.",
                processor=f"{operator_en} (this community's property manager)",
                contact=contact,
                withdrawal="Withdraw consent and delete your face data at any time on the "
                "self-service page or at the front desk. Face recognition stops at once; the "
                "card, PIN or one-time code still opens every door.",
            ),
        },
    )
