"""Readers of raw corpus formats, writing one document schema.

`formats` recognises a file from its bytes; `tabular` reads JSON lines and Parquet, `web` reads
WARC/ARC archives, HTML files and SogouCS pseudo-XML; `fields` maps the record shapes (Dolma, C4,
Pile, CCNet, RedPajama, Stack, chat) onto the schema; `job` runs one task per file and writes
shards, `quarantine/` (bad input with file, offset, reason and raw bytes) and `skipped/`
(records that are not documents, with why), so input = documents + quarantined + skipped.
"""
