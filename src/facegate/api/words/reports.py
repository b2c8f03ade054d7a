"""Words for the reports part of the pages: key → (Chinese, English).

The compliance report (``api.compliance_page``) reads the ``cr_`` keys: rule titles (the
English one is the catalogue's title, a test checks it), the statuses, the release results'
state and each live check's message, ``cr_live_<key>`` for ``privacy.live``'s message keys,
with ``{name}`` placeholders for the values the check found (both languages name the same
ones, a test checks that too).
"""

from __future__ import annotations

_RULE_TITLES: dict[str, tuple[str, str]] = {
    "cr_rule_r01": ("处理规则在收集前公开", "Processing rules published before collection"),
    "cr_rule_r02": ("单独、明示的同意", "Separate, explicit consent"),
    "cr_rule_r03": ("书面同意有记录", "Written consent recorded"),
    "cr_rule_r04": ("未满 14 周岁须监护人同意", "Guardian consent for under-14s"),
    "cr_rule_r05": ("可随时撤回同意", "Withdrawal at any time"),
    "cr_rule_r06": ("告知范围扩大后须重新同意", "New consent after a widening notice"),
    "cr_rule_r07": ("授权不得无期限或不可撤销", "No indefinite or irrevocable grant"),
    "cr_rule_r08": ("同意不是通行的条件", "Consent is not a condition of entry"),
    "cr_rule_r10": ("每个大门都有不用人脸的方式", "Every door has a non-face way in"),
    "cr_rule_r11": ("不用人脸的方式不被刻意变差", "The non-face way is not made worse"),
    "cr_rule_r12": ("录入人脸不索要无关个人信息", "No unrelated personal data for enrollment"),
    "cr_rule_r20": ("人脸模板加密存储，密钥分开保存", "Templates encrypted, keys apart"),
    "cr_rule_r21": ("不保留原始人脸图像", "No raw face images kept"),
    "cr_rule_r22": ("人脸数据留在本小区系统内", "Face data stays local"),
    "cr_rule_r23": ("删除覆盖所有副本", "Deletion reaches every copy"),
    "cr_rule_r24": ("保存期限最短且自动清理", "Minimal, automatic retention"),
    "cr_rule_r25": ("留存画面中的旁人已打码", "Bystanders blurred in kept frames"),
    "cr_rule_r26": ("不推断年龄、性别等其他属性", "No inference of other attributes"),
    "cr_rule_r27": ("防篡改的审计日志", "Tamper-evident audit log"),
    "cr_rule_r28": ("发现并报告泄露、篡改和丢失", "Leak, tamper and loss detected"),
    "cr_rule_r30": ("录入前须有个人信息保护影响评估", "Impact assessment before enrollment"),
    "cr_rule_r31": ("人数达到 10 万时提示备案", "Filing warning at 100,000 people"),
    "cr_rule_r32": ("本人可查看和导出自己的信息", "Access and export for the person"),
    "cr_rule_r33": ("合规报告", "Compliance report"),
}

