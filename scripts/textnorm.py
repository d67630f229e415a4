"""Folding of header cells, choice values and staff names so that the forms staff really type match.

Sheets come from mainland stores (Simplified Chinese), from Hong Kong/Taiwan templates (Traditional),
from WPS with full-width brackets, and from documents that went through a converter which left pinyin
readings in brackets behind ambiguous characters (``登記時(shí)間``). All of these fold to one key.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Traditional -> Simplified for the characters of the built-in tables, their choices and common
# surnames. A store whose own headers use other traditional characters adds them as aliases.
_T2S_PAIRS = (
    "來来 個个 偉伟 備备 內内 別别 協协 單单 嚴严 員员 問问 報报 專专 廳厅 張张 復复 態态 戰战 戶户 業业 機机 會会 無无 滿满 "
    "狀状 時时 簽签 級级 結结 經经 緊紧 編编 聯联 繫系 職职 處处 號号 見见 記记 訪访 訴诉 試试 話话 說说 調调 謝谢 證证 負负 "
    "責责 車车 辦办 進进 選选 郵邮 銷销 錄录 門门 閉闭 間间 關关 電电 題题 類类 顧顾 駕驾 駛驶 齡龄 長长 東东 傳传 請请 檢检 "
    "數数 據据 寫写 與与 們们 於于 為为 從从 務务 購购 賣卖 價价 貨货 場场 區区 黃黄 劉刘 陳陈 楊杨 趙赵 吳吴 孫孙 鄭郑 馮冯 "
    "鄧邓 許许 蕭萧 韓韩 歲岁 齊齐 寶宝 實实 際际 驗验 將将 過过 還还 這这 對对 開开 發发 動动 後后 裡里 點点 兩两 週周 鐘钟 "
    "訂订 註注 給给 應应 戲戏 認认 識识 質质 訊讯 談谈 約约 線线 網网 帳账 碼码 義义 響响 雜杂 雙双 離离 難难 顏颜 風风 飛飞 "
    "馬马 魚鱼 鳥鸟 麗丽 龍龙 華华 葉叶 蘇苏 園园 圖图 團团 壓压 夢梦 學学 寧宁 層层 嶺岭 廣广 徑径 愛爱 慶庆 憶忆 擔担 攝摄 "
    "敗败 斷断 書书 條条 樓楼 標标 樣样 櫃柜 權权 歡欢 氣气 滬沪 溝沟 漢汉 潔洁 濤涛 燈灯 爾尔 猶犹 獎奖 環环 現现 畫画 當当 "
    "療疗 盡尽 盧卢 碩硕 確确 禮礼 種种 穩稳 窮穷 競竞 筆笔 節节 範范 簡简 紀纪 紅红 納纳 純纯 紙纸 細细 紹绍 終终 組组 統统 "
    "絲丝 綠绿 維维 綜综 總总 績绩 續续 聲声 聽听 腦脑 興兴 舉举 艱艰 藝艺 蘭兰 衛卫 補补 裝装 複复 覺觉 親亲 觀观 規规 討讨 "
    "訓训 託托 評评 詞词 詢询 該该 詳详 誤误 誠诚 論论 議议 護护 讓让 變变 貝贝 財财 貴贵 費费 資资 賓宾 賞赏 贈赠 趕赶 軍军 "
    "軟软 載载 輕轻 輛辆 輸输 轉转 農农 運运 達达 遠远 適适 遲迟 邊边 鄉乡 醫医 釋释 針针 鈴铃 銀银 錢钱 錯错 鍵键 鎮镇 閒闲 "
    "閱阅 陽阳 陰阴 隊队 階阶 隨随 險险 雖虽 雲云 靈灵 韋韦 頁页 項项 順顺 預预 領领 頭头 頻频 額额 願愿 飯饭 館馆 體体 鬆松 "
    "鬧闹 齒齿 乾干 亂乱 僅仅 優优 兒儿 冊册 劃划 勞劳 勢势 厲厉 參参 嗎吗 嘗尝 噸吨 圍围 塊块 壞坏 壽寿 夠够 奪夺 奮奋 婦妇 "
    "媽妈 寬宽 導导 屬属 島岛 幣币 師师 帶带 幫帮 庫库 廢废 彈弹 徵征 慣惯 懷怀 拋抛 掛挂 掃扫 換换 揮挥 損损 搶抢 擁拥 擇择 "
    "擊击 擴扩 擺摆 攜携 敵敌 斬斩 暫暂 曆历 曉晓 樂乐 歸归 歷历 殘残 殼壳 決决 沒没 況况 淺浅 減减 測测 湯汤 準准 溫温 滅灭 "
    "漲涨 潤润 澤泽 濟济 災灾 烏乌 煙烟 熱热 爭争 牆墙 獨独 獲获 產产 畢毕 異异 瘋疯 盤盘 眾众 礎础 禍祸 積积 稱称 穀谷 筍笋 "
    "築筑 糧粮 練练 縣县 縮缩 罰罚 習习 聖圣 肅肃 脅胁 腳脚 臉脸 臨临 臺台 舊旧 艦舰 藥药 蟲虫 術术 襯衬 設设 診诊 証证 譯译 "
    "讀读 貿贸 賀贺 賬账 賽赛 贊赞 輪轮 辭辞 邏逻 鄰邻 鋼钢 鍋锅 鏡镜 鐵铁 閃闪 閣阁 闆板 闖闯 陣阵 陸陆 隻只 雞鸡 霧雾 靜静 "
    "頂顶 須须 頒颁 顯显 飄飘 養养 餘余 駐驻 騎骑 驚惊 髮发 鬥斗 魯鲁 鮮鲜 鳳凤 鴨鸭 鹽盐 麥麦 黨党 蘋苹"
)
_T2S = str.maketrans({pair[0]: pair[1] for pair in _T2S_PAIRS.split()})

# A pinyin reading with at least one tone mark, in brackets: "(shí)", "(lián)". "(required)" has no
# tone mark and is left alone.
_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
_PINYIN = re.compile(rf"\((?=[a-zü{_TONED}]*[{_TONED}])[a-zü{_TONED}]+\)")
_SPACE = re.compile(r"\s+")
_TRAILING_NOTE = re.compile(r"\([^()]*\)$")


@lru_cache(maxsize=8192)  # the same names and choices repeat down a log
def fold(text: str) -> str:
    """The matching key of a header, choice or name: width, case, script, spaces and pinyin folded."""
    text = unicodedata.normalize("NFKC", str(text))
    text = _PINYIN.sub("", text)
    text = _SPACE.sub("", text)
    return text.casefold().translate(_T2S)


def header_keys(header: str) -> tuple[str, ...]:
    """The keys a header cell may match under, most specific first.

    Leading/trailing ``*`` marks and a trailing note such as （必填） or (required) are dropped for the
    second key, so ``*聯系電話（必填）`` matches ``聯系電話``.
    """
    full = fold(header).strip("*")
    keys = [full]
    bare = full
    while True:
        shorter = _TRAILING_NOTE.sub("", bare).strip("*")
        if shorter == bare or not shorter:
            break
        bare = shorter
        keys.append(bare)
    return tuple(dict.fromkeys(k for k in keys if k))
