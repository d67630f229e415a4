"""The bundled demo: two workbooks of a car dealership, and `run.py demo` that checks them end to end.

``python -m scripts.demo --write`` regenerates demo/*.xlsx from the rows below (deterministic).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any, Sequence
from zoneinfo import ZoneInfo

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"
DEMO_CONFIG = DEMO_DIR / "huifang.yaml"
# Friday morning, 2026-11-27 09:00 in Shanghai: the rows below are dated around it.
DEMO_NOW = dt.datetime(2026, 11, 27, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

D = dt.datetime

STAFF = [
    ("姓名", "邮箱", "角色", "上级", "在职"),
    ("周杰", "zhoujie@example.com", "展厅经理", None, "是"),
    ("李娜", "lina@example.com", "销售经理", "周杰", "是"),
    ("张伟", "zhangwei@example.com", "销售顾问", "李娜", "是"),
    ("王芳", "wangfang@example.com", "销售顾问", "李娜", "是"),
    ("刘洋", "liuyang@example.com", "销售顾问", "李娜", "是"),
    ("陈静", "chenjing@example.com", "客服主管", "周杰", "是"),
    ("赵敏", "zhaomin@example.com", "客服专员", "陈静", "是"),
    ("孙磊", "sunlei@example.com", "客服专员", "陈静", "是"),
]

VISITORS = [
    ("序号", "*登记时间", "来访方式", "客户姓名", "联系电话", "客户不留电话", "信息来源（必填）", "意向车型",
     "意向级别", "销售顾问", "是否建卡", "下次跟进日期", "最近跟进日期", "跟进状态", "备注"),
    (1, D(2026, 11, 16, 10, 5), "来店", "韩女士", 13311112222, None, "老客户介绍", "帕萨特", "H", "王芳", "是", None, D(2026, 11, 20), "已成交", "已交定金"),
    (2, "2026年11月18日", "来店", "吴先生", 15900002222, None, "车展", "途观L", "H", "张伟", "是", D(2026, 11, 26), D(2026, 11, 20), None, "等年终奖"),
    (3, D(2026, 11, 19, 9, 30), "来店", "郑女士", 13600003333, None, "网络", "ID.4", "A", "张伟", "是", D(2026, 11, 25), D(2026, 11, 25), "跟进中", None),
    (4, D(2026, 11, 20, 10, 15), "来店", "陈先生", 13812345678, None, "网络", "朗逸", "A", "张伟", "是", None, None, None, None),
    (5, "2026/11/21 15:40", "来电", "许先生", "1381234", None, "电台广告", "速腾", "B", "刘洋", "是", None, None, None, "号码记错了?"),
    (6, D(2026, 11, 23, 11, 0), "来店", "冯先生", "135 0000 4444", None, "抖音", "朗逸", "C", "小明", "是", None, None, None, "实习生接待"),
    (7, D(2026, 11, 24, 14, 30), "来电", "李女士", 13987654321, None, "汽车之家", "速腾", "H", "王芳", "是", None, None, "跟进中", None),
    (8, D(2026, 11, 25, 11, 0), "来店", "王先生", None, None, "路过", "途岳", "B", "刘洋", "否", None, None, None, None),
    (9, D(2026, 11, 25, 16, 20), "来店", "赵女士", None, "是", "路过", "朗逸", "N", "王芳", None, None, None, None, "不愿留电话"),
    None,
    (10, D(2026, 11, 26, 10, 0), "来店", "孙先生", 13700001111, None, None, "帕萨特", "A", "刘洋", "否", None, None, None, None),
    (11, D(2026, 11, 26, 15, 45), "来电", "周女士", "+86 138-0013-8000", None, "朋友介绍", "帕萨特", "B", "刘洋", None, None, None, None, None),
    (12, "2026-13-01", "来店", "何女士", 18800005555, None, "网络", "ID.3", "B", "王芳", "是", None, None, None, "日期写错"),
    (13, D(2026, 11, 26, 17, 10), "上门", "钱先生", 18600006666, None, "网络", "凌渡", "B", "张伟", "是", None, None, None, None),
    (14, D(2026, 11, 27, 8, 40), "来电", "郭女士", 13566667777, None, "汽车之家", "途观L", "A", "王芳", "是", None, None, None, "想周末来试驾"),
]

TEST_DRIVES = [
    ("客户姓名", "年龄", "职业", "驾照号", "联系电话", "联系地址", "试驾日期", "客户签名", "销售顾问", "顾问签名"),
    ("陈先生", 35, "教师", "310101199001011234", 13812345678, "上海市徐汇区漕溪北路1号", D(2026, 11, 22), "陈", "张伟", "张伟"),
    ("李女士", 29, "设计师", None, 13987654321, "上海市静安区南京西路2号", D(2026, 11, 25), "李", "王芳", "王芳"),
    ("小周", 16, "学生", "310101201001011234", 13800138000, "上海市长宁区1号", D(2026, 11, 26), "周", "刘洋", "刘洋"),
    ("吴先生", 42, "工程师", "310101198401011234", 15900002222, "上海市浦东新区3号", D(2026, 11, 26), None, "张伟", "张伟"),
]

DELIVERIES = [
    ("客户姓名", "联系电话", "车型", "交车时间", "销售顾问", "感谢电话时间", "回访时间", "是否会员"),
    ("韩女士", 13311112222, "帕萨特", D(2026, 11, 19, 10, 0), "王芳", D(2026, 11, 19, 10, 40), None, "是"),
    ("林先生", 13122223333, "途观L", D(2026, 11, 20, 11, 0), "张伟", D(2026, 11, 20, 11, 30), D(2026, 11, 23, 12, 30), "否"),
    ("高女士", 13233334444, "朗逸", D(2026, 11, 24, 10, 0), "刘洋", D(2026, 11, 24, 10, 50), None, "是"),
    ("马先生", 13344445555, "速腾", D(2026, 11, 26, 15, 0), "张伟", None, None, "否"),
    ("罗女士", 13455556666, "ID.4", D(2026, 11, 27, 8, 10), "王芳", None, None, "是"),
]

COMPLAINTS = [
    ("投诉编号", "受理时间", "投诉渠道", "客户姓名", "联系电话", "投诉内容", "投诉类别", "紧急程度", "责任人",
     "协办部门", "工单时限", "处理状态", "首次回复时间", "解决时间", "处理结果", "回访时间", "客户满意度"),
    ("TS-20261110-01", D(2026, 11, 10, 9, 20), "电话", "钱先生", 13811112222, "保养等待时间过长", "服务态度", "一般", "赵敏",
     None, None, "已关闭", D(2026, 11, 10, 10, 0), D(2026, 11, 11, 16, 0), "致歉并赠送保养券", D(2026, 11, 13, 10, 0), "满意"),
    ("TS-20261115-01", D(2026, 11, 15, 14, 0), "微信", "田女士", 13922223333, "销售承诺的赠品未兑现", "销售承诺", "一般", "孙磊",
     "销售部", D(2026, 11, 17, 18, 0), "已关闭", D(2026, 11, 15, 15, 0), D(2026, 11, 16, 11, 0), "补发赠品", D(2026, 11, 18, 10, 0), "满意"),
    ("TS-20261120-01", D(2026, 11, 20, 10, 0), "面诉", "石先生", 13733334444, "喷漆有色差", "维修质量", "一般", "赵敏",
     "售后部", D(2026, 11, 21, 18, 0), "已解决", D(2026, 11, 20, 11, 0), D(2026, 11, 21, 15, 0), "重新喷漆", None, None),
    ("TS-20261123-01", D(2026, 11, 23, 9, 0), "电话", "龙女士", 13644445555, "贷款手续拖延", "金融服务", "紧急", "孙磊",
     "金融部", D(2026, 11, 25, 18, 0), "处理中", D(2026, 11, 23, 9, 40), None, None, None, None),
    ("TS-20261124-01", D(2026, 11, 24, 16, 0), "邮件", "段先生", 13555556666, "发票开错抬头", "票据", "一般", "赵敏",
     "财务部", None, "已关闭", D(2026, 11, 24, 17, 0), D(2026, 11, 25, 10, 0), None, None, None),
    ("TS-20261125-01", D(2026, 11, 25, 13, 0), "电话", "夏女士", 13466667777, "试驾预约被放鸽子", "销售服务", "一般", "孙磊",
     None, None, "已关闭", D(2026, 11, 25, 13, 30), D(2026, 11, 25, 17, 0), "道歉并重新安排", D(2026, 11, 26, 13, 0), "一般"),
    ("TS-20261126-01", D(2026, 11, 26, 8, 0), "电话", "钱先生", 13811112222, "保养后发动机异响", "维修质量", "紧急", "赵敏",
     "售后部", D(2026, 11, 27, 12, 0), "处理中", None, None, None, None, None),
    ("TS-20261126-02", D(2026, 11, 26, 11, 30), "微信", "江女士", 13377778888, "<b>展厅空调太冷</b> & 没人理", "环境设施", "一般", "孙磊",
     None, None, "待处理", None, None, None, None, None),
    ("TS-20261127-01", D(2026, 11, 27, 8, 30), "电话", "何先生", 13577778888, "交车时少了一把钥匙", "交车", "紧急", "孙磊",
     "销售部", D(2026, 11, 27, 17, 0), "处理中", D(2026, 11, 27, 8, 50), None, None, None, None),
    ("TS-20261126-02", D(2026, 11, 26, 15, 0), "短信", "白先生", 13288889999, "预约保养无人接听", "服务态度", "一般", "小王",
     None, None, "待处理", D(2026, 11, 26, 15, 30), None, None, None, None),
]

CALLBACKS = [
    ("客户姓名", "联系电话", "回访时间", "回访方式", "回访结果", "客户意见", "回访人", "是否会员", "下次回访日期"),
    ("宋先生", 13900003333, D(2026, 11, 18, 10, 0), "电话", "满意", None, "赵敏", "是", D(2026, 11, 24)),
    ("宋先生", 13900003333, D(2026, 11, 24, 15, 0), "电话", "满意", None, "赵敏", "是", None),
    ("唐女士", 13900001111, D(2026, 11, 20, 10, 0), "电话", "满意", None, "赵敏", "是", D(2026, 11, 26)),
    ("许女士", 13900002222, D(2026, 11, 24, 10, 30), "微信", "一般", "希望多些保养提醒", "孙磊", "否", D(2026, 11, 27)),
    ("邓先生", 13900004444, D(2026, 11, 25, 22, 30), "电话", "不满意", None, "孙磊", "是", None),
    ("曹女士", 13900005555, D(2026, 11, 26, 10, 0), "QQ", "满意", None, None, "否", None),
]


# A second showroom that keeps its logs the way stores really do (DOMAIN.md, "How stores really fill in
# the sheets"): Traditional characters, date and time in two columns, follow-ups and calls written as
# text, a refusal in the phone cell, a totals row, a complaint sheet without id or status columns.
T = dt.time
BRANCH_VISITORS = [
    ("序號", "來店日期", "來店時間", "方式", "客戶姓名", "聯繫方式", "客戶來源", "意向車型", "級別", "接待顧問", "建檔",
     "跟進記錄", "備註"),
    (1, D(2026, 11, 20), T(10, 30), "展廳", "黃先生", "139-1234-0018（本人）", "抖音", "途觀L", "H", "張偉", "已建",
     "11/24已回訪，已訂車", None),
    (2, D(2026, 11, 23), T(14, 0), "自然進店", "林女士", "不留", "路過", "朗逸", "C", "王芳", None, None, None),
    (3, D(2026, 11, 24), "9:15", "400電話", "周先生", 13912340019, "汽車之家", "帕薩特", "A", "劉洋", "未建",
     "11-25 電話聯繫，考慮訂車", None),
    (4, D(2026, 11, 19), T(16, 40), "邀約到店", "吳女士", "13912340020 微信同號", "網絡", "ID.4", "B", "張偉", "有", None, None),
    (5, D(2026, 11, 25), None, "展廳", "鄭先生", None, "車展", "速騰", "B", "王芳", None, None, "沒問到電話"),
    (6, D(2026, 11, 26), T(11, 0), "來電", "何女士", "13812340021", None, "帕薩特", "A", "劉洋", "是", None, None),
    ("合計", None, None, None, "6 批", None, None, None, None, None, None, None, None),
]
BRANCH_DELIVERIES = [
    ("客戶姓名", "聯繫電話", "車型", "交車日期", "交車時間", "銷售顧問", "感謝電話", "三日回訪", "是否會員", "保養提醒"),
    ("黃先生", 13912340018, "途觀L", D(2026, 11, 26), T(8, 30), "張偉", "已打", None, "是", None),
    ("陳女士", 13912340022, "朗逸", D(2026, 11, 27), T(7, 40), "王芳", None, None, "否", None),
    ("馬先生", 13912340023, "速騰", D(2026, 11, 20), None, "劉洋", "11-20 已打", None, "是", None),
    ("李女士", 13912340024, "帕薩特", D(2026, 11, 24), T(15, 0), "王芳", "已打", "11/26已回訪，滿意", "是", None),
    # First service six months on (11-30): the reminder is due from 11-16.
    ("宋女士", 13912340027, "途岳", D(2026, 5, 30), T(10, 0), "王芳", "已打", "06-02 已回訪", "是", None),
    ("丁先生", 13912340028, "朗逸", D(2026, 5, 20), T(16, 0), "張偉", "已打", "5/22已回訪", "否", "11/10已提醒"),
]
BRANCH_COMPLAINTS = [
    ("序號", "投訴日期", "投訴時間", "渠道", "客戶姓名", "電話", "問題描述", "負責人", "回覆時間", "處理結果"),
    (1, D(2026, 11, 26), T(11, 0), "400熱線", "蔡先生", 13912340025, "提車後導航不能用", "趙敏", None, None),
    (2, D(2026, 11, 25), "15:30", "微信", "邱女士", 13912340026, "銷售態度差", "孫磊", "已回覆", None),
]


def _write_sheet(ws: Any, rows: Sequence[Any], *, title_rows: Sequence[str] = (), drag_to: int = 0) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill  # noqa: PLC0415

    for text in title_rows:
        ws.append([text])
    if title_rows:
        width = len(rows[0])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
        ws.cell(1, 1).font = Font(bold=True, size=14)
        ws.cell(1, 1).alignment = Alignment(horizontal="center")
    for row in rows:
        ws.append(list(row) if row else [])
    header_row = len(title_rows) + 1
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    for col in ws.iter_cols(min_row=header_row, max_row=ws.max_row):
        for cell in col:
            if isinstance(cell.value, dt.datetime):
                cell.number_format = "yyyy-mm-dd hh:mm" if cell.value.time() != dt.time() else "yyyy-mm-dd"
            elif isinstance(cell.value, dt.time):
                cell.number_format = "hh:mm"
    # Staff drag the yellow "fill me" formatting far below the data; the reader must not care.
    if drag_to:
        fill = PatternFill("solid", fgColor="FFF2CC")
        for r in range(ws.max_row + 1, drag_to + 1):
            ws.cell(r, 5).fill = fill


def write_demo(folder: Path) -> list[Path]:
    """Write the three demo workbooks into ``folder`` and return their paths."""
    import openpyxl  # noqa: PLC0415

    folder.mkdir(parents=True, exist_ok=True)
    showroom = openpyxl.Workbook()
    ws = showroom.active
    ws.title = "来店登记"
    _write_sheet(ws, VISITORS, title_rows=("2026年11月 来店(来电)客户登记表", "填写说明：带*为必填；客户不留电话时在“客户不留电话”列填“是”"), drag_to=400)
    _write_sheet(showroom.create_sheet("试乘试驾"), TEST_DRIVES)
    _write_sheet(showroom.create_sheet("交车登记"), DELIVERIES)
    _write_sheet(showroom.create_sheet("员工名单"), STAFF)
    summary = showroom.create_sheet("月度汇总")
    summary.append(["月份", "来店批次", "成交台数"])
    summary.append(["2026-10", 212, 48])
    lists = showroom.create_sheet("下拉选项")
    lists.sheet_state = "hidden"
    for value in ("来店", "来电"):
        lists.append([value])
    service = openpyxl.Workbook()
    ws = service.active
    ws.title = "投诉登记"
    _write_sheet(ws, COMPLAINTS, title_rows=("客户投诉登记表",))
    _write_sheet(service.create_sheet("回访记录"), CALLBACKS)
    branch = openpyxl.Workbook()
    ws = branch.active
    ws.title = "11月來店"
    _write_sheet(ws, BRANCH_VISITORS, title_rows=("二店 11月 來店客戶登記",))
    _write_sheet(branch.create_sheet("交車登記"), BRANCH_DELIVERIES)
    _write_sheet(branch.create_sheet("投訴登記"), BRANCH_COMPLAINTS)
    paths = [folder / "展厅.xlsx", folder / "客服.xlsx", folder / "二店登记.xlsx"]
    for book, path in zip((showroom, service, branch), paths):
        book.properties.creator = "Huifang demo"
        book.properties.created = book.properties.modified = dt.datetime(2026, 11, 27, 8, 0)
        book.save(path)
    return paths


def run_demo(now_text: str | None, out: Path) -> int:
    """Check the bundled demo workbooks and write the results under ``out``."""
    from dataclasses import replace  # noqa: PLC0415

    from .check import run_check  # noqa: PLC0415
    from .cli import parse_now  # noqa: PLC0415
    from .config import load_config  # noqa: PLC0415
    from .jobs import JOBS, run_job  # noqa: PLC0415
    from .ledger import Ledger  # noqa: PLC0415
    from .mailer import OutboxSender  # noqa: PLC0415
    from .output import render_json, render_text  # noqa: PLC0415

    config = load_config(DEMO_CONFIG)
    now = parse_now(now_text, config) if now_text else DEMO_NOW
    result = run_check(config, now)
    out.mkdir(parents=True, exist_ok=True)
    text = render_text(result, verbose=True)
    (out / "check.txt").write_text(text, encoding="utf-8")
    (out / "check.json").write_text(render_json(result), encoding="utf-8")
    sys.stdout.write(text)
    # Every kind of email for the demo data, into a fresh outbox; the digest is rendered at 17:00.
    outbox = out / "outbox"
    for old in outbox.glob("*") if outbox.exists() else ():
        old.unlink()
    config = replace(config, outbox=outbox, smtp=None)
    ledger = Ledger(":memory:")
    counts = {}
    with OutboxSender(outbox, config.language) as sender:
        for job in JOBS:
            at = now.replace(hour=17, minute=0) if job == "digest" else now
            # The demo's monthly report covers the demo's own month, not the empty one before it.
            month = now.strftime("%Y-%m") if job == "monthly-report" else None
            counts[job] = len(run_job(job, config, at, ledger=ledger, sender=sender, month=month).messages)
    ledger.close()
    from .findings_book import write_findings_workbook  # noqa: PLC0415

    book = write_findings_workbook(result, out / "问题清单.xlsx", now)
    print(f"\n演示数据：{DEMO_DIR}")
    print(f"问题清单（每人一页，可转发）：{book.resolve()}")
    print(f"检查结果已写入：{(out / 'check.txt').resolve()} 和 {(out / 'check.json').resolve()}")
    print(f"演示邮件（提醒 {counts['reminders']} 封，日报 {counts['digest']} 封，升级 {counts['escalations']} 封）："
          f"{(outbox / 'index.html').resolve()}")
    return 0 if result.exit_code in (0, 1) else result.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="regenerate the demo workbooks")
    parser.add_argument("--write", action="store_true", help="write demo/*.xlsx")
    args = parser.parse_args(argv)
    if args.write:
        for path in write_demo(DEMO_DIR):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
