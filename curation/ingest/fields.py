"""Map the record shapes of the corpora our users have onto the document schema.

Shapes recognised (by their fields, not by a flag): Dolma (`id, text, source, added, created,
metadata`), C4 (`text, timestamp, url`), The Pile (`text, meta.pile_set_name`), CCNet
(`raw_content, url, title, ...`), RedPajama (`text, meta`), The Stack (`content, lang, ext,
max_stars_repo_*`), and chat data (`messages: [{role, content}]`). Whatever is not the text, the
id or the url is kept verbatim in `meta`.
"""

from __future__ import annotations

from curation.documents import content_id
from curation.ingest.records import Problem, RawDocument, clean_text

TEXT_FIELDS = ("text", "content", "raw_content", "articleBody")
ID_FIELDS = ("id", "hexsha", "docno", "digest")
CODE_SHAPE_FIELDS = ("max_stars_repo_name", "max_stars_repo_path", "hexsha", "ext")
LANG_CODE = "code"


def _first(record: dict, names: tuple[str, ...]) -> tuple[str | None, object]:
    for name in names:
        value = record.get(name)
        if value is not None:
            return name, value
    return None, None


def _chat_text(messages: list) -> str | None:
    """The plain text of a conversation: its turns' contents, one paragraph each."""
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        return None
    return "\n\n".join(str(m.get("content", "")) for m in messages)


def _language(record: dict, is_code: bool) -> str | None:
    if is_code:
        return LANG_CODE
    for holder in (record, record.get("metadata"), record.get("meta")):
        if isinstance(holder, dict):
            for name in ("lang", "language"):
                value = holder.get(name)
                if isinstance(value, str) and 0 < len(value) <= 16:
                    return value
    return None


def document_from_record(record: dict, offset: int, file_key: str, ordinal: int,
                         text_field: str | None = None, max_doc_bytes: int | None = None
                         ) -> RawDocument | Problem:
    """Turn one parsed record into a RawDocument, or a Problem saying why it cannot be one."""
    if not isinstance(record, dict):
        return Problem(offset, "not_an_object", f"expected a JSON object, got {type(record).__name__}")
    repairs: list[str] = []
    if text_field:
        name, text = text_field, record.get(text_field)
    else:
        name, text = _first(record, TEXT_FIELDS)
        if text is None and "messages" in record:
            name, text = "messages", _chat_text(record["messages"])
    if text is None:
        wanted = text_field or "/".join(TEXT_FIELDS + ("messages",))
        return Problem(offset, "no_text_field", f"record has no {wanted} field (fields: "
                                                f"{', '.join(sorted(record)[:12])})")
    if not isinstance(text, str):
        return Problem(offset, "text_not_a_string", f"field {name!r} holds {type(text).__name__}")
    text = clean_text(text, repairs)
    if max_doc_bytes is not None and len(text) > max_doc_bytes // 4 and len(text.encode()) > max_doc_bytes:
        return Problem(offset, "document_too_large",
                       f"{len(text.encode()):,} bytes of text > max_doc_bytes {max_doc_bytes:,}")
    is_code = name == "content" and any(f in record for f in CODE_SHAPE_FIELDS)
    id_name, origin_id = (None, None) if text_field == "id" else _first(record, ID_FIELDS)
    doc_id = str(origin_id) if origin_id not in (None, "") else content_id(file_key, str(ordinal), text)
    url = record.get("url")
    meta = {k: v for k, v in record.items() if k not in (name, id_name, "url")}
    if name == "messages":
        meta["messages"] = record["messages"]
    if repairs:
        meta["_repairs"] = repairs
    return RawDocument(id=doc_id, text=text, offset=offset, url=url if isinstance(url, str) else None,
                       lang=_language(record, is_code), meta=meta)
