"""Words for the residents part of the pages: key → (Chinese, English).

``res_*`` for the console's residents section, ``import_reason_<code>`` for each reason an
import file's row is refused (``store.resident_csv.Reason``), ``import_column_<name>`` for
its columns, and the error and field words of the residents routes.
"""

from __future__ import annotations

STRINGS: dict[str, tuple[str, str]] = {
    # The list
    "res_search": ("搜索", "Search"),
    "res_search_hint": ("姓名、住户编号或户号", "Name, resident number or household"),
    "res_search_button": ("查找", "Find"),
    "res_building": ("楼栋", "Building"),
    "res_unit": ("单元", "Unit"),
    "res_household": ("户号", "Household"),
    "res_home": ("住址", "Home"),
    "res_filter": ("显示", "Show"),
    "res_filter_all": ("全部", "Everyone"),
    "res_filter_active": ("在住", "Living here"),
    "res_filter_moved_out": ("已搬离", "Moved out"),
    "res_filter_child": ("未满 14 周岁", "Children under 14"),
    "res_count": (
        "共 {total} 人 · 第 {page}/{pages} 页",
        "{total} people · page {page} of {pages}",
    ),
    "res_none_found": ("没有找到符合条件的住户。", "No one matches."),
    "res_prev": ("上一页", "Previous"),
    "res_next": ("下一页", "Next"),
    "res_child": ("儿童（未满 14 周岁）", "Child (under 14)"),
    "res_moved_out_on": (
        "{moved} 已搬离，数据将于 {erase} 删除",
        "Moved out on {moved}, data erased on {erase}",
    ),
    "res_export_one": ("导出其数据", "Export their data"),
    "res_consent_ended": ("已停止（已搬离）", "Ended (moved out)"),
    "res_home_building": ("{v}栋", "Bldg {v}"),
    "res_home_unit": ("{v}单元", "unit {v}"),
    # Registering
    "res_born": ("出生日期（儿童必填）", "Date of birth (needed for a child)"),
    "res_born_or_adult": (
        "请填写出生日期，或勾选“已满 14 周岁”。",
        "Give the date of birth, or tick “Aged 14 or over”.",
    ),
    "res_guardian_title": (
        "监护人（未满 14 周岁的儿童必须由监护人同意）",
        "Guardian (a child under 14 needs a guardian's consent)",
    ),
    "res_guardian_name": ("监护人姓名", "Guardian's name"),
    "res_guardian_pick": (
        "可输入已登记住户的姓名查找",
        "Type to pick from registered residents",
    ),
    "res_guardian_existing": ("由哪位监护人同意", "Which guardian consents"),
    "res_guardian_new": ("新登记一位监护人", "Record a new guardian"),
    "res_guardian_relation": ("与孩子的关系", "Relation to the child"),
    "res_relation_parent": ("父母", "Parent"),
    "res_relation_legal_guardian": ("法定监护人", "Legal guardian"),
    "res_guardian_born": ("监护人出生日期", "Guardian's date of birth"),
    "res_guardian_consent": (
        "监护人书面同意的凭据（可稍后登记）",
        "Evidence of the guardian's written consent (may be recorded later)",
    ),
    "res_child_registered": (
        "已登记儿童及其监护人",
        "Child registered with their guardian",
    ),
    "res_child_partly": (
        "儿童已登记，但监护人或同意未能登记：请在列表中点“登记书面同意”补充。",
        "The child is registered, but the guardian or consent was not: use “Paper consent” "
        "in the list to finish.",
    ),
    "res_guardian_consent_note": (
        "未满 14 周岁：同意由监护人作出。",
        "Under 14: the guardian gives consent.",
    ),
    # The sign-in slip
    "res_slip_site": ("小区代码", "Community code"),
    "res_slip_address": ("登录地址", "Where to sign in"),
    "res_slip_steps": (
        "打开上面的地址，输入小区代码和登录码即可登录。",
        "Open the address above and type the community code and the sign-in code.",
    ),
    "res_print": ("打印", "Print"),
    # Import and export
    "res_import_title": ("批量导入住户（CSV）", "Import residents (CSV)"),
    "res_import_file": ("CSV 文件", "CSV file"),
    "res_import_hint": (
        "第一行为列名：name（姓名，必填）、kind（住户/临时住户/访客）、building（楼栋）、"
        "unit（单元）、household（户号）、born（出生日期，不填表示已满 14 周岁）、"
        "expires（访客和临时住户的到期日）。日期格式 2026-01-31。UTF-8 编码。",
        "The first line names the columns: name (required), kind (resident, temporary, "
        "visitor), building, unit, household, born (date of birth; empty means 14 or over), "
        "expires (end date of visitors and temporary residents). Dates as 2026-01-31. "
        "UTF-8.",
    ),
    "res_import_check": ("检查（不导入）", "Check (dry run)"),
    "res_import_run": ("导入", "Import"),
    "res_import_pick_file": ("请先选择 CSV 文件。", "Choose a CSV file first."),
    "res_import_ok": (
        "文件没有问题：共 {rows} 行，可以导入。",
        "The file is fine: {rows} rows, ready to import.",
    ),
    "res_import_done": ("已导入 {count} 位住户。", "Imported {count} residents."),
    "res_import_bad": (
        "文件有 {count} 处问题，未导入任何住户。请修改后重新检查。",
        "{count} problems in the file; nothing was imported. Fix them and check again.",
    ),
    "res_import_line": ("行号", "Line"),
    "res_import_column": ("列", "Column"),
    "res_import_problem": ("问题", "Problem"),
    "res_import_whole_file": ("整个文件", "whole file"),
    "res_import_whole_line": ("整行", "whole line"),
    "res_import_same_as": ("与第 {line} 行重复", "Same as line {line}"),
    "res_export": ("导出住户名单（CSV）", "Export residents (CSV)"),
    "import_column_name": ("姓名", "name"),
    "import_column_kind": ("类型", "kind"),
    "import_column_building": ("楼栋", "building"),
    "import_column_unit": ("单元", "unit"),
    "import_column_household": ("户号", "household"),
    "import_column_born": ("出生日期", "born"),
    "import_column_expires": ("到期日", "expires"),
    "import_reason_empty_file": (
        "文件是空的，或只有列名。",
        "The file is empty or has only a header.",
    ),
    "import_reason_not_utf8": (
        "文件不是 UTF-8 编码：请在 Excel 中“另存为 CSV UTF-8”。",
        "The file is not UTF-8: in Excel, “Save as CSV UTF-8”.",
    ),
    "import_reason_too_large": ("文件太大（最大 4 MB）。", "The file is too large (4 MB at most)."),
    "import_reason_too_many_rows": (
        "行数太多：一次最多导入 50,000 行，从这一行起超出。",
        "Too many rows: 50,000 at most per import; this is the first one over.",
    ),
    "import_reason_bad_csv": (
        "CSV 格式有误（例如引号没有配对）。",
        "The CSV is malformed (e.g. a quote is not closed).",
    ),
    "import_reason_missing_column": ("缺少必需的列。", "A required column is missing."),
    "import_reason_unknown_column": (
        "不认识的列名（拼写错误或多余的列）。",
        "Unknown column name (misspelt or extra).",
    ),
    "import_reason_duplicate_column": ("列名重复。", "The column appears twice."),
    "import_reason_field_count": (
        "这一行的列数与列名行不一致。",
        "This line has a different number of fields from the header.",
    ),
    "import_reason_required": ("必填项为空。", "Required, but empty."),
    "import_reason_text_too_long": ("内容太长。", "Too long."),
    "import_reason_control_characters": ("含有不可见的控制字符。", "Holds control characters."),
    "import_reason_bad_kind": (
        "类型只能是 住户、临时住户 或 访客。",
        "The kind must be resident, temporary or visitor.",
    ),
    "import_reason_bad_date": (
        "日期格式不对，应为 2026-01-31。",
        "Not a date: write it as 2026-01-31.",
    ),
    "import_reason_bad_birth_date": (
        "出生日期不合理（在将来或过早）。",
        "The date of birth is not plausible (in the future or too long ago).",
    ),
    "import_reason_expires_required": (
        "访客和临时住户必须填写到期日。",
        "Visitors and temporary residents need an end date.",
    ),
    "import_reason_expires_not_allowed": (
        "住户没有到期日（搬离时再登记）。",
        "Residents have no end date (record the move-out instead).",
    ),
    "import_reason_expires_past": ("到期日已过。", "The end date has passed."),
    "import_reason_duplicate_row": ("与前面的行重复。", "Repeats an earlier line."),
    "import_reason_already_registered": (
        "此人已登记（姓名和住址相同）。",
        "Already registered (same name and home).",
    ),
    # Errors and fields of the residents routes
    "err_import_refused": (
        "文件有问题，未导入任何住户：见下表。",
        "The file has problems; nothing was imported: see the table below.",
    ),
    "field_building": ("楼栋最多 16 个字符。", "A building is up to 16 characters."),
    "field_unit": ("单元最多 16 个字符。", "A unit is up to 16 characters."),
    "field_household": ("户号最多 32 个字符。", "A household is up to 32 characters."),
    "field_q": ("搜索内容太长。", "The search text is too long."),
    "field_per_page": ("每页最多 200 人。", "At most 200 per page."),
    "field_file": ("请选择 CSV 文件。", "Choose a CSV file."),
}