_REPORT: dict[str, tuple[str, str]] = {
    "cr_title": ("合规报告", "Compliance report"),
    "cr_intro": (
        "下表列出人脸识别门禁须遵守的每条规则：随本版本发布的自动测试结果，以及对本小区当前配置的实时检查。",
        "Every rule a face-recognition gate must follow: the automated test results shipped "
        "with this release, and live checks of this community's current configuration.",
    ),
    "cr_site": ("小区", "Community"),
    "cr_generated": ("生成时间", "Generated"),
    "cr_version": ("facegate 版本", "facegate version"),
    "cr_revision": ("源代码版本", "Source revision"),
    "cr_unknown": ("未知", "unknown"),
    "cr_tested": ("发布前测试", "Release tests"),
    "cr_tested_run": (
        "{finished} 完成，{tests} 项规则测试",
        "finished {finished}, {tests} rule tests",
    ),
    "cr_summary": (
        "共 {total} 条规则：{proven} 条已由测试证明，{failing} 条测试未通过，{untested} 条未测试",
        "{total} rules: {proven} proven by tests, {failing} failing, {untested} untested",
    ),
    "cr_release": ("随版本发布的测试结果", "Shipped test results"),
    "cr_release_verified": (
        "已校验：内容与发布时一致（sha256 {sha256}）",
        "release results verified: unchanged since release (sha256 {sha256})",
    ),
    "cr_release_altered": (
        "测试结果文件已被改动（sha256 校验不符），不予采用：请重新安装 facegate",
        "results file altered (its sha256 does not match): not used; reinstall facegate",
    ),
    "cr_release_stale": (
        "测试结果与本版本的规则不一致（{problem}），请重新生成",
        "the results do not match this release's rules ({problem}): regenerate them",
    ),
    "cr_release_missing": (
        "本次安装没有随版本发布的测试结果：请重新安装 facegate",
        "this installation has no shipped test results: reinstall facegate",
    ),
    "err_invalid_record_release_format": (
        "测试结果文件的格式不是本版本的格式，不予采用：请重新安装 facegate",
        "the results file is not in this release's format: not used; reinstall facegate",
    ),
    "cr_rules_heading": ("规则与测试", "Rules and tests"),
    "cr_live_heading": ("本小区实时检查", "Live checks of this community"),
    "cr_col_rule": ("编号", "Rule"),
    "cr_col_title": ("规则", "Title"),
    "cr_col_status": ("测试结论", "Tests"),
    "cr_col_tests": ("测试", "Test results"),
    "cr_col_live": ("实时检查", "Live check"),
    "cr_col_check": ("检查项", "Check"),
    "cr_col_state": ("状态", "Status"),
    "cr_col_rules": ("相关规则", "Rules"),
    "cr_col_finding": ("结果", "Finding"),
    "cr_tests_count": ("{passed}/{total} 项通过", "{passed} of {total} passed"),
    "cr_no_tests": ("无测试", "no tests"),
    "cr_no_live": ("无相关配置", "no live setting"),
    "cr_scroll_hint": ("表格较宽，可左右滑动查看", "Wide table: scroll sideways"),
    "cr_status_proven": ("已证明", "PROVEN"),
    "cr_status_failing": ("未通过", "FAILING"),
    "cr_status_untested": ("未测试", "UNTESTED"),
    "cr_live_status_ok": ("正常", "OK"),
    "cr_live_status_attention": ("需处理", "ATTENTION"),
    "cr_live_status_not_configured": ("未配置", "NOT CONFIGURED"),
    "cr_live_status_not_applicable": ("不适用", "NOT APPLICABLE"),
    "cr_back": ("返回管理后台", "Back to the console"),
    "cr_formats": ("其他格式", "Other formats"),
}

#: One per live check (``privacy.live`` names).
_CHECK_NAMES: dict[str, tuple[str, str]] = {
    "cr_check_notice": ("告知书", "Notice"),
    "cr_check_impact_assessment": ("影响评估", "Impact assessment"),
    "cr_check_gates": ("大门的开门方式", "Gates' ways in"),
    "cr_check_raw_frames": ("原始画面", "Raw frames"),
    "cr_check_bystander_redaction": ("旁人打码", "Bystander blurring"),
    "cr_check_snapshot_retention": ("留存画面的期限", "Kept frames' retention"),
    "cr_check_subject_retention": ("住户与访客数据的期限", "Residents' and visitors' retention"),
    "cr_check_consent_renewal": ("重新同意", "Consent renewal"),
    "cr_check_filing_threshold": ("备案人数门槛", "Filing threshold"),
    "cr_check_open_incidents": ("安全事件", "Incidents"),
    "cr_check_retention_run": ("到期清理", "Retention job"),
    "cr_check_audit_chain": ("审计日志完整性", "Audit log integrity"),
    "cr_check_key_separation": ("加密密钥分开保存", "Encryption keys kept apart"),
}

