"""DOMAIN.md "How stores really fill in the sheets": one table test per convention."""

from __future__ import annotations

import opencc
import pytest

from scripts.textnorm import fold


@pytest.mark.parametrize("text", [
    "陳曉燕 聯繫電話 來店時間 處理狀態 已購他牌 回覆 崗位 戰敗 訂車日期 企業微信賬號",
    "客戶滿意度 協辦部門 工單時限 試乘試駕登記表 駕駛證號 年齡 職業 聯系地址 顧問簽字 三日回訪",
])
def test_fold_is_opencc_t2s_character_by_character(text):
    # 回覆 -> 回复 is one of OpenCC's phrase rules (覆 alone stays 覆): a 1->1 table cannot follow it,
    # so the schemas list 回覆 spellings as aliases.
    text = text.replace("回覆", "")
    expected = opencc.OpenCC("t2s").convert(text).replace(" ", "")
    assert fold(text) == expected.casefold()


def test_fold_matches_traditional_name_to_simplified_staff_list():
    assert fold("陳曉燕") == fold("陈晓燕")
    assert fold("劉婷") == fold("刘婷")
    assert fold("鄧麗君") != fold("邓丽")
