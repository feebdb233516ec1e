# One image for the Dask scheduler, the workers and the curate scheduler service.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY curation curation
COPY tokenizer tokenizer
COPY mixtures mixtures
COPY pipelines pipelines
COPY trainer trainer
COPY configs configs
RUN pip install --no-cache-dir -e .
ENV CURATE_CATALOG=/data/catalog.duckdb
