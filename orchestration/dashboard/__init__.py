"""The dashboard officials open: ``warehouse/dashboard/index.html``, built from the published DuckDB file alone.

``build_dashboard(published, out_dir)`` writes the page (``page.py``; its charts in ``charts.py``);
``screenshot(html, png)`` renders it in headless Chromium (``browser.py``); ``dashboard_run_id``
says which publication a page shows. The outputs step builds it after every publication.
"""
from orchestration.dashboard.browser import screenshot
from orchestration.dashboard.page import build_dashboard, dashboard_run_id

__all__ = ["build_dashboard", "dashboard_run_id", "screenshot"]
