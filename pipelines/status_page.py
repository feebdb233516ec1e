"""A small read-only status page and JSON for `curate schedule`, served on 127.0.0.1."""

from __future__ import annotations

import html
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_RUNS_SQL = ("SELECT run_id, command, status, started_at, finished_at, error FROM runs "
             "ORDER BY started_at DESC LIMIT 50")
_STAGES_SQL = ("SELECT run_id, stage, out_dir, skipped, num_in, num_out, round(seconds, 1) FROM stages "
               "ORDER BY recorded_at DESC LIMIT 200")


def status_snapshot(cursor, extra: dict) -> dict:
    """Runs and stages from the catalog, plus the service's own state (schedules, current run)."""
    runs = [dict(zip(("run_id", "command", "status", "started_at", "finished_at", "error"), r))
            for r in cursor.execute(_RUNS_SQL).fetchall()]
    stages = [dict(zip(("run_id", "stage", "out_dir", "skipped", "num_in", "num_out", "seconds"), r))
              for r in cursor.execute(_STAGES_SQL).fetchall()]
    return {"service": extra, "runs": runs, "stages": stages}


def _page(snapshot: dict) -> str:
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(run.get(k) or ''))}</td>"
                         for k in ("run_id", "command", "status", "started_at", "finished_at", "error")) + "</tr>"
        for run in snapshot["runs"])
    service = html.escape(json.dumps(snapshot["service"], indent=1, default=str))
    reports = "".join(f'<li><a href="file://{html.escape(p)}">{html.escape(p)}</a></li>'
                      for p in snapshot["service"].get("reports", []))
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>curate schedule</title>"
            f"<meta http-equiv='refresh' content='10'></head><body><h1>curate schedule</h1>"
            f"<pre>{service}</pre><h2>Reports</h2><ul>{reports}</ul><h2>Runs</h2>"
            f"<table border='1' cellpadding='4'><tr><th>run</th><th>command</th><th>status</th>"
            f"<th>started</th><th>finished</th><th>error</th></tr>{rows}</table></body></html>")


class StatusServer:
    """Serves `/` (HTML) and `/status.json` from the catalog until stopped."""

    def __init__(self, catalog, host: str, port: int, state: dict):
        self.catalog, self.state = catalog, state
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                with server.catalog.connect() as con:
                    snapshot = status_snapshot(con, server.state)
                if self.path.startswith("/status.json"):
                    body, kind = json.dumps(snapshot, default=str).encode(), "application/json"
                elif self.path == "/":
                    body, kind = _page(snapshot).encode(), "text/html; charset=utf-8"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def __enter__(self) -> StatusServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
