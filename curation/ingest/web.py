"""Readers for crawled pages: WARC and ARC archives, raw HTML files, SogouCS pseudo-XML.

Pages keep their raw HTML as `text` (clean does the extraction) with the HTTP and archive headers
in `meta`. Archive records that are not pages are yielded as `Skipped` with the reason, so the
manifest says how many response records became documents and why the rest did not.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from pathlib import Path

import zstandard

from curation.documents import content_id
from curation.ingest.formats import decode_text, open_decompressed
from curation.ingest.records import Problem, RawDocument, Skipped, clean_text

Item = RawDocument | Problem | Skipped
HTML_TYPES = ("text/html", "application/xhtml+xml", "application/xml+xhtml")
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.I)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.I)
_SOGOU_FIELD = re.compile(r"<(url|docno|contenttitle|content)>(.*?)</\1>", re.S)


def _declared_charset(content_type: str, body: bytes) -> str | None:
    match = _CHARSET.search(content_type or "") or _META_CHARSET.search(body[:4096])
    if not match:
        return None
    charset = match.group(1)
    return charset.decode("ascii", "ignore") if isinstance(charset, bytes) else charset


def read_warc(path: Path, file_key: str, max_doc_bytes: int) -> Iterator[Item]:
    """Yield a document for every HTML 200 response of a WARC file, a Skipped for every other record.

    FastWARC in quirks mode reads ClueWeb09's WARC/0.18 and other malformed-but-real files that
    warcio rejects; it reads from our own decompressing stream, so a truncated gzip raises here.
    """
    from fastwarc.warc import ArchiveIterator

    offset = 0
    stream = open_decompressed(path)
    try:
        for record in ArchiveIterator(stream, parse_http=True, fsspec_args=False, quirks_mode=True):
            offset = record.stream_pos
            url = (record.headers.get("WARC-Target-URI") or "").strip("<>") or None
            record_type = str(record.record_type).rsplit(".", 1)[-1]
            if record_type != "response":
                yield Skipped(offset, f"{record_type}_record", url)
                continue
            if not record.http_headers:
                yield Skipped(offset, "response_without_http", url)
                continue
            status = str(record.http_headers.status_code)
            content_type = record.http_headers.get("Content-Type") or ""
            body = record.reader.read(max_doc_bytes + 1)
            record_id = (record.headers.get("WARC-Record-ID") or "").strip("<>")
            yield _page(body, offset, url, status, content_type, dict(record.http_headers.items()),
                        record_id or None, record.headers.get("WARC-Date"), "warc", max_doc_bytes)
    except (EOFError, OSError, zlib.error, ValueError) as exc:
        yield Problem(offset, "truncated_archive" if _is_truncation(exc) else "corrupt_archive",
                      f"WARC reading stopped after the record at offset {offset:,}: {_first_line(exc)}")
    finally:
        stream.close()


_ARC_HEADER = re.compile(rb"^(\S+) (\S+) (\d{14}) (\S*) (\d+)\r?\n$")


def read_arc(path: Path, file_key: str, max_doc_bytes: int) -> Iterator[Item]:
    """ARC v1 (CommonCrawl 2008-2012): `URL IP DATE MIME LENGTH` lines, each followed by LENGTH bytes.

    Parsed by hand: warcio rejects CommonCrawl's ARC files ("Record not followed by newline").
    A line that is not a record header is reported once and reading resynchronises at the next one.
    """
    offset = 0
    stream = open_decompressed(path)
    try:
        lost_at = None
        while True:
            line = stream.readline()
            if not line:
                break
            line_offset, offset = offset, offset + len(line)
            if not line.strip():
                continue
            match = _ARC_HEADER.match(line)
            if not match:
                lost_at = line_offset if lost_at is None else lost_at
                continue
            if lost_at is not None:
                yield Problem(lost_at, "corrupt_record", "bytes that are not an ARC record, skipped to "
                                                          f"the next record header at {line_offset:,}")
                lost_at = None
            url, _ip, date, _mime, length = match.groups()
            content = stream.read(int(length))
            offset += len(content)
            if len(content) < int(length):
                yield Problem(line_offset, "truncated_archive", f"ARC record of {int(length):,} bytes cut "
                                                                f"at {len(content):,}", line + content)
                return
            url = url.decode("utf-8", "replace")
            if url.startswith("filedesc://"):
                yield Skipped(line_offset, "filedesc_record", url)
                continue
            yield _arc_response(content, line_offset, url, date.decode(), max_doc_bytes)
        if lost_at is not None:
            yield Problem(lost_at, "corrupt_record", "bytes after the last ARC record are not a record")
    except (EOFError, OSError, zlib.error, zstandard.ZstdError) as exc:
        yield Problem(offset, "truncated_archive", f"ARC reading stopped at {offset:,}: {_first_line(exc)}")
    finally:
        stream.close()


def _arc_response(content: bytes, offset: int, url: str, date: str, max_doc_bytes: int) -> Item:
    head, _, body = content.partition(b"\r\n\r\n")
    if not _:
        head, _, body = content.partition(b"\n\n")
    lines = head.decode("latin-1").splitlines()
    if not lines or not lines[0].startswith("HTTP/"):
        return Skipped(offset, "response_without_http", url)
    status = (lines[0].split() + ["none"])[1]
    headers = {}
    for header in lines[1:]:
        name, sep, value = header.partition(":")
        if sep:
            headers[name.strip()] = value.strip()
    lowered = {k.lower(): v.lower() for k, v in headers.items()}
    if "chunked" in lowered.get("transfer-encoding", "") and re.match(rb"^[0-9a-fA-F]+\r?\n", body):
        body = _dechunk(body)
    if "gzip" in lowered.get("content-encoding", "") and body.startswith(b"\x1f\x8b"):
        try:
            body = zlib.decompress(body, 31)
        except zlib.error:
            pass  # stored decoded despite the header; keep the bytes as they are
    return _page(body, offset, url, status, headers.get("Content-Type", ""), headers, None, date, "arc",
                 max_doc_bytes)


def _dechunk(body: bytes) -> bytes:
    out, pos = [], 0
    while pos < len(body):
        end = body.find(b"\n", pos)
        if end < 0:
            break
        try:
            size = int(body[pos:end].split(b";")[0].strip(), 16)
        except ValueError:
            return body
        if size == 0:
            break
        out.append(body[end + 1:end + 1 + size])
        pos = end + 1 + size
        pos = body.find(b"\n", pos) + 1 or len(body)
    return b"".join(out)


def _page(body: bytes, offset: int, url: str | None, status: str, content_type: str, http_headers: dict,
          record_id: str | None, date: str | None, kind: str, max_doc_bytes: int) -> Item:
    """A 200 HTML response becomes a document with its raw HTML; anything else is Skipped with why."""
    mime = content_type.split(";")[0].strip().lower()
    if status != "200":
        return Skipped(offset, f"http_status_{status}", url)
    if mime not in HTML_TYPES:
        return Skipped(offset, f"not_html:{mime or 'unknown'}", url)
    if len(body) > max_doc_bytes:
        return Problem(offset, "document_too_large", f"more than max_doc_bytes {max_doc_bytes:,} of HTML",
                       body)
    text, encoding = decode_text(body, _declared_charset(content_type, body))
    repairs: list[str] = []
    text = clean_text(text, repairs)
    meta = {"format": kind, "content_type": mime, "encoding": encoding, "http_status": int(status),
            "date": date, "http_headers": http_headers}
    if repairs:
        meta["_repairs"] = repairs
    return RawDocument(id=record_id or content_id(url or "", date or "", body), text=text, offset=offset,
                       url=url, meta=meta)


def _is_truncation(exc: Exception) -> bool:
    text = str(exc).lower()
    return isinstance(exc, EOFError) or "ended before" in text or "truncated" in text or "incomplete" in text


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def read_html_file(path: Path, file_key: str, max_doc_bytes: int) -> Iterator[Item]:
    """A raw HTML file is one document; its id derives from its bytes."""
    with open_decompressed(path) as f:
        body = f.read(max_doc_bytes + 1)
    if len(body) > max_doc_bytes:
        yield Problem(0, "document_too_large", f"HTML file larger than max_doc_bytes {max_doc_bytes:,}", body)
        return
    text, encoding = decode_text(body, _declared_charset("", body))
    repairs: list[str] = []
    text = clean_text(text, repairs)
    meta = {"format": "html", "content_type": "text/html", "encoding": encoding, "file": path.name}
    if repairs:
        meta["_repairs"] = repairs
    yield RawDocument(id=content_id(body), text=text, offset=0, meta=meta)


def read_sogou(path: Path, file_key: str, max_doc_bytes: int) -> Iterator[Item]:
    """SogouCS pseudo-XML: `<doc><url/><docno/><contenttitle/><content/></doc>` blocks, streamed."""
    encoding = None
    block: list[bytes] = []
    offset = block_offset = 0
    with open_decompressed(path) as f:
        for line in f:
            if not block and line.strip().lower().startswith(b"<doc>"):
                block_offset = offset
            offset += len(line)
            if block or line.strip():
                block.append(line)
            if line.strip().lower().endswith(b"</doc>"):
                raw = b"".join(block)
                block = []
                if encoding is None:
                    encoding = decode_text(raw)[1]
                yield _sogou_item(raw, block_offset, encoding, max_doc_bytes)
    if block:
        yield Problem(block_offset, "truncated_archive", "file ends inside a <doc> block", b"".join(block))


def _sogou_item(raw: bytes, offset: int, encoding: str, max_doc_bytes: int) -> Item:
    if len(raw) > max_doc_bytes:
        return Problem(offset, "document_too_large", f"{len(raw):,} bytes > max_doc_bytes", raw)
    text = raw.decode(encoding, errors="replace")
    fields = {name: value.strip() for name, value in _SOGOU_FIELD.findall(text)}
    if "content" not in fields:
        return Problem(offset, "no_text_field", "<doc> block without <content>", raw)
    repairs: list[str] = []
    content = clean_text(fields["content"], repairs)
    meta = {"format": "sogou", "title": fields.get("contenttitle"), "encoding": encoding}
    if "\ufffd" in content:
        repairs.append("invalid_bytes_replaced")
    if repairs:
        meta["_repairs"] = repairs
    doc_id = fields.get("docno") or content_id(raw)
    return RawDocument(id=doc_id, text=content, offset=offset, url=fields.get("url"), meta=meta)
