"""Reading fields of the JSON `meta` column, columnar, with DuckDB's JSON functions.

Ingest keeps whatever is not text, id or url verbatim in `meta` (a JSON object per row): the
content type of a web page, a Stack file's language, extension and path. Clean needs a few of
those per batch; DuckDB extracts them over the whole column in one query instead of a json.loads
per row. Rows whose meta is null or not valid JSON give null.
"""

from __future__ import annotations

import re

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
HTML_CONTENT_TYPES = ("text/html", "application/xhtml")


def meta_fields(meta: pa.Array, keys: list[str]) -> dict[str, pa.Array]:
    """Top-level string fields of the JSON meta column ({key: string array}, null where absent)."""
    for key in keys:
        if not _KEY.match(key):
            raise ValueError(f"meta key {key!r} must be an identifier")
    if isinstance(meta, pa.ChunkedArray):
        meta = meta.combine_chunks()
    table = pa.table({"meta": meta.cast(pa.string())})
    select = ", ".join(f"CASE WHEN json_valid(meta) THEN json_extract_string(meta, '$.{k}') END AS {k}"
                       for k in keys)
    con = duckdb.connect()
    try:
        con.register("batch_meta", table)
        result = con.sql(f"SELECT {select} FROM batch_meta").to_arrow_table()
    finally:
        con.close()
    return {k: result.column(k).combine_chunks().cast(pa.string()) for k in keys}


def is_html(meta: pa.Array) -> pa.Array:
    """True where meta's content_type says the text is an HTML page (text/html, application/xhtml+xml)."""
    content_type = pc.utf8_lower(pc.utf8_trim_whitespace(meta_fields(meta, ["content_type"])["content_type"]))
    matches = [pc.starts_with(content_type, prefix) for prefix in HTML_CONTENT_TYPES]
    return pc.fill_null(pc.or_(*matches), False)
