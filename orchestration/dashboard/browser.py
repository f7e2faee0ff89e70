"""Headless Chromium for the dashboard: Debian's ``chromium`` driven by Playwright (a dev dependency).

Playwright's own browser download is never used: the browser is the system's, found on PATH (or
named by ``DCW_CHROMIUM``), and passed as ``executable_path``. Chinese needs a CJK font
(``fonts-noto-cjk``). ``screenshot`` refreshes the picture the README shows. What belongs here:
finding and driving the browser. Not here: the page itself.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

MISSING = ("Chromium not found (chromium on PATH or DCW_CHROMIUM): install the Debian packages `chromium` and "
           "`fonts-noto-cjk` (apt-get install -y chromium fonts-noto-cjk)")
VIEWPORT = {"width": 1400, "height": 900}


def chromium_path() -> str:
    """The Chromium executable; RuntimeError naming the package when there is none."""
    named = os.environ.get("DCW_CHROMIUM")
    found = named if named and Path(named).is_file() else (shutil.which("chromium")
                                                          or shutil.which("chromium-browser"))
    if not found:
        raise RuntimeError(MISSING)
    return found


def check_cjk_font() -> None:
    """RuntimeError naming the package when fontconfig knows no Chinese font (the page would show boxes)."""
    if shutil.which("fc-list") is None:
        return   # no fontconfig to ask: Chromium's own fallbacks decide
    found = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True).stdout.strip()
    if not found:
        raise RuntimeError("No Chinese font for Chromium: install the Debian package `fonts-noto-cjk` "
                           "(apt-get install -y fonts-noto-cjk)")


@contextmanager
def browser():
    """A headless Chromium (Playwright's ``Browser``), closed afterwards."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise RuntimeError("Playwright is not installed: it is a dev dependency (make setup installs it)") from None
    executable = chromium_path()
    check_cjk_font()
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable)
        try:
            yield instance
        finally:
            instance.close()


def open_page(instance, html: Path):
    """A page of ``instance`` showing ``html``, once its charts are drawn."""
    page = instance.new_page(viewport=VIEWPORT, device_scale_factor=1)
    page.goto(html.resolve().as_uri())
    page.wait_for_function("window.dashboardReady === true", timeout=30_000)
    return page


def screenshot(html: Path, png: Path) -> None:
    """A full-page PNG of the dashboard page ``html``."""
    png.parent.mkdir(parents=True, exist_ok=True)
    with browser() as instance:
        open_page(instance, html).screenshot(path=str(png), full_page=True)
