"""Screenshots of the first two screens of a bgmscope report, in headless Chromium (Playwright).

    .venv/bin/python tools/screenshot_report.py bgmscope-data/report-en/report.html docs/img/report-en
    # writes docs/img/report-en-1.png (first screen) and docs/img/report-en-2.png (second screen)

Uses Debian's /usr/bin/chromium (``make setup-test`` installs it) or ``--chromium PATH``. The page is
opened offline: any request off the file is refused, as in tests/test_report.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def screenshots(html: Path, stem: Path, *, screens: int = 2, width: int = 1280, height: int = 860,
                chromium: Path = Path("/usr/bin/chromium")) -> list[Path]:
    """Write ``<stem>-1.png`` … ``<stem>-<screens>.png``: the page scrolled one viewport at a time."""
    from playwright.sync_api import sync_playwright

    if not html.is_file():
        raise SystemExit(f"no report at {html}")
    if not chromium.exists():
        raise SystemExit(f"no Chromium at {chromium} (apt-get install chromium, or --chromium PATH)")
    stem.parent.mkdir(parents=True, exist_ok=True)
    out = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "data:")) else r.abort())
            page.goto(html.resolve().as_uri(), wait_until="load")
            page.wait_for_function("() => [...document.images].every(i => i.complete)", timeout=60000)
            for i in range(screens):
                page.evaluate(f"window.scrollTo(0, {i * height})")
                page.wait_for_timeout(150)
                path = stem.parent / f"{stem.name}-{i + 1}.png"
                page.screenshot(path=str(path))
                out.append(path)
        finally:
            browser.close()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("html", type=Path, help="report.html")
    ap.add_argument("stem", type=Path, help="output stem: writes STEM-1.png, STEM-2.png")
    ap.add_argument("--screens", type=int, default=2)
    ap.add_argument("--chromium", type=Path, default=Path("/usr/bin/chromium"))
    a = ap.parse_args(argv)
    for path in screenshots(a.html, a.stem, screens=a.screens, chromium=a.chromium):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
