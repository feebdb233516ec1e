"""Normalization keeps Chinese punctuation, traditional characters and code indentation."""

import re

import pyarrow as pa
import pyarrow.compute as pc
from clean_samples import code_table, jsonl_table

from curation.clean.normalize import (
    decode_utf8,
    normalize_text,
    normalize_texts,
    repair_gbk_mojibake,
    repair_mojibake,
    repair_surrogates,
)

FULL_WIDTH = "，。！？：；“”‘’（）《》「」『』【】、…—ＶＩＰ２０１２"


def _counts(texts: pa.Array, chars: str) -> list[int]:
    return [pc.sum(pc.count_substring(texts, c)).as_py() for c in chars]


def test_chinese_full_width_punctuation_and_traditional_characters_survive():
    # rows 1128+ are the Complete Tang Poems, in traditional characters
    poetry = jsonl_table("zh_bulk/chinese_poetry.jsonl", "poetry", limit=1300).column("text").combine_chunks()
    sogou = jsonl_table("zh_web/sogou/news_sohusite_smarty.jsonl", "sogou").column("text").combine_chunks()
    for texts in (poetry, sogou):
        out = normalize_texts(texts)
        assert _counts(out, FULL_WIDTH) == _counts(texts, FULL_WIDTH)
        han = pc.sum(pc.count_substring_regex(texts, r"\p{Han}")).as_py()
        assert pc.sum(pc.count_substring_regex(out, r"\p{Han}")).as_py() == han
    # traditional characters stay traditional (no conversion, no NFKC)
    tang = [t for t in poetry.to_pylist() if "鵬" in t or "歸" in t or "風" in t]
    assert tang and all(normalize_text(t).count("風") == t.count("風") for t in tang)
    assert "ＶＩＰ" in " ".join(normalize_texts(sogou).to_pylist())


def test_code_indentation_and_tabs_are_kept():
    table = code_table(limit=400)
    texts = table.column("text").combine_chunks()
    out = normalize_texts(texts)
    checked = 0
    for before, after in zip(texts.to_pylist(), out.to_pylist()):
        if "\r" in before or "\x0c" in before:
            continue
        indents = [re.match(r"[ \t]*", line).group(0) for line in before.rstrip().split("\n") if line.strip()]
        assert [re.match(r"[ \t]*", line).group(0) for line in after.split("\n") if line.strip()] == indents
        checked += 1
    assert checked > 300


def test_control_characters_broken_surrogates_and_odd_spaces_go():
    text = "\ufeff第一行\x00\x07\u200b内容\u00a0end  \r\n\r\n\r\n\r\n第二段\u3000\n\x0b\tcode()\u2028最后"
    assert normalize_text(text) == "第一行内容 end\n\n第二段\n\n\tcode()\n最后"
    assert repair_surrogates("a\ud83d\ude00b\udc00c") == "a😀bc"
    assert decode_utf8(b"ok\xed\xa0\xbd\xed\xb8\x80!") == "ok😀!"  # CESU-8 pair joined
    invalid = pa.array([b"bad \xed\xa0\x80 surrogate", b"fine"], pa.binary()).view(pa.string())
    assert normalize_texts(invalid).to_pylist() == ["bad  surrogate", "fine"]


def _as_cp1252(text: str) -> str:
    """What a UTF-8 text looks like when read as cp1252 (undefined bytes shown as latin-1)."""
    out = []
    for byte in text.encode("utf-8"):
        try:
            out.append(bytes([byte]).decode("cp1252"))
        except UnicodeDecodeError:
            out.append(chr(byte))
    return "".join(out)


def test_mojibake_from_real_english_text_is_repaired():
    pages = jsonl_table("en_books/gutenberg.jsonl", "books", limit=20).column("text").to_pylist()
    paragraphs = [p for page in pages for p in page.split("\n\n") if re.search("[’“”é—]", p)][:50]
    assert len(paragraphs) >= 10
    for paragraph in paragraphs:
        broken = _as_cp1252(paragraph)
        assert broken != paragraph
        assert repair_mojibake(broken) == paragraph
    assert repair_mojibake("itâ€™s cafÃ© naÃ¯ve") == "it’s café naïve"
    assert repair_mojibake("Ã la carte 50Â°") == "Ã la carte 50°"  # 'Ã ' is not a UTF-8 sequence
    assert normalize_text("donâ€™t") == "don’t"
    # the columnar test finds runs without cp1252's specials too (text decoded as latin-1) ...
    assert normalize_text("cafÃ© naÃ¯ve, 50Â°") == "café naïve, 50°"
    # ... and a Word bullet before a no-break space in a Chinese page is no Arabic letter
    assert normalize_text("温馨提示：Ø\xa0领取经验卡") == "温馨提示：Ø 领取经验卡"


def test_gbk_chinese_read_as_latin1_or_cp1252_is_repaired():
    texts = ["标题\n\n正文第一段。第二句话在这里。\n作者：张三", "Python 3.11 发布了新版本：性能提升 25%，详见官网。",
             "丂丄丅丆丏 是 GBK 扩展区的字符。"]  # lead bytes 0x81: C1 controls after latin-1
    for text in texts:
        for encoding, wrong in (("gbk", "latin-1"), ("gbk", "cp1252"), ("gb18030", "latin-1")):
            try:
                broken = text.encode(encoding).decode(wrong)
            except UnicodeDecodeError:
                continue  # cp1252 cannot decode 0x81: such a page comes out with U+FFFD, beyond repair
            assert broken != text and normalize_text(broken) == text
    # UTF-8 Chinese read as cp1252 stays the UTF-8 repair's, even though it would decode as GBK too
    assert normalize_text(_as_cp1252("中文编码错误的例子")) == "中文编码错误的例子"


def test_european_text_and_latin1_tables_are_not_taken_for_gbk():
    for text in ["Größe, Übergröße, schön, für Mädchen und Jungen. Ça a été déjà vu à la fête.",
                 "Íslenska: Ég á góðan dag í dag. Þú ert mjög góður vinur minn.",
                 "ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖ×ØÙÚÛÜÝÞß àáâãäåæçèéêëìíîïðñòóôõö÷øùúûüýþÿ",
                 "¡¢£¤¥¦§¨©ª«¬®¯°±²³´µ¶·¸¹º»¼½¾¿ ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏ",
                 "ÖÐÎÄ"]:  # two characters' worth: too little to tell
        assert repair_gbk_mojibake(text) == text


def test_combining_marks_compose_but_cjk_compatibility_ideographs_do_not():
    assert normalize_text("cafe\u0301") == "caf\u00e9"
    assert normalize_text("e\u0301 \uf900") == "e\u0301 \uf900"  # NFC would rewrite U+F900
