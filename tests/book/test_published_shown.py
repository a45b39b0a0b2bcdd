"""Every figure the pack publishes, as transcribed in data/published/, appears on the
book page that config/published_pages.yml assigns it to: a row dropped from a chapter
(or a row added to a file and never shown) fails here."""

import base64
import csv
import io
import re

import pytest
import yaml

from helpers.paths import PUBLISHED, ROOT

PAGES = yaml.safe_load((ROOT / "config" / "published_pages.yml").read_text()) or {}


def _downloads(page_html: str, prefix: str) -> list[list[dict]]:
    """The CSV downloads on a page whose name starts with `prefix`, each as rows."""
    found = []
    for name, data in re.findall(r'download="([^"]+\.csv)" href="data:text/csv;base64,([^"]*)"', page_html):
        if name.startswith(prefix):
            found.append(list(csv.DictReader(io.StringIO(base64.b64decode(data).decode()))))
    return found


def _figure_files() -> list[str]:
    """The files of published figures (helpers.published's columns, led by `key`); the text
    tables of helpers.evidence are checked by their own tests."""
    return sorted(p.stem for p in PUBLISHED.glob("*.csv") if p.read_text(encoding="utf-8").startswith("key,"))


def test_every_published_file_is_assigned_a_page():
    assert _figure_files() == sorted(PAGES)


@pytest.mark.parametrize("name", sorted(PAGES))
def test_every_published_row_is_shown_on_its_chapter(html_dir, name):
    with open(PUBLISHED / f"{name}.csv", newline="", encoding="utf-8") as handle:
        keys = {row["key"] for row in csv.DictReader(handle)}
    shown, empty = set(), []
    for chapter in PAGES[name]:
        page = (html_dir / "notebooks" / f"{chapter}.html").read_text(encoding="utf-8")
        downloads = _downloads(page, f"published-{name}")
        if not downloads:
            empty.append(chapter)
        shown |= {row.get("key") for rows in downloads for row in rows}
    assert empty == [], f"{name}: no published-{name}*.csv download on {empty}"
    assert sorted(keys - shown) == [], f"{name}: rows not shown on {PAGES[name]}"
