"""spaCy 3's English tokenizer rules, restated: how one whitespace-free chunk splits into words.

spaCy cuts a chunk by prefix, suffix and infix regexes, keeps exceptions ("don't" -> "do", "n't";
"Mr." stays whole) and URLs whole, then re-merges affix pieces that spell an exception ("):").
This module has those rules (spaCy's English defaults; letter and symbol classes from Unicode
categories instead of spaCy's hand-written ranges) and `split_chunk`, a line-by-line port of
`Tokenizer._split_affixes`, `_attach_tokens` and `_apply_special_cases`.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache


def _char_class(categories: tuple[str, ...], extra: str = "") -> str:
    """A regex character-class body of every BMP character in the given Unicode categories."""
    body, start, prev = [], None, None
    for cp in range(0x10000):
        hit = unicodedata.category(chr(cp)) in categories and not 0xD800 <= cp < 0xE000
        if hit and start is None:
            start = cp
        if not hit and start is not None:
            body.append(re.escape(chr(start)) + ("-" + re.escape(chr(prev)) if prev > start else ""))
            start = None
        prev = cp
    if start is not None:
        body.append(re.escape(chr(start)) + ("-" + re.escape(chr(prev)) if prev > start else ""))
    return "".join(body) + extra


_CJK_EXT = "\U00020000-\U0002ebef"
_LETTERS = ("Lu", "Ll", "Lt", "Lm", "Lo")
_ALPHA = _char_class(_LETTERS, _CJK_EXT)
_LOWER = _char_class(("Ll", "Lm", "Lo"), _CJK_EXT)  # uncased scripts count as both cases in spaCy
_UPPER = _char_class(("Lu", "Lt", "Lm", "Lo"), _CJK_EXT)
_ICONS = _char_class(("So",), "\U0001f000-\U0001faff")
_PUNCT = r"… …… , : ; \! \? ¿ ؟ ¡ \( \) \[ \] \{ \} < > _ # \* & 。 ？ ！ ， 、 ； ： ～ · । ، ۔ ؛ ٪".split()
_QUOTES = r"\' \" ” “ ` ‘ ´ ’ ‚ , „ » « 「 」 『 』 （ ） 〔 〕 【 】 《 》 〈 〉 〈 〉 ⟦ ⟧".split()
_CURRENCY = (
    r"\$ £ € ¥ ฿ US\$ C\$ A\$ ₽ ﷼ ₴ ₠ ₡ ₢ ₣ ₤ ₥ ₦ ₧ ₨ ₩ ₪ ₫ € ₭ ₮ ₯ ₰ ₱ ₲ ₳ ₴ ₵ ₶ ₷ ₸ ₹ ₺ ₻ ₼ ₽ ₾ "
    r"₿"
).split()
_UNITS = (
    "km km² km³ m m² m³ dm dm² dm³ cm cm² cm³ mm mm² mm³ ha µm nm yd in ft kg g mg µg t lb oz m/s "
    "km/h kmh mph hPa Pa mbar mb MB kb KB gb GB tb TB T G M K % км км² км³ м м² м³ дм дм² дм³ см "
    "см² см³ мм мм² мм³ нм кг г мг м/с км/ч кПа Па мбар Кб КБ кб Мб МБ мб Гб ГБ гб Тб ТБ тб"
).split()
_HYPHENS = "-|–|—|--|---|——|~"
_ELLIPSES = [r"\.\.+", "…"]
_Q = "".join(_QUOTES)
_AFFIX_ICONS = [f"[{_ICONS}]"]

_PREFIXES = ["§", "%", "=", "—", "–", r"\+(?![0-9])"] + _PUNCT + _ELLIPSES + _QUOTES + _CURRENCY + _AFFIX_ICONS
_SUFFIXES = (
    _PUNCT
    + _ELLIPSES
    + _QUOTES
    + _AFFIX_ICONS
    + ["'s", "'S", "’s", "’S", "—", "–"]
    + [
        r"(?<=[0-9])\+",
        r"(?<=°[FfCcKk])\.",
        r"(?<=[0-9])(?:{})".format("|".join(_CURRENCY)),
        r"(?<=[0-9])(?:{})".format("|".join(_UNITS)),
        # spaCy writes PUNCT and "(?:quotes)" inside this class, so "|", "(", "?", ":" and ")" are members
        r"(?<=[0-9{al}%²\-\+{p}(?:{q})])\.".format(al=_LOWER, p="|".join(_PUNCT), q=_Q),
        rf"(?<=[{_UPPER}][{_UPPER}])\.",
    ]
)
_INFIXES = (
    _ELLIPSES
    + _AFFIX_ICONS
    + [
        r"(?<=[0-9])[+\-\*^](?=[0-9-])",
        rf"(?<=[{_LOWER}{_Q}])\.(?=[{_UPPER}{_Q}])",
        rf"(?<=[{_ALPHA}]),(?=[{_ALPHA}])",
        rf"(?<=[{_ALPHA}0-9])(?:{_HYPHENS})(?=[{_ALPHA}])",
        rf"(?<=[{_ALPHA}0-9])[:<>=/](?=[{_ALPHA}])",
    ]
)
_prefix_match = re.compile("|".join(_PREFIXES)).match
_suffix_search = re.compile("|".join(p + "$" for p in _SUFFIXES)).search
_TAIL = 12  # longer than any suffix but a run of dots, plus the 2 characters a lookbehind reads


def _suffix_length(text: str) -> int:
    """Length of spaCy's suffix match at the end of text, searching only its tail when that is safe."""
    tail = text[-_TAIL:]
    match = _suffix_search(tail)
    if match and match.start() == 0 and len(text) > _TAIL:  # a run of dots may go on to the left
        match = _suffix_search(text)
    return match.end() - match.start() if match else 0


