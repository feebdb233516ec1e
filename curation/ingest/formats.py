"""Recognise an input file's format from its bytes and open it decompressed.

The format is read from the file's first bytes (after gzip/zstd decompression), not from its name:
a `.txt` holding WARC records is read as WARC, a `.json.gz` holding JSON lines as JSONL.
"""

from __future__ import annotations

import gzip
import io
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

import orjson
import zstandard

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
PARQUET_MAGIC = b"PAR1"
_SNIFF_BYTES = 4096


class Format(StrEnum):
    JSONL = "jsonl"
    JSON = "json"
    PARQUET = "parquet"
    WARC = "warc"
    ARC = "arc"
    HTML = "html"
    SOGOU = "sogou"
    EMPTY = "empty"
    UNKNOWN = "unknown"


class Compression(StrEnum):
    NONE = "none"
    GZIP = "gzip"
    ZSTD = "zstd"


def compression_of(path: str | Path) -> Compression:
    with open(path, "rb") as f:
        head = f.read(4)
    if head.startswith(GZIP_MAGIC):
        return Compression.GZIP
    if head.startswith(ZSTD_MAGIC):
        return Compression.ZSTD
    return Compression.NONE


def open_decompressed(path: str | Path) -> BinaryIO:
    """Open a file for binary reading, decompressing gzip (multi-member too) or zstd transparently."""
    compression = compression_of(path)
    if compression is Compression.GZIP:
        return gzip.open(path, "rb")
    if compression is Compression.ZSTD:
        raw = open(path, "rb")
        reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True, closefd=True)
        return io.BufferedReader(reader)
    return open(path, "rb")


def _sniff_head(path: str | Path) -> bytes:
    try:
        with open_decompressed(path) as f:
            return f.read(_SNIFF_BYTES)
    except (OSError, EOFError, zstandard.ZstdError):
        # A damaged archive still has a format; read what the raw bytes say and let the reader
        # report the damage with its offset.
        with open(path, "rb") as f:
            return f.read(_SNIFF_BYTES)


def detect_format(path: str | Path) -> Format:
    """The format of a file, read from its content."""
    path = Path(path)
    if path.stat().st_size == 0:
        return Format.EMPTY
    with open(path, "rb") as f:
        if f.read(4) == PARQUET_MAGIC:
            return Format.PARQUET
    head = _sniff_head(path)
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped:
        return Format.EMPTY
    if stripped.startswith(b"WARC/"):
        return Format.WARC
    if stripped.startswith(b"filedesc://"):
        return Format.ARC
    if stripped.startswith(b"["):
        return Format.JSON
    if stripped.startswith(b"{"):
        return Format.JSONL if _first_line_is_json(stripped) else Format.JSON
    lowered = stripped[:1024].lower()
    if lowered.startswith(b"<doc>"):
        return Format.SOGOU
    if lowered.startswith((b"<!doctype html", b"<html", b"<?xml")) or b"<html" in lowered or b"<body" in lowered:
        return Format.HTML
    return Format.UNKNOWN


def _first_line_is_json(head: bytes) -> bool:
    """True for JSON lines; False for one pretty-printed JSON document (its first line is not JSON)."""
    first, newline, _ = head.partition(b"\n")
    if not newline and len(head) == _SNIFF_BYTES:
        return True  # a first line longer than the sniffed bytes: a long JSON line
    first = first.replace(b"\x00", b"").decode("utf-8", errors="replace")  # repairs the reader makes too
    try:
        orjson.loads(first)
        return True
    except orjson.JSONDecodeError:
        return not newline  # a single line that does not parse is still read as JSONL, to report it


def decode_text(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Decode bytes to str: the declared charset when it decodes cleanly, else detection.

    Returns (text, encoding used). Undecodable bytes become U+FFFD rather than being dropped.
    """
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding

    for candidate in (declared, "utf-8"):
        if not candidate:
            continue
        try:
            return data.decode(candidate), candidate.lower()
        except (UnicodeDecodeError, LookupError):
            continue
    encoding = detect_encoding(data)
    return bytes_to_str(data, encoding, errors="replace"), encoding
