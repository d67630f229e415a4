"""The monthly report as printed and as re-read by other office software.

LibreOffice renders the workbook to PDF: the page count stays within a bound and no page carries a
single column cut off from the others (every sheet is fit to one page wide). LibreOffice recomputes
=MEDIAN() over the detail sheet's hours: it agrees with the report's median. An .ods round trip keeps
the figures (read back with calamine).
"""

import datetime as dt
import re
import shutil
import subprocess

import pytest
from python_calamine import CalamineWorkbook

from scripts.config import parse_config
from scripts.jobs import run_job
from tests.helpers import COMPLAINT_HEADERS, SHANGHAI, STAFF, complaint, libreoffice_convert, write_xlsx

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
PDFTOTEXT = shutil.which("pdftotext")
pytestmark = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice not installed (apt-get install libreoffice-calc-nogui)")
NOW = dt.datetime(2026, 12, 1, 9, tzinfo=SHANGHAI)
STAFF_WITH_BOSS = [*STAFF, {"name": "孙磊", "email": "sunlei@example.com", "role": "客服专员", "supervisor": "李娜"}]
OWNERS = ["赵敏", "孙磊", "王芳", "张伟"]
CATEGORIES = ["维修质量", "服务态度", "配件供应", "销售承诺", "收费争议", "交车延误"]
CHANNELS = ["电话", "微信", "面诉", "邮件"]


def six_months() -> list[list]:
    """184 complaints from June to November, every fourth still open, some with work orders."""
    rows = []
    start = dt.datetime(2026, 6, 1, 9)
    for i in range(184):
        received = start + dt.timedelta(hours=i * 23 + (i % 7))
        closed = i % 4 != 0
        reply = received + dt.timedelta(hours=(i * 5) % 30 + 0.5)
        resolved = received + dt.timedelta(hours=(i * 11) % 90 + 4) if closed else None
        callback = resolved + dt.timedelta(days=1) if resolved and i % 3 else None
        rows.append(complaint(
            投诉编号=f"TS{i:04d}", 受理时间=received, 投诉渠道=CHANNELS[i % 4], 客户姓名=f"客户{i}",
            联系电话=13900000000 + (i % 150), 投诉内容="车辆异响多次维修未解决，要求给出书面答复并承担代步车费用" if i % 5 == 0 else "等待时间过长",
            投诉类别=CATEGORIES[(i * 7) % 6], 紧急程度="紧急" if i % 6 == 0 else "一般", 责任人=OWNERS[i % 4],
            协办部门="售后部" if i % 3 == 0 else None, 工单时限=received + dt.timedelta(days=2) if i % 3 == 0 else None,
            处理状态="已关闭" if callback else ("已解决" if resolved else "处理中"), 首次回复时间=reply,
            解决时间=resolved, 处理结果="已处理" if resolved else None, 回访时间=callback,
            客户满意度=("满意", "一般", "不满意")[i % 5 % 3] if callback else None))
    return rows


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    base = tmp_path_factory.mktemp("store")
    write_xlsx(base / "客服.xlsx", {"投诉登记": [COMPLAINT_HEADERS, *six_months()]})
    config = parse_config({"sources": [{"name": "客服", "path": "客服.xlsx", "tables": {"投诉登记": "complaint_log"}}],
                           "staff": STAFF_WITH_BOSS, "mail": {"from": "回访提醒 <noreply@example.com>", "outbox": "outbox"},
                           "state": "state.sqlite3"}, base / "huifang.yaml", base)
    run_job("monthly-report", config, NOW, dry_run=True)
    out = tmp_path_factory.mktemp("pdf")
    src = out / "report.xlsx"
    shutil.copy(base / "reports" / "投诉月报-2026-11.xlsx", src)
    return out, src


def convert(out, src, to):
    return libreoffice_convert(src, to, out)


def pages(pdf) -> list[str]:
    text = subprocess.run([PDFTOTEXT, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")[:-1]  # each page ends with a form feed


@pytest.mark.skipif(PDFTOTEXT is None, reason="pdftotext not installed (apt-get install poppler-utils)")
def test_the_pdf_has_a_bounded_page_count_and_no_page_holds_a_lone_column(rendered):
    out, src = rendered
    pdf = convert(out, src, "pdf")
    printed = pages(pdf)
    # 15 sheets; the detail list (30 complaints of November) and open list run over one page each at most.
    assert 12 <= len(printed) <= 30, len(printed)
    for number, page in enumerate(printed, start=1):
        lines = [line for line in page.splitlines() if line.strip()]
        assert lines, f"page {number} is empty"
        widest = max(len(re.split(r"\s{2,}", line.strip())) for line in lines)
        assert widest >= 2, f"page {number} holds a single column:\n{page[:300]}"
    first = printed[0]
    assert "客户投诉情况及处理月报 2026-11" in first and "三大变化" in first and "最久未结的投诉" in first
    assert "按投诉类别（本月与上月）" in printed[1] and "各项比率" in printed[1]  # both charts on page 2


def test_every_sheet_prints_landscape_one_page_wide_with_its_header_repeated(rendered):
    import openpyxl

    _, src = rendered
    wb = openpyxl.load_workbook(src)
    assert wb.sheetnames[:3] == ["汇总", "趋势", "按渠道"]
    for ws in wb:
        assert ws.page_setup.orientation == "landscape", ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1, ws.title
        if ws.title == "汇总":
            continue
        header = 2 if ws.title == "重复投诉" else 1  # the repeat list has a note row above its header
        assert ws.freeze_panes == f"A{header + 1}", ws.title
        assert ws.auto_filter.ref.startswith(f"A{header}:"), ws.title
        assert ws.print_title_rows == f"${header}:${header}", ws.title
        for cell in ws[header]:  # a Chinese character takes two columns, a digit or letter one
            need = sum(2 if ord(ch) >= 0x2E80 else 1 for ch in cell.value)
            assert ws.column_dimensions[cell.column_letter].width >= min(40, need), (ws.title, cell.value)


def test_libreoffice_median_of_the_detail_column_agrees_with_the_report(rendered):
    import openpyxl

    out, src = rendered
    wb = openpyxl.load_workbook(src)
    detail = wb["投诉明细"]
    column = next(c.column_letter for c in detail[1] if c.value == "首次答复（小时）")
    wb["汇总"]["H1"] = f"=MEDIAN('投诉明细'!{column}2:{column}{detail.max_row})"
    check = out / "median.xlsx"
    wb.save(check)
    summary = CalamineWorkbook.from_path(str(convert(out, check, "ods"))).get_sheet_by_name("汇总").to_python()
    ours = next(row[1] for row in summary if row[0] == "首次答复时间中位数（小时）")
    assert summary[0][7] == pytest.approx(ours, abs=1e-9)


def test_an_ods_round_trip_keeps_the_figures_and_the_lists(rendered):
    out, src = rendered
    ods = CalamineWorkbook.from_path(str(convert(out, src, "ods")))
    xlsx = CalamineWorkbook.from_path(str(src))
    assert ods.sheet_names == xlsx.sheet_names
    for name in ("汇总", "按责任人", "超时未办", "月末未结", "投诉明细"):
        back, sent = ods.get_sheet_by_name(name).to_python(), xlsx.get_sheet_by_name(name).to_python()
        # .ods keeps 15 significant digits: 0.8333333333333334 comes back as 0.833333333333333.
        assert back == [[pytest.approx(v, rel=1e-13) if isinstance(v, float) else v for v in row] for row in sent], name