#: ``privacy.live`` message keys, with the values each check names.
_LIVE: dict[str, tuple[str, str]] = {
    "cr_live_notice_missing": (
        "尚未发布人脸信息处理告知书：无法登记同意，也无法录入任何人",
        "no processing notice is published: no consent can be recorded and nobody can be enrolled",
    ),
    "cr_live_notice_ok": (
        "告知书 {version} 已于 {published} 发布（共 {versions} 个版本）",
        "notice {version} published {published} ({versions} version(s) on record)",
    ),
    "cr_live_assessment_missing": (
        "没有影响评估记录：在登记评估之前不能录入人脸",
        "no impact assessment is on record: enrollment is refused until one is recorded",
    ),
    "cr_live_assessment_short": (
        "{assessed} 的影响评估只保存到 {retain_until}，不足三年",
        "the assessment of {assessed} is kept only until {retain_until}, less than three years",
    ),
    "cr_live_assessment_ok": (
        "已有 {assessed} 的影响评估，保存至 {retain_until}",
        "assessment of {assessed} on record, kept until {retain_until}",
    ),
    "cr_live_gates_none": ("本小区还没有配置大门", "no gate is configured at this site"),
    "cr_live_gates_face_only": (
        "{total} 个大门中有 {face_only} 个只能刷脸：{codes}",
        "{face_only} of {total} gates accept only the face: {codes}",
    ),
    "cr_live_gates_ok": (
        "全部 {total} 个大门都可用门禁卡、密码或一次性验证码开门（其中 {with_face} 个也可刷脸）",
        "all {total} gates accept a card, PIN or one-time code ({with_face} also the face)",
    ),
    "cr_live_frames_off": (
        "未开启留存争议画面：生成模板后不保留任何画面",
        "keeping disputed frames is off: no frame is kept after the template is made",
    ),
    "cr_live_frames_notice_unreadable": (
        "已开启留存争议画面，但无法读取告知书",
        "keeping disputed frames is on but the notice cannot be read",
    ),
    "cr_live_frames_undeclared": (
        "已开启留存争议画面，但当前告知书没有说明",
        "keeping disputed frames is on but the current notice does not declare it",
    ),
    "cr_live_frames_declared": (
        "按当前告知书的说明留存争议通行的画面",
        "frames of disputed entries are kept, as the current notice declares",
    ),
    "cr_live_bystanders_none": (
        "不留存画面（未开启留存争议画面），无需给旁人打码",
        "no frame is kept (keeping disputed frames is off), so no bystander needs blurring",
    ),
    "cr_live_bystanders_ok": (
        "留存画面 {kept} 张，写入前已打码（共 {redacted} 张旁人人脸）",
        "{kept} kept frame(s), blurred before writing ({redacted} bystander face(s) redacted)",
    ),
    "cr_live_snapshots_overdue": (
        "{overdue} 张留存画面已过期：请执行到期清理",
        "{overdue} kept frame(s) are past their expiry: run the retention job",
    ),
    "cr_live_snapshots_unset": (
        "留存画面的保存天数为 {days}：请设为正数",
        "the kept frames' retention is {days} days: set a positive number",
    ),
    "cr_live_snapshots_ok": (
        "留存画面 {days} 天后删除；没有逾期的",
        "kept frames expire after {days} days; none is overdue",
    ),
    "cr_live_subjects_unset": (
        "未设置住户搬离后的保存天数：搬离住户的数据永远不会被清除",
        "the residents' retention is not set: moved-out residents would never be purged",
    ),
    "cr_live_subjects_overdue": (
        "{residents} 位搬离住户和 {expiring} 位访客或临时住户已超过保存期限：请执行到期清理",
        "{residents} moved-out resident(s) and {expiring} visitor(s) or temporary "
        "resident(s) are past their retention: run the retention job",
    ),
    "cr_live_subjects_ok": (
        "住户搬离 {days} 天后清除数据；访客和临时住户到期自动失效；没有逾期的",
        "residents are purged {days} days after move-out; visitors and temporary residents "
        "expire by themselves; none is overdue",
    ),
    "cr_live_renewal_waiting": (
        "{waiting} 人须对扩大范围的新告知书重新同意，在此之前暂停处理其人脸",
        "{waiting} person(s) must consent to the widened notice before their face is "
        "processed again (their face processing is stopped)",
    ),
    "cr_live_renewal_none": ("没有等待重新同意的人", "no consent is waiting for renewal"),
    "cr_live_filing_alert": (
        "{raised} 已达 {people:,} 人并发出备案提醒：须在 {due} 前向省级网信部门备案",
        "filing alert raised {raised} at {people:,} people: filing with the provincial CAC "
        "is due by {due}",
    ),
    "cr_live_filing_missed": (
        "运营方已录入 {enrolled:,} 人（门槛 {threshold:,} 人），但没有发出备案提醒",
        "the operator has {enrolled:,} enrolled people (threshold {threshold:,}) but no "
        "filing alert was raised",
    ),
    "cr_live_filing_ok": (
        "运营方已录入 {enrolled:,} 人，低于 {threshold:,} 人的备案门槛",
        "the operator has {enrolled:,} enrolled people, below the filing threshold of "
        "{threshold:,}",
    ),
    "cr_live_incidents_open": (
        "{open} 个安全事件尚未处理：{kinds}",
        "{open} unresolved incident(s): {kinds}",
    ),
    "cr_live_incidents_none": ("没有未处理的安全事件", "no unresolved incident"),
    "cr_live_retention_never": (
        "本小区从未执行过到期清理：请设置定时执行（例如每天一次）",
        "the retention job has never run at this site: schedule it (e.g. daily)",
    ),
    "cr_live_retention_last": (
        "上次执行到期清理：{at}",
        "the retention job last ran {at}",
    ),
    "cr_live_audit_ok": (
        "审计链校验通过：共 {events} 条记录，没有被改动或删除",
        "the audit chain verifies: {events} events, none altered or removed",
    ),
    "cr_live_audit_broken": (
        "审计链在第 {event} 条记录处断开：{reason}",
        "the audit chain is broken at event {event}: {reason}",
    ),
    "cr_live_keys_in_database": (
        "密钥库就是数据库文件（{database}）：数据库备份会包含密钥，删除也无法彻底",
        "the key store is the database file ({database}): a database backup would hold the "
        "keys, and deletion would not reach it",
    ),
    "cr_live_key_file_in_database": (
        "站点密钥文件就是数据库文件（{database}）",
        "the site key file is the database file ({database})",
    ),
    "cr_live_keys_apart": (
        "数据密钥在密钥库文件 {keystore}，与数据库文件 {database} 分开；站点密钥来自 {site_key}",
        "data keys in the key store file {keystore}, apart from the "
        "database file {database}; site key from {site_key}",
    ),
    "cr_live_keys_apart_server": (
        "数据密钥在密钥库文件 {keystore}，与数据库服务器分开；站点密钥来自 {site_key}",
        "data keys in the key store file {keystore}, apart from the "
        "database server; site key from {site_key}",
    ),
}

_GROUPS: dict[str, tuple[str, str]] = {
    "cr_group_notice": ("告知与同意", "Notice and consent"),
    "cr_group_alternatives": ("人脸以外的开门方式", "Alternatives to the face"),
    "cr_group_storage": (
        "存储、安全、保存期限与删除",
        "Storage, security, retention, deletion",
    ),
    "cr_group_accountability": ("问责", "Accountability"),
}

STRINGS: dict[str, tuple[str, str]] = {
    **_RULE_TITLES,
    **_REPORT,
    **_CHECK_NAMES,
    **_LIVE,
    **_GROUPS,
}
