"""What readers yield: documents, records that are not documents, and problems with bad input.

Every record a reader meets becomes exactly one of these, so the manifest can account for all of
them: a `RawDocument` goes to the shards, a `Skipped` record (a WARC request, a 404, an image) is
counted and listed with its reason, a `Problem` (broken JSON, a truncated archive, a giant
document) goes to quarantine with its file offset, reason and raw bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Repairs applied to a document on the way in; each is listed in the document's meta `_repairs`.
REPAIR_NUL_REMOVED = "nul_removed"
REPAIR_INVALID_UTF8 = "invalid_utf8_replaced"


@dataclass(slots=True)
class RawDocument:
    """A document as read from its origin, before it becomes a row of the document schema."""

    id: str
    text: str
    offset: int
    url: str | None = None
    lang: str | None = None
    meta: dict = field(default_factory=dict)


@dataclass(slots=True)
class Skipped:
    """A well-formed record that is not a document (request record, non-200 response, non-HTML)."""

    offset: int
    reason: str
    url: str | None = None


@dataclass(slots=True)
class Problem:
    """Bad input: what is wrong, where, and the raw bytes, so nothing is lost."""

    offset: int
    reason: str
    detail: str
    raw: bytes | None = None


def clean_text(text: str, repairs: list[str]) -> str:
    """Remove NUL characters (which break C strings and Parquet consumers), noting the repair."""
    if "\x00" in text:
        repairs.append(REPAIR_NUL_REMOVED)
        text = text.replace("\x00", "")
    return text


def decode_utf8(data: bytes, repairs: list[str]) -> str:
    """Decode UTF-8, replacing invalid sequences with U+FFFD and noting the repair."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        repairs.append(REPAIR_INVALID_UTF8)
        return data.decode("utf-8", errors="replace")
