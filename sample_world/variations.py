"""The messy variations and the traps of the sample, and which file gets which.

What belongs here: ``VARIATIONS`` (name -> description) with the source kinds and formats each
applies to, ``TRAPS`` (name -> description), and ``VariationPicker``, which hands every file a
different mix (round-robin over a shuffled cycle, so every applicable variation occurs in every
source kind). ``mix`` is ``"moderate"`` (the default sample: 3-4 variations per file),
``"none"`` (clean files; traps stay) or ``"all"`` (everything applicable in every file).
"""
from __future__ import annotations

import random

BUREAU = ("dc_ledger", "projects", "economics", "plans")
ALL_KINDS = BUREAU + ("registry", "power")

VARIATIONS: dict[str, str] = {
    "title_rows": (
        "One or two title rows above the header (e.g. 贵安新区数据中心运行情况台账（2024年3月）), "
        "merged across the columns in xlsx."
    ),
    "blank_rows": "Blank rows after the title, inside the data and before the footer.",
    "two_row_header": (
        "Two-row header with merged group cells: 机架情况 over 设计/已建/已上架, "
        "算力规模 over 通用/智能/超算算力（PFlops）; other columns merged vertically."
    ),
    "header_line_breaks": "Line breaks (xlsx) or spaces (csv) inside header cells, e.g. 计划总投资\\n（亿元）.",
    "row_number_column": "A leading 序号 column.",
    "extra_column": "An unknown extra column (联系人, 备注, ...) that must be kept in extras.",
    "shuffled_columns": "Columns in a non-canonical order.",
    "alt_units": (
        "Alternative units in headers with values in that unit: 亿元 instead of 万元, MW instead of kW, 万千瓦时 "
        "instead of 千瓦时."
    ),
    "fullwidth": "Full-width digits, brackets and comma in some cells (１２３４, （）), ideographic spaces in names.",
    "thousands_separators": "Numbers written as text with thousands separators (1,234.5).",
    "percent_forms": (
        "Ratios as percent strings (65%), as Excel percent cells (0.65 shown 65%) or as numbers under a "
        "（%） header."
    ),
    "missing_markers": "NULL cells written as —, －, -, /, 无, 暂无 or N/A instead of empty.",
    "mixed_date_forms": (
        "Dates in every spec form within one column (2024-03-15, 2024/3/15, 2024.3.15, 2024年3月15日, "
        "2024年3月, 2024.3, 2024-03, 202403, 20240315, Excel serials, real Excel dates)."
    ),
    "value_synonyms": (
        "Value synonyms instead of the canonical words (已投运/投运, 建设中, 拟建, 洽谈; "
        "已签约, 已开工, 已投产, 达产; 办事处, 商会, 协会)."
    ),
    "period_column": (
        "The report month / plan year in a column (统计期, 报送月份, 年度) "
        "besides the title and file name."
    ),
    "totals_row": "A 合计 footer row holding the correct sums of the summable columns.",
    "notes_rows": "Footer notes: 备注：..., 填报单位：..., 填报人：....",
    "sheet_per_park": "One data sheet per park (xlsx).",
    "instructions_sheet": "An extra 填报说明 sheet to be skipped (xlsx).",
    "list_separators": "Power-account lists separated by ，, ;, ； or spaces (besides the usual 、).",
    "quarter_forms": "Quarter periods in mixed forms (2024Q1, 2024年一季度, 2024年1-3月, 2024-03).",
    "no_bill_type_column": (
        "A power file without the 账单类型 column: a re-issue is only recognisable as the same account-month "
        "again."
    ),
    "sharp_column": "A power file with a 尖峰电量 column (otherwise sharp energy is included in 峰电量).",
    "snapshot_date_column": "A registry extract with a 快照日期 column (otherwise the date comes from the file name).",
}

_BUREAU_COMMON = {"title_rows", "blank_rows", "header_line_breaks", "row_number_column", "extra_column",
                  "shuffled_columns", "fullwidth", "thousands_separators", "missing_markers", "notes_rows",
                  "instructions_sheet"}
APPLIES: dict[str, set[str]] = {
    "dc_ledger": _BUREAU_COMMON | {"two_row_header", "alt_units", "mixed_date_forms", "value_synonyms",
                                   "period_column", "totals_row", "sheet_per_park", "list_separators"},
    "projects": _BUREAU_COMMON | {"alt_units", "mixed_date_forms", "value_synonyms", "period_column",
                                  "totals_row", "sheet_per_park"},
    "economics": _BUREAU_COMMON | {"alt_units", "quarter_forms", "totals_row"},
    "plans": _BUREAU_COMMON | {"alt_units", "percent_forms", "mixed_date_forms", "period_column"},
    "registry": {"extra_column", "shuffled_columns", "fullwidth", "missing_markers", "mixed_date_forms",
                 "snapshot_date_column"},
    "power": {"title_rows", "extra_column", "shuffled_columns", "thousands_separators", "missing_markers",
              "alt_units", "totals_row", "sharp_column", "no_bill_type_column"},
}
XLSX_ONLY = {"sheet_per_park", "instructions_sheet"}
# Never picked at random (placed explicitly by the generator).
EXPLICIT_ONLY = {"no_bill_type_column"}