_infix_finditer = re.compile("|".join(_INFIXES)).finditer
# spaCy's URL_MATCH (after Diego Perini's URL regex), with our lower-case letter class for the TLD.
_url_match = re.compile(
    r"(?u)^(?:(?:[\w\+\-\.]{2,})://)?(?:\S+(?::\S*)?@)?(?:(?!(?:10|127)(?:\.\d{1,3}){3})"
    r"(?!(?:169\.254|192\.168)(?:\.\d{1,3}){2})(?!172\.(?:1[6-9]|2\d|3[0-1])(?:\.\d{1,3}){2})"
    r"(?:[1-9]\d?|1\d\d|2[01]\d|22[0-3])(?:\.(?:1?\d{1,2}|2[0-4]\d|25[0-5])){2}"
    r"(?:\.(?:[1-9]\d?|1\d\d|2[0-4]\d|25[0-4]))|(?:(?:[A-Za-z0-9\u00a1-\uffff][A-Za-z0-9\u00a1-\uffff_-]{0,62})?"
    r"[A-Za-z0-9\u00a1-\uffff]\.)+(?:[" + _LOWER + r"]{2,63}))(?::\d{2,5})?(?:[/?#]\S*)?$"
).match

_EMOTICONS = (
    r"(*_*) (-8 (-: (-; (-_-) (._.) (: (; (= (>_<) (^_^) (o: (¬_¬) (ಠ_ಠ) (╯°□°）╯︵┻━┻ )-: ): -_- -__- ._. 0.0 "
    r"0.o 0_0 0_o 8) 8-) 8-D 8D :'( :') :'-( :'-) :( :(( :((( :() :) :)) :))) :* :-( :-(( :-((( :-) :-)) "
    r":-))) :-* :-/ :-0 :-3 :-> :-D :-O :-P :-X :-] :-o :-p :-x :-| :-} :/ :0 :1 :3 :> :D :O :P :X :] :o "
    r":o) :p :x :| :} ;) ;-) ;-D ;D ;_; <.< </3 <3 <33 <333 =( =) =/ =3 =D =[ =] =| >.< >.> >:( >:o "
    r"><(((*> @_@ O.O O.o O_O O_o V.V V_V XD XDD [-: [: [= ]= ^_^ ^__^ ^___^ o.0 o.O o.o o_0 o_O o_o v.v "
    r"v_v xD xDD ¯\(ツ)/¯ ಠ_ಠ ಠ︵ಠ"
)
_ABBREVIATIONS = (
    "Mt. Ak. Ala. Apr. Ariz. Ark. Aug. Calif. Colo. Conn. Dec. Del. Feb. Fla. Ga. Ia. Id. Ill. Ind. Jan. "
    "Jul. Jun. Kan. Kans. Ky. La. Mar. Mass. Mich. Minn. Miss. N.C. N.D. N.H. N.J. N.M. N.Y. Neb. Nebr. "
    "Nev. Nov. Oct. Okla. Ore. Pa. S.C. Sep. Sept. Tenn. Va. Wash. Wis. 'd a.m. Adm. Bros. co. Co. Corp. "
    "D.C. Dr. e.g. E.g. E.G. Gen. Gov. i.e. I.e. I.E. Inc. Jr. Ltd. Md. Messrs. Mo. Mont. Mr. Mrs. Ms. "
    "p.m. Ph.D. Prof. Rep. Rev. Sen. St. vs. v.s. 'S 's ‘S ‘s and/or w/o 're 'Cause 'cause 'cos 'Cos "
    "'coz 'Coz 'cuz 'Cuz 'bout ma'am Ma'am o'clock O'clock lovin' Lovin' lovin Lovin havin' Havin' "
    "havin Havin doin' Doin' doin Doin goin' Goin' goin Goin em 'em ll 'll nuff 'nuff "
    "' '' C++ <space> \\t \\n \\\") ä. ö. ü. — " + " ".join(f"{c}." for c in "abcdefghijklmnopqrstuvwxyz")
)
_EXCLUDED = set("Ill ill Its its Hell hell Shell shell Shed shed were Were Well well Whore whore".split())


