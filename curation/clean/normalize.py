"""Unicode and whitespace normalization of a text column, without NFKC.

NFKC would fold Chinese full-width punctuation (，。！？：) to ASCII and CJK compatibility
ideographs to their unified forms; the 120K tokenizer is trained on the text as written, so we
only do what is safe: repair invalid UTF-8 and broken surrogates, drop control, format and
private-use characters, unify exotic spaces and line breaks, strip trailing whitespace (never
leading: code indentation is meaning), collapse runs of blank lines, repair detectable mojibake
(UTF-8 read as cp1252/latin-1, and GBK/GB18030 Chinese read as cp1252/latin-1) and compose
combining marks (NFC) on rows without CJK compatibility ideographs. Everything is a
pyarrow.compute regex kernel over the column except the rare rows that need repair, which are
found by a columnar test first.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

# Removed: C0 controls except \t \n (and \v \f, turned into line breaks below), DEL and C1
# controls except NEL, BOM / zero-width space / word joiner / soft hyphen, noncharacters and the
# private-use area (unmapped GBK code points land there; they carry no text).
_CONTROL = (r"[\x{0000}-\x{0008}\x{000E}-\x{001F}\x{007F}-\x{0084}\x{0086}-\x{009F}"
            r"\x{00AD}\x{200B}\x{2060}\x{FEFF}\x{FFFE}\x{FFFF}\x{E000}-\x{F8FF}]")
_LINE_BREAKS = r"\r\n?|[\x{000B}\x{000C}\x{0085}\x{2028}\x{2029}]"
# Non-breaking and typographic spaces become ' '; U+3000 (ideographic space) stays inside lines.
_ODD_SPACES = r"[\x{00A0}\x{1680}\x{2000}-\x{200A}\x{202F}\x{205F}]"
_TRAILING_SPACE = r"[ \t\x{3000}]+\n"
_BLANK_RUNS = r"\n{3,}"
_LEADING_BLANK_LINES = r"^(?:[ \t\x{3000}]*\n)+"
_TRAILING_SPACE_AT_END = r"\s+$"
_COMBINING = r"\p{Mn}"
_CJK_COMPAT = r"[\x{F900}-\x{FAFF}\x{2F800}-\x{2FA1F}]"

# UTF-8 bytes decoded as cp1252: a lead byte (Â..ô) followed by 1-3 characters that cp1252 or
# latin-1 maps to continuation bytes 0x80-0xBF.
_CP1252_CONTINUATION = "\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc" \
                       "\u2013\u2014\u2018-\u201a\u201c-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a" \
                       "\u20ac\u2122"


def _re2_class(body: str) -> str:
    """A Python character-class body of characters and "a-b" ranges, as an RE2 class body."""
    out, i = [], 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            out.append(f"\\x{{{ord(body[i]):04X}}}-\\x{{{ord(body[i + 2]):04X}}}")
            i += 3
        else:
            out.append(f"\\x{{{ord(body[i]):04X}}}")
            i += 1
    return "".join(out)


_MOJIBAKE_RE2 = "[" + _re2_class("\u00c2-\u00f4") + "][" + _re2_class(_CP1252_CONTINUATION) + "]"
_MOJIBAKE_PY = re.compile(f"[\u00c2-\u00f4][{_CP1252_CONTINUATION}]{{1,3}}")
# GBK/GB18030 bytes decoded as cp1252/latin-1: every Han character becomes two characters of
# U+0080-U+00FF (or cp1252's specials), so the text shows runs of them ("ÖÐÎÄ" for 中文). A run of
# four is the columnar test. The Python check then wants a segment (a stretch of characters
# cp1252/latin-1 can produce) where such characters are most of the text (European text has an
# accent here and there), a good share of them latin-1 symbols "¡".."¿" (a third of GB2312's
# trail bytes fall there, no European letter does: a listing like "ÀÁÂÃÄÅ" stays), bytes that
# are not valid UTF-8 (those are the other repair's), and a strict GB18030 decoding into CJK.
_ENCODABLE = "\u0000-\u00ff\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc" \
             "\u2013\u2014\u2018-\u201a\u201c-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122"
_HIGH = "\u0080-\u00ff" + _ENCODABLE[len("\u0000-\u00ff"):]
_GBK_RUN_RE2 = "[" + _re2_class(_HIGH) + "]{4}"
_ENCODABLE_SEGMENT = re.compile(f"[{_ENCODABLE}]+")
_HIGH_CHAR = re.compile(f"[{_HIGH}]")
_LATIN1_SYMBOL = re.compile("[\u00a1-\u00bf]")
_CJK = re.compile("[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
_MIN_GBK_HIGH_CHARS = 8  # four Han characters at least
_MIN_GBK_HIGH_SHARE = 0.3  # of the segment's non-space characters
_MIN_GBK_SYMBOL_SHARE = 0.1  # of the high characters: "¡".."¿"
_MIN_GBK_CJK_SHARE = 0.9  # of the decoded non-ASCII characters
_SURROGATES = re.compile("[\ud800-\udfff]")
_SURROGATE_PAIR = re.compile("([\ud800-\udbff])([\udc00-\udfff])")


def repair_mojibake(text: str) -> str:
    """Undo UTF-8-read-as-cp1252 runs (e.g. 'â€™' -> '’', 'Ã©' -> 'é'); leave anything else as is."""
    def fix(match: re.Match) -> str:
        run = match.group(0)
        raw = bytearray()
        for ch in run:
            try:
                raw += ch.encode("cp1252")
            except UnicodeEncodeError:
                raw += ch.encode("latin-1")  # cp1252's five holes (0x81, 0x8d, ...) are latin-1
        try:
            fixed = raw.decode("utf-8")
        except UnicodeDecodeError:
            return run
        # One character, and not Arabic..NKo (U+0600-U+08FF): in English and Chinese pages "Ø" and
        # a continuation byte is a Wingdings bullet ("Ø\xa0" from Word), not an Arabic letter.
        return fixed if len(fixed) == 1 and not 0x600 <= ord(fixed) < 0x900 else run

    return _MOJIBAKE_PY.sub(fix, text)


def _cp1252_bytes(text: str) -> bytes:
    """The bytes a cp1252 decoder (latin-1 for its five holes, or a latin-1 one) read as this text."""
    return b"".join(ch.encode("latin-1") if ord(ch) < 0x100 else ch.encode("cp1252") for ch in text)


def repair_gbk_mojibake(text: str) -> str:
    """Undo GBK/GB18030 Chinese read as cp1252/latin-1 ('ÖÐÎÄ' -> '中文'); leave anything else as is."""
    def fix(match: re.Match) -> str:
        segment = match.group(0)
        high = len(_HIGH_CHAR.findall(segment))
        if (high < _MIN_GBK_HIGH_CHARS or high < _MIN_GBK_HIGH_SHARE * len("".join(segment.split()))
                or len(_LATIN1_SYMBOL.findall(segment)) < _MIN_GBK_SYMBOL_SHARE * high):
            return segment
        raw = _cp1252_bytes(segment)
        try:
            raw.decode("utf-8")
            return segment  # UTF-8 read as cp1252: repair_mojibake's case
        except UnicodeDecodeError:
            pass
        try:
            fixed = raw.decode("gb18030")
        except UnicodeDecodeError:
            return segment
        non_ascii = sum(1 for ch in fixed if ord(ch) >= 0x80)
        cjk = len(_CJK.findall(fixed))
        return fixed if non_ascii and cjk >= _MIN_GBK_CJK_SHARE * non_ascii else segment

    return _ENCODABLE_SEGMENT.sub(fix, text)


def repair_surrogates(text: str) -> str:
    """Join surrogate pairs into the character they encode and drop lone surrogates."""
    if not _SURROGATES.search(text):
        return text
    text = _SURROGATE_PAIR.sub(
        lambda m: chr(0x10000 + ((ord(m.group(1)) - 0xD800) << 10) + (ord(m.group(2)) - 0xDC00)), text)
    return _SURROGATES.sub("", text)


def decode_utf8(raw: bytes) -> str:
    """Decode bytes that should be UTF-8: encoded surrogates (CESU-8) joined or dropped, bad bytes dropped."""
    try:
        return repair_surrogates(raw.decode("utf-8", "surrogatepass"))
    except UnicodeDecodeError:
        return raw.decode("utf-8", "ignore")


def valid_utf8(texts: pa.Array) -> pa.Array:
    """The column as a valid large_string array: rows with invalid UTF-8 are decoded leniently."""
    texts = texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts
    try:
        texts.validate(full=True)
        return texts.cast(pa.large_string())
    except pa.ArrowInvalid:
        raw = texts.view(pa.large_binary() if pa.types.is_large_string(texts.type) else pa.binary())
        return pa.array([None if b is None else decode_utf8(b) for b in raw.to_pylist()], pa.large_string())


def _repair_rows(texts: pa.Array, mask: pa.Array, repair) -> pa.Array:
    """Apply a per-row Python repair only to the rows where mask is true (found columnar)."""
    rows = pc.indices_nonzero(mask).to_pylist()
    if not rows:
        return texts
    values = texts.to_pylist()
    for i in rows:
        values[i] = repair(values[i])
    return pa.array(values, pa.large_string())


def normalize_texts(texts: pa.Array, repair_mojibake_runs: bool = True) -> pa.Array:
    """Normalize a text column (see the module docstring); returns a large_string array."""
    out = valid_utf8(texts)
    if repair_mojibake_runs:
        # GBK first: the UTF-8 repair would turn pairs inside GBK mojibake into stray letters
        # ("Ä±" -> "ı"); GBK's leaves segments that are valid UTF-8 to it.
        out = _repair_rows(out, pc.fill_null(pc.match_substring_regex(out, _GBK_RUN_RE2), False),
                           repair_gbk_mojibake)
        out = _repair_rows(out, pc.fill_null(pc.match_substring_regex(out, _MOJIBAKE_RE2), False),
                           repair_mojibake)
    out = pc.replace_substring_regex(out, _LINE_BREAKS, "\n")
    out = pc.replace_substring_regex(out, _CONTROL, "")
    out = pc.replace_substring_regex(out, _ODD_SPACES, " ")
    out = pc.replace_substring_regex(out, _TRAILING_SPACE, "\n")
    out = pc.replace_substring_regex(out, _BLANK_RUNS, "\n\n")
    out = pc.replace_substring_regex(out, _LEADING_BLANK_LINES, "")
    out = pc.replace_substring_regex(out, _TRAILING_SPACE_AT_END, "")
    composable = pc.and_(pc.match_substring_regex(out, _COMBINING),
                         pc.invert(pc.match_substring_regex(out, _CJK_COMPAT)))
    composable = pc.fill_null(composable, False)
    if pc.any(composable).as_py():
        out = pc.if_else(composable, pc.utf8_normalize(out, form="NFC"), out)
    return out


def normalize_text(text: str, repair_mojibake_runs: bool = True) -> str:
    """Normalize one string (surrogates repaired first): the column function on a one-row column."""
    return normalize_texts(pa.array([repair_surrogates(text)], pa.large_string()),
                           repair_mojibake_runs)[0].as_py()
