"""Quality rules for Chinese web pages: annotate (boilerplate lines out, quality_* columns), then decide.

Annotation is columnar: lines are split with one Arrow kernel over the batch, boilerplate lines
(navigation, copyright and ICP notices, "click here", share bars) are dropped by one combined
regex over all lines at once, CJK counts and lexicon hits are regex counts over the column, and
line/paragraph duplication and character n-gram repetition come from one numba pass over the
UTF-8 buffers (curation.clean.repetition). The lexicons target the spam of Chinese CommonCrawl:
online-casino brands and keywords injected into otherwise normal pages, adult content and
advertising. Thresholds are in ChineseRules (configs/clean/cc_zh.yaml `chinese:`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curation.clean.columns import as_text_column, count_chars, ratio, to_numpy
from curation.clean.decision import first_reason
from curation.clean.repetition import repetition_stats

# Online-casino brands and phrases of gambling SEO spam: one occurrence is enough.
GAMBLING_TERMS = [
    "威尼斯人", "现金网", "乐虎国际", "澳洲幸运", "幸运飞艇", "北京赛车", "时时彩", "六合彩", "百家乐",
    "真人荷官", "真人娱乐", "娱乐城", "老虎机", "电子游艺", "开元棋牌", "bet365", "bt365", "yabo",
    "亚博体育", "欧宝体育", "必威", "betway", "华体会", "贵宾会", "乐鱼体育", "爱游戏体育", "半岛体育",
    "海德体育", "币游国际", "ope体育", "新葡京", "金沙娱乐", "皇冠体育", "太阳城娱乐", "永利娱乐",
    "银河娱乐", "美高梅娱乐", "网上赌", "赌球", "外围投注",
]
# Words that news also uses (casino, betting): only many of them together count as gambling.
GAMBLING_CONTEXT_TERMS = ["赌场", "博彩", "赌博", "棋牌", "投注", "下注", "赔率", "盘口", "彩金"]
ADULT_TERMS = [
    "色情", "成人网站", "成人视频", "黄色网站", "一夜情", "约炮", "裸聊", "激情视频", "女优", "无码",
    "毛片", "援交", "三级片", "情色", "自拍偷拍", "porn",
]
AD_TERMS = [
    "代开发票", "发票代开", "办证", "刻章", "加微信", "加qq", "微信号", "qq号", "咨询热线", "刷单",
    "兼职日结", "免费领取", "立即购买", "点击购买", "包邮", "优惠券", "代孕", "私家侦探", "网赚",
    "无抵押贷款", "低价出售", "招代理", "诚招加盟",
]

# Line-level boilerplate. Start-anchored: navigation, share bars, "click here", page furniture.
_BOILERPLATE_START = [
    r"(?:网站)?首页\s*[>»/＞›|]", r"(?:当前|您的|你的|所在)位置", r"上一篇", r"下一篇", r"上一页", r"下一页",
    r"返回(?:顶部|首页|列表|上一页)", r"(?:查看)?更多\s*(?:>>|»|＞＞)", r"相关(?:文章|阅读|推荐|新闻)",
    r"(?:热门|猜你|推荐)(?:推荐|喜欢|阅读|文章|标签)", r"(?:TAG|Tag|tag)?标签[：:]", r"分享(?:到|至)",
    r"一键分享", r"(?:微信)?扫一扫", r"扫码关注", r"关注我们", r"关注微信", r"微信公众号", r"官方微博",
    r"收藏本站", r"加入收藏", r"设为首页", r"打印本页", r"关闭窗口", r"【(?:打印|关闭|收藏|返回)",
    r"字号[：:]?\s*[大中小]", r"点击(?:这里|此处|进入|查看|下载|阅读|浏览|量|数|率|次数)", r"浏览(?:量|次数)",
    r"阅读(?:量|数|次数)", r"责任编辑", r"(?:免费)?注册\s*\|?\s*登录", r"登录\s*\|?\s*(?:免费)?注册",
    r"[Cc]lick here", r"[Rr]ead more",
]
# Anywhere in a short line: copyright and licence notices.
_BOILERPLATE_ANYWHERE = [
    r"版权所有", r"[Cc]opyright", r"©", r"All [Rr]ights [Rr]eserved", r"ICP[备证]\s*[0-9]",
    r"公网安备\s*[0-9]",
    r"增值电信业务经营许可证", r"违法和不良信息举报", r"免责声明", r"转载请注明", r"版权声明", r"本站声明",
]
BOILERPLATE_RE2 = ("^\\s*(?:" + "|".join(_BOILERPLATE_START) + ")|" + "|".join(_BOILERPLATE_ANYWHERE))
# A "headline" line: 8-40 characters with no punctuation at all, at least half of them Han;
# pages made mostly of such lines are link lists and tag/related-article blocks. (Under 8
# characters: five- and seven-character verse lines, author names, short titles.)
_HEADLINE_RE2 = r"^[^，。！？；：、,.!?;:…]{8,40}$"
_HAN_RE2 = r"\p{Han}"
_SPACE_RE2 = r"[\s\x{3000}]"


@dataclass
class ChineseRules:
    """Thresholds of the Chinese web rules (one rejection reason each, checked in this order)."""

    gambling_terms: list[str] = field(default_factory=lambda: list(GAMBLING_TERMS))
    gambling_context_terms: list[str] = field(default_factory=lambda: list(GAMBLING_CONTEXT_TERMS))
    adult_terms: list[str] = field(default_factory=lambda: list(ADULT_TERMS))
    ad_terms: list[str] = field(default_factory=lambda: list(AD_TERMS))
    min_gambling_hits: int = 1  # "gambling": brand/spam terms ...
    min_gambling_context_hits: int = 5  # ... or this many casino/betting words
    min_adult_hits: int = 3  # "adult": news mentions 色情 once; adult pages repeat it
    min_ad_hits: int = 4  # "advertising"
    min_cjk_chars: int = 30  # "too_short": Han characters after boilerplate removal
    min_cjk_ratio: float = 0.05  # "low_cjk_ratio": Han / non-space characters
    max_dup_line_frac: float = 0.35  # "duplicate_lines": lines repeating an earlier line
    max_dup_paragraph_frac: float = 0.35  # "duplicate_paragraphs": blocks between blank lines
    ngram_chars: int = 10  # character n-gram size for the repetition score
    max_dup_ngram_char_frac: float = 0.8  # "char_repetition": chars inside repeated n-grams
    min_lines_for_link_list: int = 8  # "link_list" is judged only on pages with this many lines
    max_headline_line_frac: float = 0.6  # "link_list": share of headline-like lines ...
    max_headline_frac_unpunctuated: float = 0.4  # ... or this share when few lines end a sentence
    min_sentence_end_frac: float = 0.2  # lines ending with 。！？.!? (not "..." teasers)
    remove_boilerplate_lines: bool = True
    max_boilerplate_line_chars: int = 100  # longer lines are content even if they match


def _lexicon_re2(terms: list[str]) -> str:
    return "(?i)(?:" + "|".join(re.escape(t) for t in terms) + ")" if terms else "$^"


def _lines(texts: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """All lines of the batch as one flat array, and the row each line came from."""
    lists = pc.split_pattern(texts, "\n")
    return lists.flatten(), pc.list_parent_indices(lists).to_numpy()


def _join_lines(lines: pa.Array, parents: np.ndarray, keep: np.ndarray, num_rows: int) -> pa.Array:
    """Rebuild one text per row from the kept lines, in order, joined by newlines."""
    counts = np.bincount(parents[keep], minlength=num_rows)
    offsets = np.zeros(num_rows + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    lists = pa.LargeListArray.from_arrays(pa.array(offsets), lines.filter(pa.array(keep)))
    return pc.binary_join(lists, pa.scalar("\n", pa.large_string()))


def _per_row(mask: np.ndarray, parents: np.ndarray, num_rows: int) -> np.ndarray:
    return np.bincount(parents[mask], minlength=num_rows)





def annotate(texts: pa.Array, rules: ChineseRules) -> pa.Table:
    """Drop boilerplate lines and compute the quality_* columns of the Chinese web rules."""
    texts = as_text_column(texts)
    num_rows = len(texts)
    lines, parents = _lines(texts)
    line_chars = to_numpy(pc.utf8_length(lines))
    boilerplate = np.zeros(len(lines), dtype=bool)
    if rules.remove_boilerplate_lines and len(lines):
        boilerplate = to_numpy(pc.match_substring_regex(lines, BOILERPLATE_RE2)) & \
            (line_chars <= rules.max_boilerplate_line_chars)
        texts = _join_lines(lines, parents, ~boilerplate, num_rows)
    kept = ~boilerplate
    trimmed = pc.utf8_trim(lines, characters=" \t\u3000")
    han_per_line = count_chars(trimmed, _HAN_RE2)
    trimmed_chars = to_numpy(pc.utf8_length(trimmed))
    headline = (to_numpy(pc.match_substring_regex(trimmed, _HEADLINE_RE2)) & (2 * han_per_line >= trimmed_chars)
                & kept)
    nonempty = (trimmed_chars > 0) & kept

    stats = repetition_stats(texts, rules.ngram_chars)
    cjk = count_chars(texts, _HAN_RE2)
    nonspace = to_numpy(pc.utf8_length(texts)) - count_chars(texts, _SPACE_RE2)
    num_lines = _per_row(nonempty, parents, num_rows)
    columns = {
        "text": texts,
        "quality_boilerplate_lines": pa.array(_per_row(boilerplate, parents, num_rows).astype(np.int32)),
        "quality_num_chars": pc.utf8_length(texts).cast(pa.int64()),
        "quality_cjk_chars": pa.array(cjk.astype(np.int64)),
        "quality_cjk_ratio": ratio(cjk, nonspace),
        "quality_num_lines": pa.array(num_lines.astype(np.int32)),
        "quality_dup_line_frac": ratio(stats.dup_lines, stats.num_lines),
        "quality_dup_paragraph_frac": ratio(stats.dup_paragraphs, stats.num_paragraphs),
        "quality_dup_ngram_char_frac": ratio(stats.ngram_dup_chars, stats.nonspace_chars),
        "quality_sentence_end_frac": ratio(stats.sentence_end_lines, stats.num_lines),
        "quality_headline_line_frac": ratio(_per_row(headline, parents, num_rows), num_lines),
        "quality_gambling_hits": pc.count_substring_regex(texts, _lexicon_re2(rules.gambling_terms)),
        "quality_gambling_context_hits": pc.count_substring_regex(
            texts, _lexicon_re2(rules.gambling_context_terms)),
        "quality_adult_hits": pc.count_substring_regex(texts, _lexicon_re2(rules.adult_terms)),
        "quality_ad_hits": pc.count_substring_regex(texts, _lexicon_re2(rules.ad_terms)),
    }
    for name in ("quality_gambling_hits", "quality_gambling_context_hits", "quality_adult_hits",
                 "quality_ad_hits"):
        columns[name] = columns[name].cast(pa.int32())
    return pa.table(columns)


def decide(annotations: pa.Table, rules: ChineseRules) -> pa.Array:
    """The first failed rule per row as a reason string ('gambling', 'link_list', ...), null = keep."""
    a = {name: to_numpy(annotations.column(name)) for name in annotations.column_names
         if name.startswith("quality_")}
    link_list = (a["quality_num_lines"] >= rules.min_lines_for_link_list) & (
        (a["quality_headline_line_frac"] >= rules.max_headline_line_frac)
        | ((a["quality_headline_line_frac"] >= rules.max_headline_frac_unpunctuated)
           & (a["quality_sentence_end_frac"] < rules.min_sentence_end_frac)))
    checks = [
        ("gambling", (a["quality_gambling_hits"] >= rules.min_gambling_hits)
         | (a["quality_gambling_context_hits"] >= rules.min_gambling_context_hits)),
        ("adult", a["quality_adult_hits"] >= rules.min_adult_hits),
        ("advertising", a["quality_ad_hits"] >= rules.min_ad_hits),
        ("too_short", a["quality_cjk_chars"] < rules.min_cjk_chars),
        ("low_cjk_ratio", a["quality_cjk_ratio"] < rules.min_cjk_ratio),
        ("duplicate_lines", a["quality_dup_line_frac"] > rules.max_dup_line_frac),
        ("duplicate_paragraphs", a["quality_dup_paragraph_frac"] > rules.max_dup_paragraph_frac),
        ("char_repetition", a["quality_dup_ngram_char_frac"] > rules.max_dup_ngram_char_frac),
        ("link_list", link_list),
    ]
    return first_reason(checks, annotations.num_rows)

