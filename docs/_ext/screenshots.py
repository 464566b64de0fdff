"""Screenshot check of the built docs, as a user sees them: headless Chromium, network off (issue #12).

``python docs/_ext/screenshots.py docs/_build/html --out docs/_build/screenshots [--page extra.html ...]``
opens the family pages ``regression.html`` and ``classification.html`` with every request other than
``file:`` refused, and checks from the page itself:

* MathJax rendered: ``mjx-container`` elements > 0 on pages with math, and no raw ``\\[`` / ``\\(`` left in
  the text outside code;
* every ``<img>`` loaded (``naturalWidth > 0``);
* nothing wider than the viewport (no table, no page-level horizontal scroll);
* no request left the machine.

Each ``--page`` that exists (the conformance report) is opened too: its images and the network are
checked, its math and widths reported.  It saves a full-page and a first-screen PNG per page; exit
status 1 with the failures listed.  Chromium is
``/usr/bin/chromium`` (or ``$CHROMIUM``): missing, it is a failure, never a skipped check.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--host-resolver-rules=MAP * ~NOTFOUND"]
VIEWPORT = {"width": 1400, "height": 1000}
FAMILY_PAGES = ("regression.html", "classification.html")

CHECKS_JS = """() => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {acceptNode(n) {
    return n.parentElement.closest('pre, code, script, style, mjx-container, .highlight')
      ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT; }});
  const raw = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (/\\\\[\\[(]/.test(n.textContent)) raw.push(n.textContent.trim().slice(0, 80));
  }
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('table')].filter(t => t.getBoundingClientRect().right > width + 1)
    .map(t => Math.round(t.getBoundingClientRect().right));
  const images = [...document.images];
  return {
    math: document.querySelectorAll('mjx-container').length,
    mathSource: document.querySelectorAll('.math, span.math, div.math').length,
    raw: raw.slice(0, 5),
    images: images.length,
    broken: images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src')),
    wideTables: wide,
    pageWidth: document.documentElement.scrollWidth, viewport: width,
  };
}"""


def chromium() -> str:
    path = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not Path(path).exists():
        sys.exit(f"screenshots: no Chromium at {path} (apt-get install -y chromium, or set $CHROMIUM); "
                 "the screenshot check cannot pass without one")
    return path


def check_page(browser, page_path: Path, out: Path, strict: bool = True) -> list[str]:
    """Open one page offline, screenshot it and return its failures.

    ``strict=False`` (a page that is not one of the docs', such as the conformance report): only the images
    and the network are failures; math and widths are reported.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    context = browser.new_context(viewport=VIEWPORT, offline=True)
    page = context.new_page()
    remote: list[str] = []

    def route(r):
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            remote.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(page_path.resolve().as_uri(), wait_until="load")
    try:  # MathJax typesets after load: wait for its startup promise where the page has it
        page.wait_for_function("() => !window.MathJax || (MathJax.startup && MathJax.startup.promise)",
                               timeout=20000)
        page.evaluate("() => window.MathJax ? MathJax.startup.promise : null")
    except PlaywrightTimeout:
        pass
    result = page.evaluate(CHECKS_JS)
    stem = page_path.stem
    page.screenshot(path=str(out / f"{stem}-top.png"))
    page.screenshot(path=str(out / f"{stem}.png"), full_page=True)
    context.close()

    failures, notes = [], []
    if result["broken"]:
        failures.append(f"images that did not load: {result['broken']}")
    if remote:
        failures.append(f"requests off the machine: {sorted(set(remote))[:5]}")
    checks = failures if strict else notes
    if result["mathSource"] and not result["math"]:
        checks.append(f"{result['mathSource']} formulas and no rendered MathJax element")
    if result["raw"]:
        checks.append(f"raw LaTeX in the text: {result['raw']}")
    if result["wideTables"]:
        checks.append(f"tables wider than the {result['viewport']} px viewport (right edges {result['wideTables']})")
    if result["pageWidth"] > result["viewport"] + 1:
        checks.append(f"the page scrolls sideways ({result['pageWidth']} px in {result['viewport']} px)")
    print(f"screenshots: {page_path.name}: {result['math']} formulas rendered, {result['images']} images, "
          f"page {result['pageWidth']} px wide -> {out / (stem + '.png')}"
          + "".join(f"\n  FAIL {f}" for f in failures) + "".join(f"\n  note {n}" for n in notes))
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path, help="the built HTML folder (docs/_build/html)")
    parser.add_argument("--out", type=Path, default=Path("docs/_build/screenshots"))
    parser.add_argument("--page", action="append", default=[], type=Path,
                        help="another page to check if it exists (e.g. the conformance report)")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    pages = [args.html / name for name in FAMILY_PAGES]
    missing = [p for p in pages if not p.exists()]
    if missing:
        sys.exit(f"screenshots: {', '.join(map(str, missing))} not built")
    pages += [p for p in args.page if p.exists()]
    args.out.mkdir(parents=True, exist_ok=True)
    failures = []
    with sync_playwright() as pw:  # playwright gives the browser a fresh temporary profile
        browser = pw.chromium.launch(executable_path=chromium(), args=FLAGS, headless=True)
        for n, page in enumerate(pages):
            strict = n < len(FAMILY_PAGES)
            failures += [f"{page.name}: {f}" for f in check_page(browser, page, args.out, strict)]
        browser.close()
    if failures:
        print("screenshots: FAILED\n  " + "\n  ".join(failures))
        return 1
    print(f"screenshots: {len(pages)} pages pass")
    return 0


if __name__ == "__main__":
    sys.exit(main())