@cache
def special_cases() -> dict[str, tuple[str, ...]]:
    """spaCy's English tokenizer exceptions: chunk -> its tokens (ASCII and typographic apostrophes)."""
    exc: dict[str, tuple[str, ...]] = {}

    def add(*parts: str) -> None:
        exc["".join(parts)] = parts

    def cased(word: str) -> tuple[str, str]:
        return word, word.title()

    for orth in cased("i"):
        add(orth, "'m"), add(orth, "m"), add(orth, "'m", "a"), add(orth, "m", "a")
    for pron in ["i", "you", "he", "she", "it", "we", "they"]:
        for orth in cased(pron):
            add(orth, "'ll"), add(orth, "ll"), add(orth, "'ll", "'ve"), add(orth, "ll", "ve")
            add(orth, "'d"), add(orth, "d"), add(orth, "'d", "'ve"), add(orth, "d", "ve")
            if pron in ("i", "you", "we", "they"):
                add(orth, "'ve"), add(orth, "ve")
            if pron in ("you", "we", "they"):
                add(orth, "'re"), add(orth, "re")
            if pron in ("he", "she", "it"):
                add(orth, "'s"), add(orth, "s")
    for word in "who what when where why how there that this these those".split():
        for orth in cased(word):
            if word not in ("these", "those"):
                add(orth, "'s"), add(orth, "s")
            add(orth, "'ll"), add(orth, "ll"), add(orth, "'ll", "'ve"), add(orth, "ll", "ve")
            if word not in ("that", "this"):
                add(orth, "'re"), add(orth, "re"), add(orth, "'ve"), add(orth, "ve")
            add(orth, "'d"), add(orth, "d"), add(orth, "'d", "'ve"), add(orth, "d", "ve")
    for verb in "ca could do does did had may might must need ought sha should wo would".split():
        for orth in cased(verb):
            add(orth, "n't"), add(orth, "nt"), add(orth, "n't", "'ve"), add(orth, "nt", "ve")
    for verb in "could might must should would".split():
        for orth in cased(verb):
            add(orth, "'ve"), add(orth, "ve")
    for verb in "ai are is was were have has dare".split():
        for orth in cased(verb):
            add(orth, "n't"), add(orth, "nt")
    for word in "doin goin nothin nuthin ol somethin".split():
        for orth in cased(word):
            add(orth), add(orth + "'")
    for hour in range(1, 13):
        for period in ("a.m.", "am", "p.m.", "pm"):
            add(str(hour), period)
    for parts in [
        "y' all",
        "y all",
        "how 'd 'y",
        "How 'd 'y",
        "not 've",
        "not ve",
        "Not 've",
        "Not ve",
        "can not",
        "Can not",
        "gon na",
        "Gon na",
        "got ta",
        "Got ta",
        "let 's",
        "Let 's",
        "c'm on",
        "C'm on",
    ]:
        add(*parts.split())
    for orth in _ABBREVIATIONS.split() + _EMOTICONS.split() + ["\xa0"]:
        add(orth)
    for unit in "cfkCFK":
        add("°", unit, ".")
    for orth in _EXCLUDED:
        exc.pop(orth, None)
    for key, parts in list(exc.items()):
        if "'" in key:
            exc[key.replace("'", "’")] = tuple(p.replace("'", "’") for p in parts)
    return exc