TRAPS: dict[str, str] = {
    "ledger_month_redelivered": (
        "One dc_ledger month delivered twice with different content: the later file replaces the month "
        "(one center missing from it is absent that month); the earlier file is superseded."
    ),
    "duplicate_file": (
        "One byte-identical copy of a power file under another name, delivered later: marked duplicate, "
        "adds nothing."
    ),
    "corrected_bill": (
        "A power bill re-issued (更正) in a later month's file: it supersedes the original and is_corrected"
        " is true."
    ),
    "same_file_correction": (
        "Within one power file an account-month given twice, once 正常 and once 更正: the 更正 one supersedes "
        "the other."
    ),
    "reissue_without_bill_type": (
        "A re-issued bill in a power file that has no 账单类型 column: the later file's bill supersedes the "
        "earlier one."
    ),
    "bill_arithmetic_error": "One current bill whose charges do not add up to its total: loaded, arithmetic_ok false.",
    "racks_in_use_gt_built": (
        "One center-month row with racks_in_use > racks_built: loaded, flagged by a quality check. It is the "
        "center's latest row (the last month), so the over_capacity alert is open."
    ),
    "center_silent": (
        "A center (in planning) absent from the last four ledger files: carried forward for three months, then "
        "no more, and the center_not_reporting alert is open."
    ),
    "renamed_header": (
        "The last ledger file's 服务器台数 header written as 服务器台数XX: it matches no alias, servers load NULL "
        "(an optional column), and column_went_empty names the file."
    ),
    "duplicate_center_in_file": "A center_code twice in one ledger file: both copies refused (duplicate_key_in_file).",
    "missing_project_code": "A project row without 项目编号: refused (missing_key).",
    "registry_bad_check_char": (
        "A registry row whose USCC check character is wrong: refused (invalid_uscc), in every snapshot."
    ),
    "registry_old_registration_number": (
        "A registry row with a 15-digit old registration number: refused (old_registration_number), in "
        "every snapshot."
    ),
    "registry_duplicate_uscc": "Two rows with one USCC in the last snapshot: both refused (duplicate_key_in_file).",
    "firm_renamed": "A firm whose name changes at the third snapshot (the old name becomes 曾用名): a new version.",
    "firm_form_only_change": (
        "A firm whose rows differ only in form across snapshots (（）vs (), 在业 vs 存续, I6550 vs 6550, "
        "8000万人民币 vs 8,000万元, trailing space): no new version."
    ),
    "firm_disappears": (
        "A firm present in the first two snapshots and absent later: its version closes at the third "
        "snapshot's date."
    ),
    "investor_by_name": "A project investor given by its current name only (no USCC): resolvable through the registry.",
    "investor_by_former_name": "A project investor given by a former name only: resolvable through 曾用名.",
    "investor_unresolvable": (
        "A project investor named by a name no registered firm has: stays unresolved (not a rejection)."
    ),
    "operator_by_name": "A center whose operator USCC is left out in some months: resolvable by name.",
    "economics_unsupported_period": "An economics row for 2024年1-6月 (a half year): refused (unsupported_period).",
    "economics_unresolved_firm": (
        "An economics row with no USCC and a name no registered firm has: refused (unresolved_firm)."
    ),
    "economics_invalid_uscc_resolvable": (
        "An economics row whose USCC has a wrong check character but whose name resolves: loaded, "
        "resolved by name."
    ),
    "unparsed_date": "A ledger date cell 2023年底: NULL with an unparsed_date warning; the row loads.",
    "plan_operation_overdue": "A center whose planned operation date has passed while it is still 在建.",
    "it_energy_missing": (
        "An operating center whose IT energy is missing in the latest month (PUE from the month before)."
    ),
    "stray_readme": "bureau/dc_ledger/readme.txt: a file of another extension, refused as a file.",
    "empty_csv": "An empty csv file, refused as a file.",
    "corrupt_xlsx": "power/电费账单_损坏.xlsx: a workbook cut short (not a valid zip), refused as a file.",
    "unclaimed_account": "Grid accounts with bills that no center claims.",
}


class VariationPicker:
    """Hands out variations per file so that a source kind's files together cover all of them."""

    def __init__(self, kind: str, rng: random.Random, mix: str = "moderate", per_file: tuple[int, int] = (3, 4)):
        if mix not in {"moderate", "none", "all"}:
            raise ValueError("mix must be 'moderate', 'none' or 'all'")
        self.kind, self.rng, self.mix, self.per_file = kind, rng, mix, per_file
        self.pool = sorted(APPLIES[kind] - EXPLICIT_ONLY)
        self.queue: list[str] = []

    def _refill(self) -> None:
        cycle = list(self.pool)
        self.rng.shuffle(cycle)
        self.queue.extend(cycle)

    def pick(self, fmt: str, forced: set[str] = frozenset(), forbidden: set[str] = frozenset()) -> frozenset[str]:
        def ok(v: str) -> bool:
            return v not in forbidden and not (fmt != "xlsx" and v in XLSX_ONLY)

        chosen = {v for v in forced}
        if self.mix == "all":
            chosen |= {v for v in self.pool if ok(v)}
        elif self.mix == "moderate":
            want = self.rng.randint(*self.per_file)
            skipped: list[str] = []
            guard = 0
            while len(chosen - set(forced)) < want and guard < 4 * len(self.pool) + 8:
                guard += 1
                if not self.queue:
                    self._refill()
                v = self.queue.pop(0)
                if ok(v) and v not in chosen:
                    chosen.add(v)
                else:
                    skipped.append(v)
            # what could not be used here goes first for the next file
            self.queue[:0] = [v for v in skipped if v not in chosen]
        return frozenset(chosen)
