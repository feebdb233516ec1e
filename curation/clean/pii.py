"""PII masking: e-mail addresses, IP addresses, Chinese mobile numbers and Chinese ID numbers.

Each kind is replaced by a typed placeholder (<EMAIL>, <IP>, <PHONE>, <ID_NUMBER>) and counted
per document (pii_* columns). E-mail and phone masking are Arrow regex kernels over the whole
column. IP and ID candidates need validation that no regex states (a routable address, an ID
number's ISO 7064 MOD 11-2 check digit and a real birth date), so the rows holding a candidate
are found columnar first and only those are rewritten in Python. Private, loopback and
documentation addresses (192.168.x.x, 127.0.0.1, 10.x) are configuration, not personal data,
and stay; so do version strings that merely look like addresses, which fail the octet check.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

PLACEHOLDERS = {"email": "<EMAIL>", "ip": "<IP>", "phone": "<PHONE>", "id_number": "<ID_NUMBER>"}

_EMAIL_RE2 = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
# Mainland mobile numbers: 1[3-9] + 9 digits, optionally +86 / 86, not inside a longer digit run
# and not the decimals of a number ("3.14159265359"): a "." before counts as a boundary only
# after a non-digit ("tel.138..."). RE2 has no look-behind, so the boundary characters are
# captured and written back.
_PHONE_RE2 = r"(^|[^0-9.]|[^0-9]\.)((?:\+?86[- ]?)?1[3-9][0-9](?:[- ]?[0-9]{4}){2})($|[^0-9])"
_IP_CANDIDATE_RE2 = r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}"
_ID_CANDIDATE_RE2 = r"[1-9][0-9]{16}[0-9Xx]"
_IP_PY = re.compile(r"(?<![\w.%])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![\w]|\.[0-9])")
# A dotted quad right after one of these words is a version or section number ("Doxygen 1.8.13.0",
# "v1.2.3.4", "Section 5.2.11.1" of a specification).
_VERSION_BEFORE = re.compile(r"(?i)(?:version|ver\.?|release|build|doxygen|section|sect?\.|§|chapter|clause|"
                             r"[\s\"'(]v)\s*[:=]?\s*[\"'(]?$")
_ID_PY = re.compile(r"(?<![0-9A-Za-z])[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])"
                    r"(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx](?![0-9A-Za-z])")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


@dataclass
class PiiPolicy:
    """Which kinds of PII to mask (a subset of email, ip, phone, id_number); empty: none."""

    kinds: list[str] = field(default_factory=lambda: ["email", "ip", "phone", "id_number"])

    def __post_init__(self):
        unknown = sorted(set(self.kinds) - set(PLACEHOLDERS))
        if unknown:
            raise ValueError(f"unknown PII kind {unknown[0]!r} (known: {', '.join(PLACEHOLDERS)})")


def id_number_valid(number: str) -> bool:
    """True for an 18-character PRC resident ID whose check digit (ISO 7064 MOD 11-2) matches."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS))
    return _ID_CHECK[total % 11] == number[17].upper()


def ip_is_personal(address: str, before: str = "") -> bool:
    """True for a globally routable IPv4 address (private, loopback, reserved ones are not PII) that
    is not a version number (`before`: the text just ahead of it)."""
    if _VERSION_BEFORE.search(before):
        return False
    try:
        return ipaddress.IPv4Address(address).is_global
    except ValueError:
        return False


def _count_and_replace(texts: pa.Array, pattern: str, replacement: str, placeholder: str,
                       passes: int = 1) -> tuple[pa.Array, pa.Array]:
    """Regex-replace over the column; count per row the placeholders that the replacement added."""
    before = pc.count_substring(texts, placeholder)
    for _ in range(passes):
        if not pc.any(pc.fill_null(pc.match_substring_regex(texts, pattern), False)).as_py():
            break
        texts = pc.replace_substring_regex(texts, pattern, replacement)
    counts = pc.subtract(pc.count_substring(texts, placeholder), before)
    return texts, counts.cast(pa.int32())


def _validated(texts: pa.Array, candidate_re2: str, pattern: re.Pattern, valid, placeholder: str
               ) -> tuple[pa.Array, pa.Array]:
    """Mask the matches of `pattern` that pass valid(match, text before it), in the rows where
    `candidate_re2` occurs."""
    counts = np.zeros(len(texts), dtype=np.int32)
    rows = pc.indices_nonzero(pc.fill_null(pc.match_substring_regex(texts, candidate_re2), False)).to_pylist()
    if not rows:
        return texts, pa.array(counts)
    values = texts.to_pylist()
    for i in rows:
        found = 0

        def mask(match: re.Match) -> str:
            nonlocal found
            if valid(match.group(0), match.string[max(0, match.start() - 16):match.start()]):
                found += 1
                return placeholder
            return match.group(0)

        values[i] = pattern.sub(mask, values[i])
        counts[i] = found
    return pa.array(values, pa.large_string()), pa.array(counts)


def mask_pii(texts: pa.Array, policy: PiiPolicy) -> tuple[pa.Array, dict[str, pa.Array]]:
    """Mask the policy's PII kinds; return the new texts and {pii_<kind>: int32 count per row}."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    texts = pc.fill_null(texts, "").cast(pa.large_string())
    counts: dict[str, pa.Array] = {}
    # ID numbers before phones: an ID number contains digit runs that look like a mobile number.
    if "id_number" in policy.kinds:
        texts, counts["pii_id_number"] = _validated(texts, _ID_CANDIDATE_RE2, _ID_PY,
                                                    lambda number, before: id_number_valid(number),
                                                    PLACEHOLDERS["id_number"])
    if "email" in policy.kinds:
        texts, counts["pii_email"] = _count_and_replace(texts, _EMAIL_RE2, PLACEHOLDERS["email"],
                                                        PLACEHOLDERS["email"])
    if "phone" in policy.kinds:
        # two passes: a match consumes the character after it, which may start the next number
        texts, counts["pii_phone"] = _count_and_replace(texts, _PHONE_RE2, rf"\1{PLACEHOLDERS['phone']}\3",
                                                        PLACEHOLDERS["phone"], passes=2)
    if "ip" in policy.kinds:
        texts, counts["pii_ip"] = _validated(texts, _IP_CANDIDATE_RE2, _IP_PY, ip_is_personal,
                                             PLACEHOLDERS["ip"])
    return texts, {name: counts[name] for name in sorted(counts)}
