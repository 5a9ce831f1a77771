"""The built book, page by page, in a real browser (headless Chromium).

Run after ``make book`` (``make test`` does both). Each page of the table of contents must
load, its figures must be real images that loaded, it must carry no error output or
traceback, its maths must typeset, its widgets must render, and a chapter's Colab link
must point at its own notebook on the configured branch.

The pages load MathJax and the widget manager from cdn.jsdelivr.net. This machine may be
offline, so those requests are answered from the npm packages in ``tests/web`` (the same
files jsdelivr serves); every other outside request is refused and recorded.
"""

from __future__ import annotations

import functools
import http.server
import json
import mimetypes
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

from gaaf.book.chapter import COLAB_BRANCH, published, repository, toc_files
from gaaf.book.figures.style import MIN_FONT, RC

pytestmark = pytest.mark.pages

ROOT_PAGE = "book/intro"
CLAIM_CHAPTERS = (
    "book/coadaptation",
    "book/gradient_flow",
    "book/mnist_benchmark",
    "book/mechanism",
    "book/cnn_benchmark",
)
"""Chapters that judge a claim: each opens with a verdict admonition."""
INTRO_CLAIMS = 5
"""Rows of the introduction's verdict table: claims 1, 2, 3, 4 on MNIST, 4 on CNNs."""
RAW_TEX = re.compile(
    r"\$(?![A-Z][A-Z_]+\b)[^$\s][^$\n]{0,80}?\$"
    r"|\\(sigma|frac|mathrm|tanh|partial|phi|left|right)\b"
)
PHONE = 390

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
WEB = ROOT / "tests" / "web"
SCREENSHOTS = ROOT / "_build" / "page-check"
JSDELIVR = "https://cdn.jsdelivr.net/npm/"
WIDGET_FONT = re.compile(
    r"/@jupyter-widgets/html-manager/dist/[0-9a-f]+\.(woff2?|ttf|eot|svg)$"
)


def is_notebook(page: str) -> bool:
    return (ROOT / f"{page}.ipynb").exists()


def figures_in_executed_notebook(page: str) -> int:
    """PNG outputs of the chapter as the book build executed it."""
    executed = ROOT / "_build" / "jupyter_execute" / f"{page}.ipynb"
    cells = json.loads(executed.read_text())["cells"]
    return sum(
        "image/png" in out.get("data", {})
        for c in cells
        for out in c.get("outputs", [])
    )


def npm_file(url: str) -> Path | None:
    """The local copy of a jsdelivr npm URL (``/npm/name@version/path``), if installed."""
    spec = url.removeprefix(JSDELIVR)
    scope = ""
    if spec.startswith("@"):
        scope, spec = spec.split("/", 1)
        scope += "/"
    name_version, _, path = spec.partition("/")
    name, _, version = name_version.partition("@")
    package = WEB / "node_modules" / f"{scope}{name}"
    manifest = package / "package.json"
    if not manifest.exists() or not path:
        return None
    installed = json.loads(manifest.read_text())["version"]
    if version and not (installed == version or installed.startswith(version + ".")):
        return None
    target = package / path
    return target if target.is_file() else None


