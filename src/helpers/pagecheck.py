"""Checks of the built HTML book: internal links resolve, nothing is fetched from the
web, and every page loads in headless Chromium (Debian's) without errors."""

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WEB_URL_IN_CSS = re.compile(r"""url\(\s*['"]?((?:https?:)?//[^'")\s]+)""")
# Attributes whose URL the browser loads when the page opens (not links a reader follows).
LOADED = {
    ("script", "src"),
    ("img", "src"),
    ("link", "href"),
    ("iframe", "src"),
    ("source", "src"),
    ("video", "src"),
    ("audio", "src"),
    ("embed", "src"),
    ("object", "data"),
}


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.loaded: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key):
                self.ids.add(attrs[key])
        for attr in ("href", "src", "data"):
            url = attrs.get(attr)
            if url:
                is_loaded = (tag, attr) in LOADED and not (tag == "link" and attrs.get("rel") in ("canonical",))
                (self.loaded if is_loaded else self.links).append(url)


def _parse(path: Path) -> _Refs:
    refs = _Refs()
    refs.feed(path.read_text(encoding="utf-8"))
    return refs


def _is_external(url: str) -> bool:
    return urlsplit(url).scheme in ("http", "https") or url.startswith("//")


def pages_of(html_dir: Path) -> list[Path]:
    """The book's pages; _static holds the theme's HTML templates, which are not pages."""
    return sorted(p for p in html_dir.rglob("*.html") if "_static" not in p.relative_to(html_dir).parts)


def broken_links(html_dir: Path) -> list[str]:
    """Internal links and loaded files that do not resolve, as 'page: url' strings."""
    pages = pages_of(html_dir)
    ids = {page: _parse(page).ids for page in pages}
    problems = []
    for page in pages:
        refs = _parse(page)
        for url in refs.links + refs.loaded:
            parts = urlsplit(url)
            if parts.scheme or url.startswith("//"):
                continue  # external links are allowed to be followed by a reader; see external_loads
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                problems.append(f"{page.relative_to(html_dir)}: {url} (no such file)")
            elif (
                parts.fragment
                and target.suffix == ".html"
                and unquote(parts.fragment) not in ids.get(target, _parse(target).ids)
            ):
                problems.append(f"{page.relative_to(html_dir)}: {url} (no such anchor)")
    return problems


def external_loads(html_dir: Path) -> list[str]:
    """Resources a page would fetch from the web when opened (scripts, styles, images...)."""
    problems = []
    for page in pages_of(html_dir):
        problems += [f"{page.relative_to(html_dir)}: {url}" for url in _parse(page).loaded if _is_external(url)]
    for sheet in sorted(html_dir.rglob("*.css")):
        text = sheet.read_text(encoding="utf-8", errors="replace")
        problems += [f"{sheet.relative_to(html_dir)}: {url}" for url in WEB_URL_IN_CSS.findall(text)]
    return problems


def _watch(page, problems: list[str]) -> None:
    """Block every request that is not for a local file, and record it with console errors,
    script errors and local files that failed to load."""
    page.route(
        lambda url: not url.startswith("file:"),
        lambda route: (problems.append(f"request to the web: {route.request.url}"), route.abort()),
    )
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
    page.on(
        "requestfailed",
        lambda r: problems.append(f"failed to load {r.url}: {r.failure}") if r.url.startswith("file:") else None,
    )


def browser_errors(pages: list[Path]) -> dict[str, list[str]]:
    """Open each page in headless Chromium with the network cut off; list what went wrong.

    Any request that is not for a local file is blocked and reported, so a page that
    would fetch from the web fails here too.
    """
    from playwright.sync_api import sync_playwright

    report: dict[str, list[str]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for path in pages:
            problems: list[str] = []
            page = browser.new_page()
            _watch(page, problems)
            page.goto(path.resolve().as_uri(), wait_until="load")
            page.close()
            report[str(path)] = problems
        browser.close()
    return report


def sort_by_header(path: Path, caption: str, header: str, clicks: int) -> list[str]:
    """Click a table's header `clicks` times in headless Chromium and return that column's
    cells, top to bottom (what a reader sees after sorting)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(path.resolve().as_uri(), wait_until="load")
        table = page.locator("table", has=page.locator("caption", has_text=caption))
        column = [h.strip() for h in table.locator("thead th").all_inner_texts()].index(header)
        for _ in range(clicks):  # by position: the header's text gains a sort arrow after a click
            table.locator("thead th").nth(column).get_by_role("button").click()
        cells = table.locator(f"tbody tr td:nth-child({column + 1})").all_inner_texts()
        browser.close()
    return cells


def accessibility(pages: list[Path], impacts: tuple[str, ...] = ("serious", "critical")) -> dict[str, list[dict]]:
    """Run axe-core (WCAG 2.0-2.2 A and AA rules) on each page in headless Chromium; return,
    per page, the violations of the given impacts: rule id, impact, help text, elements hit."""
    from axe_playwright_python import __file__ as axe_package
    from playwright.sync_api import sync_playwright

    axe_script = Path(axe_package).with_name("axe.min.js")
    tags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
    report: dict[str, list[dict]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.route(lambda url: not url.startswith("file:"), lambda route: route.abort())
        for path in pages:
            page.goto(path.resolve().as_uri(), wait_until="load")
            page.wait_for_load_state("networkidle")  # a redirect page (meta refresh) navigates after load
            page.add_script_tag(path=str(axe_script))
            result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", tags)
            report[str(path)] = [
                {
                    "id": v["id"],
                    "impact": v["impact"],
                    "help": v["help"],
                    "targets": [" ".join(map(str, n["target"])) for n in v["nodes"]][:5],
                }
                for v in result["violations"]
                if v["impact"] in impacts
            ]
        browser.close()
    return report


SCREEN_WIDTHS = {"desktop": (1280, 800), "phone": (390, 844)}


def screenshots(pages: list[Path], html_dir: Path, out: Path) -> list[Path]:
    """Full-page screenshots of each page at desktop and phone widths, for a reading pass;
    named after the page's path in the book. Returns the files written."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for name, (width, height) in SCREEN_WIDTHS.items():
            page = browser.new_page(viewport={"width": width, "height": height})
            page.route(lambda url: not url.startswith("file:"), lambda route: route.abort())
            for path in pages:
                page.goto(path.resolve().as_uri(), wait_until="load")
                page.wait_for_load_state("networkidle")
                target = out / f"{path.relative_to(html_dir).with_suffix('').as_posix().replace('/', '-')}-{name}.png"
                page.screenshot(path=str(target), full_page=True)
                written.append(target)
            page.close()
        browser.close()
    return written
