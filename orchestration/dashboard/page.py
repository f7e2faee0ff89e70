"""The dashboard page: ``build_dashboard(published, out_dir)`` writes ``out_dir/index.html``.

One self-contained file that works offline: the vendored ECharts (``vendor/``) is inlined, the
charts' options (``charts.py``) and the open alerts are embedded as JSON, read by SQL from the
published DuckDB file alone (read-only). The page names the publication it shows in
``<meta name="dcw-publication">``, which ``dashboard_run_id`` reads, so that the outputs step
(``orchestration/publish_outputs.py``) knows whether the page lags the file. Written to a temporary
file and renamed over the old page: a reader opens the previous page or the new one, never half.
What belongs here: the page's assembly and writing. Not here: what the charts show.
"""
from __future__ import annotations

import hashlib
import html
import json
import os
import re
import tempfile
import time
from pathlib import Path

import duckdb

from orchestration.dashboard.charts import ALERT_KINDS, CHARTS, SEVERITIES, SEVERITY_COLOURS, MissingTable, open_alerts

HERE = Path(__file__).resolve().parent
ECHARTS = HERE / "vendor" / "echarts.min.js"
ECHARTS_VERSION = "5.6.0"
ECHARTS_SHA256 = "bf4a223524e40b77c304bec67e1222cf551f14880cf42c69dc046558e11c07b1"
TEMPLATE = HERE / "template.html"
PAGE = "index.html"
META = re.compile(r'<meta name="dcw-publication" content="([^"]*)">')


def dashboard_run_id(out_dir: Path) -> str | None:
    """The run id of the publication the page in ``out_dir`` shows; None when there is no page."""
    try:
        with (out_dir / PAGE).open(encoding="utf-8") as f:
            head = f.read(4096)
    except (FileNotFoundError, NotADirectoryError):
        return None
    found = META.search(head)
    return html.unescape(found[1]) if found else None


def build_dashboard(published: Path, out_dir: Path) -> Path:
    """Write the page for the publication in ``published``; returns its path."""
    if not published.is_file():
        raise FileNotFoundError(f"no published warehouse at {published}: run the pipeline first (make run)")
    con = duckdb.connect(str(published), read_only=True)
    try:
        run_id, published_at = con.execute("select run_id, published_at from audit.publication").fetchone()
        as_of = con.execute("""select strftime(max(month), '%Y-%m') from marts.fct_center_month""").fetchone()[0] \
            if _has(con, "fct_center_month") else None
        charts, missing = {}, {}
        for name, chart in CHARTS.items():
            try:
                charts[name] = chart(con)
            except MissingTable as exc:
                missing[name] = str(exc)
        try:
            charts["alerts"], alerts = open_alerts(con)
        except MissingTable as exc:
            missing["alerts"], alerts = str(exc), []
    finally:
        con.close()
    page = _render(run_id, published_at, as_of, charts, missing, alerts)
    out_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale(out_dir)
    target = out_dir / PAGE
    # a name of its own: a run's outputs step and `make dashboard` may write at the same time
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=out_dir, prefix=f".{PAGE}.", suffix=".tmp",
                                     delete=False) as temporary:
        try:
            temporary.write(page)
        except BaseException:
            os.unlink(temporary.name)
            raise
    os.chmod(temporary.name, 0o644)
    os.replace(temporary.name, target)
    return target


def _remove_stale(out_dir: Path, age_s: float = 3600) -> None:
    """Temporary pages left by processes that died while writing (a live writer's is younger)."""
    for path in out_dir.glob(f".{PAGE}.*.tmp"):
        try:
            if time.time() - path.stat().st_mtime > age_s:
                path.unlink()
        except FileNotFoundError:
            pass


def _has(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute("select count(*) from duckdb_tables() where database_name = current_database() "
                            "and schema_name = 'marts' and table_name = ?", [table]).fetchone()[0])


def _echarts() -> str:
    code = ECHARTS.read_bytes()
    digest = hashlib.sha256(code).hexdigest()
    if digest != ECHARTS_SHA256:
        raise RuntimeError(f"{ECHARTS} is not the vendored ECharts {ECHARTS_VERSION} (sha256 {digest}, expected "
                           f"{ECHARTS_SHA256}); restore it from the repository")
    return code.decode("utf-8")


def _json(value) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(value, ensure_ascii=False, default=str).replace("</", "<\\/")


def _render(run_id: str, published_at, as_of: str | None, charts: dict, missing: dict, alerts: list[dict]) -> str:
    severity = dict(SEVERITIES)
    rows = "\n".join(
        f'<tr class="{html.escape(a["severity"])}"><td>{html.escape(severity.get(a["severity"], a["severity"]))}</td>'
        f'<td>{html.escape(ALERT_KINDS.get(a["alert_kind"], ""))} {html.escape(a["alert_kind"])}</td>'
        f'<td>{html.escape(a["entity_kind"])}</td>'
        f'<td>{html.escape(a["entity_code"] or "")}</td><td>{html.escape(a["entity_name"] or "")}</td>'
        f'<td>{html.escape(a["since_month"] or "")}</td><td>{html.escape(a["detail"] or "")}</td></tr>'
        for a in alerts)
    values = {
        "RUN_ID": html.escape(run_id, quote=True),
        "RUN_SHORT": html.escape(run_id[:8]),
        "PUBLISHED_AT": html.escape(f"{published_at:%Y-%m-%d %H:%M}" if hasattr(published_at, "strftime")
                                    else str(published_at)),
        "AS_OF": html.escape(as_of or "—"),
        "ALERT_ROWS": rows or '<tr><td colspan="7">无 none</td></tr>',
        "SEVERITY_CSS": "\n".join(f"tr.{s} td:first-child {{ color: {c}; font-weight: bold; }}"
                                  for s, c in SEVERITY_COLOURS.items()),
        "ECHARTS_VERSION": ECHARTS_VERSION,
        "OPTIONS": _json(charts),
        "MISSING": _json(missing),
        "ECHARTS": _echarts(),
    }
    # one pass: nothing inserted (data, ECharts' code) is searched for placeholders again
    return re.sub(r"\{\{(\w+)\}\}", lambda m: values[m[1]], TEMPLATE.read_text(encoding="utf-8"))
