"""Three workbooks kept the way stores keep them, unlike the demo: other header words, split date and
time, a title row, sheets that are not logs, and (in one) no staff sheet.

Each book comes with the mapping `init` should find and the findings `check` should give at NOW
(2026-11-27 09:00, a Friday) with the written config and no hand edits.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tests.helpers import write_xlsx

D = dt.date
T = dt.datetime


def showroom(folder: Path) -> Path:
    """展厅来店.xlsx: 进店日期 + 进店时刻, 顾客, 接待人, 来源渠道, 是否建档; a 统计 sheet that is no log."""
    headers = ["序号", "进店日期", "进店时刻", "顾客", "电话", "来源渠道", "方式", "意向车型", "接待人", "是否建档",
               "下次跟进日期", "最近跟进日期", "备注"]
    return write_xlsx(folder / "展厅来店.xlsx", {
        "来店客户": [
            ["2026年11月 来店客户登记"] + [None] * (len(headers) - 1),
            headers,
            [1, D(2026, 11, 26), "10:30", "陈先生", 13812345678, "网络", "来店", "帕萨特", "张伟", "是", None, None, None],
            [2, D(2026, 11, 20), "14:00", "李女士", 13912340018, "朋友介绍", "来电", "途观", "王芳", "是", None, None, None],
            [3, D(2026, 11, 26), "16:00", "吴先生", None, None, "来店", "朗逸", "张伟", "否", None, None, "只看看"],
        ],
        "统计": [["月份", "来店数", "成交数"], ["2026-11", 30, 5]],
    })


SHOWROOM_COLUMNS = {"进店日期": "visit_at.date", "进店时刻": "visit_at.time", "顾客": "customer_name",
                    "电话": "phone", "来源渠道": "info_source", "方式": "channel", "意向车型": "intended_model",
                    "接待人": "consultant", "是否建档": "card_created", "下次跟进日期": "next_followup_on",
                    "最近跟进日期": "last_followup_on", "备注": "remark"}
SHOWROOM_FINDINGS = [("followup_overdue", "来店客户!L4"), ("missing_required", "来店客户!E5"),
                     ("missing_required", "来店客户!F5")]


def delivery(folder: Path) -> Path:
    """交车.xlsx: 交车日期 + 交车时间, 手机号码, 销售员, 感谢电话, 三日回访; a staff sheet with 岗位/主管."""
    headers = ["客户姓名", "手机号码", "车型", "交车日期", "交车时间", "销售员", "感谢电话", "三日回访", "是否会员"]
    return write_xlsx(folder / "交车.xlsx", {
        "交车登记": [
            headers,
            ["韩女士", 13311112222, "帕萨特", D(2026, 11, 26), "15:00", "刘洋", T(2026, 11, 26, 15, 40), None, "是"],
            ["马先生", 13622223333, "途观", D(2026, 11, 27), "07:30", "刘洋", None, None, "否"],
            ["高女士", 13733334444, "朗逸", D(2026, 11, 20), "10:00", "张伟", T(2026, 11, 20, 10, 50), None, "否"],
        ],
        "员工": [
            ["姓名", "邮箱", "岗位", "主管"],
            ["李娜", "lina@example.com", "销售经理", None],
            ["刘洋", "liuyang@example.com", "销售顾问", "李娜"],
            ["张伟", "zhangwei@example.com", "销售顾问", "李娜"],
        ],
    })


DELIVERY_COLUMNS = {"客户姓名": "customer_name", "手机号码": "phone", "车型": "model", "交车日期": "delivered_at.date",
                    "交车时间": "delivered_at.time", "销售员": "consultant", "感谢电话": "thank_you_call_at",
                    "三日回访": "callback_at", "是否会员": "member"}
DELIVERY_FINDINGS = [("delivery_callback_overdue", "交车登记!H4"), ("thank_you_call_overdue", "交车登记!G3")]


def service_desk(folder: Path) -> Path:
    """客服.xlsx: 投诉日期 + 投诉时间, 单号, 顾客姓名, 联系方式; a 说明 sheet; no staff sheet at all."""
    headers = ["序号", "单号", "投诉日期", "投诉时间", "渠道", "顾客姓名", "联系方式", "投诉内容", "处理人", "处理状态",
               "回复时间", "解决时间", "处理结果"]
    return write_xlsx(folder / "客服.xlsx", {
        "投诉": [
            ["客户投诉登记表"] + [None] * (len(headers) - 1),
            headers,
            [1, "TS001", D(2026, 11, 26), "11:00", "电话", "宋先生", 13900003333, "异响", "赵敏", "处理中", None, None, None],
            [2, "TS002", D(2026, 11, 25), "09:00", "面诉", "钱女士", 13800001111, "态度", "孙磊", "已解决",
             T(2026, 11, 25, 10, 0), T(2026, 11, 25, 16, 0), "已道歉"],
            [3, "TS002", D(2026, 11, 26), "15:00", "微信", "孙先生", 13700002222, "配件", "赵敏", "处理中",
             T(2026, 11, 26, 16, 0), None, None],
        ],
        "说明": [["填写说明"], ["1. 每天下班前填写"], ["2. 投诉当天回复"]],
    })


SERVICE_COLUMNS = {"单号": "complaint_id", "投诉日期": "received_at.date", "投诉时间": "received_at.time",
                   "渠道": "channel", "顾客姓名": "customer_name", "联系方式": "phone", "投诉内容": "content",
                   "处理人": "owner", "处理状态": "status", "回复时间": "first_reply_at", "解决时间": "resolved_at",
                   "处理结果": "resolution"}
SERVICE_FINDINGS = [("complaint_reply_due_soon", "投诉!K3"), ("duplicate_id", "投诉!B5")]

STORE_BOOKS = [
    (showroom, {"来店客户": "visitor_log"}, SHOWROOM_COLUMNS, SHOWROOM_FINDINGS),
    (delivery, {"交车登记": "delivery_log", "员工": "staff"}, DELIVERY_COLUMNS, DELIVERY_FINDINGS),
    (service_desk, {"投诉": "complaint_log"}, SERVICE_COLUMNS, SERVICE_FINDINGS),
]
