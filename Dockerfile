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
# The sample pipeline ends with a short training run: torch's CPU wheel from PyTorch's own index
# (PyPI's default torch wheel is the multi-GB CUDA build).
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
 && pip install --no-cache-dir -e ".[train]"
ENV CURATE_CATALOG=/data/catalog.duckdb