def split_chunk(chunk: str) -> tuple[str, ...]:
    """spaCy's tokens of one whitespace-free chunk (`Tokenizer._split_affixes`, `_attach_tokens`, then
    `_apply_special_cases`, which merges affix pieces that spell an exception, e.g. ")", ":")."""
    tokens = _split_affixes(chunk, special_cases())
    return _merge_specials(tokens) if len(tokens) > 1 else tokens


@cache
def _special_pieces() -> tuple[dict[tuple[str, ...], str], frozenset[str], int]:
    """Exceptions that affix rules alone would split, keyed by those pieces; the pieces that can
    start one; the most pieces one has."""
    out = {}
    for key in special_cases():
        pieces = _split_affixes(key, {})
        if len(pieces) > 1:
            out[pieces] = key
    return out, frozenset(p[0] for p in out), max(map(len, out))


def _merge_specials(tokens: tuple[str, ...]) -> tuple[str, ...]:
    pieces, heads, longest = _special_pieces()
    if heads.isdisjoint(tokens[:-1]):
        return tokens
    found = []  # (length, start) of every run of tokens that spells an exception
    for start in range(len(tokens) - 1):
        for stop in range(start + 2, min(len(tokens), start + longest) + 1):
            if tokens[start:stop] in pieces:
                found.append((stop - start, start))
    if not found:
        return tokens
    taken: set[int] = set()
    chosen = {}
    for length, start in sorted(found, reverse=True):  # longest first, as spaCy filters its matches
        if start not in taken and start + length - 1 not in taken:
            chosen[start] = length
        taken.update(range(start, start + length))
    out: list[str] = []
    i = 0
    specials = special_cases()
    while i < len(tokens):
        if i in chosen:
            out.extend(specials[pieces[tokens[i : i + chosen[i]]]])
            i += chosen[i]
        else:
            out.append(tokens[i])
            i += 1
    return tuple(out)


def _split_affixes(chunk: str, specials: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    if chunk in specials:
        return specials[chunk]
    prefixes: list[str] = []
    suffixes: list[str] = []
    rest, last_size = chunk, -1
    while rest and len(rest) != last_size:
        if rest in specials:
            break
        last_size = len(rest)
        match = _prefix_match(rest)
        pre = match.end() if match else 0
        if pre and rest[pre:] in specials:
            prefixes.append(rest[:pre])
            rest = rest[pre:]
            break
        suf = _suffix_length(rest[pre:])
        if suf and rest[:-suf] in specials:
            suffixes.append(rest[-suf:])
            rest = rest[:-suf]
            break
        if pre and suf:
            prefixes.append(rest[:pre])
            suffixes.append(rest[-suf:])
            rest = rest[pre:-suf]
        elif pre:
            prefixes.append(rest[:pre])
            rest = rest[pre:]
        elif suf:
            suffixes.append(rest[-suf:])
            rest = rest[:-suf]
    tokens = prefixes
    if rest in specials:
        tokens.extend(specials[rest])
    elif rest and _url_match(rest):
        tokens.append(rest)
    elif rest:
        start = 0
        for match in _infix_finditer(rest):
            if match.start() == 0:  # an infix at the very start is not split off
                continue
            if match.start() != start:
                tokens.append(rest[start : match.start()])
            if match.end() != match.start():
                tokens.append(rest[match.start() : match.end()])
            start = match.end()
        if rest[start:]:
            tokens.append(rest[start:])
    tokens.extend(reversed(suffixes))
    return tuple(tokens)