@pytest.fixture(scope="module")
def site_url():
    if not (SITE / "index.html").exists():
        pytest.fail("no built book in _build/html: run `make book` first")
    handler = functools.partial(QuietHandler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def browser():
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if chromium is None:
        message = (
            "headless Chromium not found (apt-get install chromium, or set CHROMIUM)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def web_assets() -> bool:
    """Whether MathJax and the widget manager can be served locally (``npm ci`` ran)."""
    available = (WEB / "node_modules" / "@jupyter-widgets" / "html-manager").is_dir()
    if not available and os.environ.get("CI"):
        pytest.fail(
            "tests/web/node_modules is missing: run `npm ci --prefix tests/web`"
        )
    return available


def open_page(browser, url: str, width: int = 1280):
    """Open ``url`` in a window ``width`` pixels wide; returns the page and what went
    wrong while it loaded."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    problems: dict[str, list[str]] = {
        "page errors": [],
        "missing": [],
        "refused": [],
        "console": [],
    }
    page.on("pageerror", lambda err: problems["page errors"].append(str(err)))
    page.on(
        "response",
        lambda r: (
            problems["missing"].append(f"{r.status} {r.url}")
            if r.status >= 400
            else None
        ),
    )
    page.on(
        "console",
        lambda msg: (
            problems["console"].append(msg.text) if msg.type == "error" else None
        ),
    )

    def route(r) -> None:
        request_url = r.request.url
        if urlparse(request_url).hostname == "127.0.0.1":
            r.continue_()
        elif request_url.startswith(JSDELIVR) and (local := npm_file(request_url)):
            kind = mimetypes.guess_type(local.name)[0] or "application/octet-stream"
            r.fulfill(
                status=200,
                body=local.read_bytes(),
                content_type=kind,
                headers={"Access-Control-Allow-Origin": "*"},
            )
        else:
            problems["refused"].append(request_url)
            r.abort("internetdisconnected")

    page.route("**/*", route)
    response = page.goto(url, wait_until="load")
    assert response is not None and response.ok, (
        f"{url}: HTTP {response and response.status}"
    )
    page.wait_for_load_state("networkidle")
    return page, problems


@pytest.mark.parametrize("page_file", toc_files(ROOT))
def test_page_renders_cleanly(page_file, browser, site_url, web_assets):
    page, problems = open_page(browser, f"{site_url}/{page_file}.html")
    try:
        article = page.locator("article.bd-article")
        assert article.count() == 1, "no article body: not a book page"
        text = article.inner_text()
        assert len(text) > 300, f"page body too short ({len(text)} chars)"

        # No error output: tracebacks, stderr streams, failed widgets.
        for marker in ("Traceback (most recent call last)", "Error displaying widget"):
            assert marker not in text, f"page shows {marker!r}"
        for selector in (".output.traceback", ".output.stderr", ".output.error"):
            assert page.locator(selector).count() == 0, f"page has {selector} output"

        # Figures: every image in the article is a real, loaded image.
        images = article.locator("img")
        states = images.evaluate_all(
            """els => els.map(e => ({
                src: e.currentSrc.slice(0, 80),
                ok: e.complete && e.naturalWidth > 0,
            }))"""
        )
        broken = [s["src"] for s in states if not s["ok"]]
        assert not broken, f"images that did not load: {broken}"
        if is_notebook(page_file) and page_file != ROOT_PAGE:
            expected = figures_in_executed_notebook(page_file)
            assert expected >= 1, "a chapter without a single figure"
            assert len(states) >= expected, (
                f"{expected} figures computed, {len(states)} shown"
            )

        if web_assets:
            # Maths typeset by MathJax (served locally).
            if article.locator(".math").count():
                page.wait_for_selector(
                    "mjx-container", state="attached", timeout=20_000
                )
            # Widgets rendered from their saved state.
            views = page.locator(
                'script[type="application/vnd.jupyter.widget-view+json"]'
            )
            if views.count():
                page.wait_for_selector(".widget-slider", timeout=20_000)
                rendered = page.locator(".jupyter-widgets.widget-slider").count()
                assert rendered >= 1, "widget sliders did not render"
                shown = page.locator(".jupyter-widgets.widget-output img")
                assert shown.count() >= 1, "the widget's output figure did not render"
            assert not problems["page errors"], problems["page errors"]

        # Nothing the page asks for is missing, except the icon fonts the widget manager
        # asks for relative to the page rather than to its CDN (an upstream quirk: it
        # resolves its public path from an AMD module id; sliders and outputs need no icons).
        missing = [m for m in problems["missing"] if not WIDGET_FONT.search(m)]
        assert not missing, f"missing resources: {missing}"

        # A chapter's Colab link opens its own notebook on the branch the Pages
        # workflow pushes (the chapters with the built commit in their first cell);
        # while the repository is not published, no page links to it at all.
        url, _ = repository(ROOT)
        if is_notebook(page_file):
            repo = url.removeprefix("https://github.com/")
            expected = [
                f"https://colab.research.google.com/github/{repo}/blob/{COLAB_BRANCH}/"
                f"{page_file}.ipynb"
            ][: int(published(url))]
            links = page.locator('a[href*="colab.research.google.com"]')
            hrefs = links.evaluate_all("els => els.map(e => e.href)")
            assert hrefs == expected, f"Colab links {hrefs}, expected {expected}"
        if not published(url):
            to_it = page.locator(f'a[href^="{url}"]')
            assert to_it.count() == 0, "a link to the placeholder repository"

        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = page_file.replace("/", "_")
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        (SCREENSHOTS / f"{name}.json").write_text(json.dumps(problems, indent=1))
    finally:
        page.close()


# ------------------------------------------------------------------ reading the page

LAYOUT = """article => {
    const column = article.getBoundingClientRect();
    const wide = [], uncued = [];
    for (const el of article.querySelectorAll("table, figure, img, .cell_output")) {
        if (el.closest(".jupyter-widgets")) continue;
        const box = el.getBoundingClientRect();
        const scroller = el.closest(".pst-scrollable-table-container");
        const width = el.tagName === "TABLE" ? el.scrollWidth : box.width;
        const room = scroller ? scroller.clientWidth : column.width;
        if (width > room + 2 || box.right > column.right + 2)
            wide.push(`${el.tagName.toLowerCase()} ${Math.round(width)}px`
                      + ` in ${Math.round(room)}px`);
        if (el.tagName === "TABLE" && scroller && width > room + 2
            && !getComputedStyle(scroller).backgroundImage.includes("gradient"))
            uncued.push(el.innerText.slice(0, 40));
    }
    const bare = [], scales = [];
    for (const img of article.querySelectorAll("img")) {
        if (img.closest(".jupyter-widgets")) continue;
        const fig = img.closest("figure");
        if (!fig || !fig.querySelector("figcaption .caption-number"))
            bare.push(img.currentSrc.split("/").pop().slice(0, 40));
        if (fig && img.naturalWidth)
            scales.push([img.currentSrc.split("/").pop().slice(0, 40),
                         img.getBoundingClientRect().width / img.naturalWidth]);
    }
    // text a reader reads: not code, not maths, not the code cells' inputs
    const reading = el => {
        const copy = el.cloneNode(true);
        copy.querySelectorAll("code, pre, mjx-container, .math, script")
            .forEach(n => n.remove());
        return copy.textContent.replace(/\\s+/g, " ").trim();
    };
    const raw = [], paragraphs = [], cells = [];
    for (const el of article.querySelectorAll("p, td, th, li, .cell_output, figcaption")) {
        if (el.closest("pre, code, .cell_input, mjx-container")) continue;
        raw.push(el.innerText);
        if (el.tagName === "P") paragraphs.push(reading(el));
        if (el.tagName === "TD" || el.tagName === "TH") cells.push(reading(el));
    }
    const prose = Array.from(article.querySelectorAll("p, li, th, figcaption"))
        .filter(el => !el.closest("pre, .cell_input, .highlight")).map(reading);
    const table = article.querySelector("table");
    return {wide, uncued, bare, scales, paragraphs, cells, prose,
            text: raw.join("\\n"),
            firstTable: table ? table.getBoundingClientRect().top + window.scrollY : null,
            page: document.documentElement.scrollWidth, window: window.innerWidth};
}"""

FIGURE_TEXT_PX = MIN_FONT / 72 * RC["savefig.dpi"]
"""The smallest text of a figure, in pixels of its image (:data:`MIN_FONT` at the
book's dpi); shown at a phone's width it must stay at least :data:`PHONE_TEXT` CSS px."""
PHONE_TEXT = 7.0
MACHINERY = re.compile(
    r"(?<![/\w.])[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b|(?<![?&/\w])[a-z_]+=[\w.'\"]+"
)
"""A record field or a config chip (``best_epoch``, ``lr=0.01``) outside code (not a
path such as ``book/gradient_flow`` nor a URL's query such as ``forum?id=...``)."""
REFERENCE_PAGES = ("book/api", "book/status")
"""Pages (with their sections) whose subject is the machinery (the library's
reference, every record's provenance): exempt from :data:`MACHINERY` and from the
repeated-paragraph rule."""
E_NOTATION = re.compile(r"\b\d(?:\.\d+)?e[+-]?\d+\b")
FIRST_SCREEN = 900
"""The introduction's bottom line and the start of its verdict table lie within this
many pixels of the top at 1280 px."""


def reading_problems(found: dict) -> list[str]:
    """What a reader trips over in the text of a page read by :data:`LAYOUT`: record
    fields or settings chips outside code, e-notation in a table, a paragraph repeated
    word for word."""
    problems = [
        f"machinery in the text: {m.group(0)!r} in {text[:60]!r}"
        for text in found["prose"] + found["cells"]
        for m in [MACHINERY.search(text)]
        if m
    ]
    problems += [
        f"e-notation in a table: {c!r}" for c in found["cells"] if E_NOTATION.search(c)
    ]
    seen: set[str] = set()
    for text in found["paragraphs"]:
        if len(text) >= 60 and text in seen:
            problems.append(f"a paragraph repeated: {text[:60]!r}")
        seen.add(text)
    return problems


def layout(page) -> dict:
    return page.locator("article.bd-article").evaluate(LAYOUT)


@pytest.mark.parametrize("page_file", toc_files(ROOT))
def test_page_reads_as_a_reader_needs(page_file, browser, site_url, web_assets):
    """Nothing wider than the column at 1280 px, every image a numbered figure with a
    caption, no raw TeX, record fields, settings chips or repeated paragraphs in the
    text and no e-notation in tables, a claim chapter's verdict first, the
    introduction's bottom line and verdict table on its first screen; at a phone's
    width the page does not scroll sideways, figure text stays legible and a wide
    table shows that it scrolls."""
    page, _ = open_page(browser, f"{site_url}/{page_file}.html")
    try:
        if web_assets and page.locator("article .math").count():
            page.wait_for_selector("mjx-container", state="attached", timeout=20_000)
        found = layout(page)
        assert not found["wide"], f"wider than the column: {found['wide']}"
        problems = reading_problems(found)
        # parameter names and commits are repeated by design on reference pages
        if page_file.startswith(REFERENCE_PAGES):
            problems = [p for p in problems if p.startswith("e-notation")]
        assert not problems, problems[:5]
        assert not found["bare"], f"images without a numbered caption: {found['bare']}"
        tex = RAW_TEX.findall(found["text"]) and RAW_TEX.search(found["text"]).group(0)
        assert not tex, f"raw TeX in the text: {tex!r}"
        if page_file in CLAIM_CHAPTERS:
            first = page.locator("article .admonition, article section section h2")
            kinds = first.evaluate_all("els => els.map(e => e.className)")
            assert kinds and "verdict" in kinds[0], (
                f"the chapter does not open with its verdict (first blocks: {kinds[:2]})"
            )
        if page_file == ROOT_PAGE:
            rows = page.locator("article table").filter(has_text="verdict")
            assert rows.count() >= 1, "the introduction has no verdict table"
            linked = rows.first.locator("tbody tr").filter(
                has=page.locator("a.reference.internal")
            )
            assert linked.count() >= INTRO_CLAIMS, (
                f"the verdict table links {linked.count()} claims, "
                f"expected {INTRO_CLAIMS}"
            )
            top = found["firstTable"]
            assert top is not None and top <= FIRST_SCREEN, (
                f"the verdict table starts at {top} px, below the first screen"
            )
            above = page.locator("article p").first.bounding_box()
            assert above and above["y"] < top, "no bottom line above the verdict table"
    finally:
        page.close()
    phone, _ = open_page(browser, f"{site_url}/{page_file}.html", width=PHONE)
    try:
        found = layout(phone)
        assert found["page"] <= found["window"] + 1, (
            f"at {PHONE} px the page scrolls sideways ({found['page']} px wide)"
        )
        small = [
            f"{name}: {FIGURE_TEXT_PX * scale:.1f} px"
            for name, scale in found["scales"]
            if FIGURE_TEXT_PX * scale < PHONE_TEXT
        ]
        assert not small, f"figure text under {PHONE_TEXT:g} px at {PHONE} px: {small}"
        assert not found["uncued"], (
            f"wide tables without a scroll cue: {found['uncued']}"
        )
        views = 'script[type="application/vnd.jupyter.widget-view+json"]'
        if web_assets and phone.locator(views).count():
            phone.wait_for_selector(".widget-readout", timeout=20_000)
        readouts = phone.locator(".widget-readout").evaluate_all(
            "els => els.map(e => e.getBoundingClientRect().right)"
        )
        off = [round(r) for r in readouts if r > found["window"] + 1]
        assert not off, (
            f"slider values off the screen at {PHONE} px (right edges {off})"
        )
        if page_file == ROOT_PAGE:  # the verdict table as one card per claim
            cards = phone.locator(".verdict-cards table").first
            shape = cards.evaluate(
                "t => [t.scrollWidth, t.clientWidth, getComputedStyle(t.rows[1]).display]"
            )
            assert shape[0] <= shape[1] + 1 and shape[2] == "block", (
                f"the verdict table is not one card per claim on a phone: {shape}"
            )
        name = page_file.replace("/", "_")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        phone.screenshot(path=str(SCREENSHOTS / f"{name}-phone.png"), full_page=True)
    finally:
        phone.close()
