"""The pack's statements about its data and method (helpers.pack_notes text tables), its key
variables and its outcome definitions are on their built pages: every row of each file
appears in the page's CSV download (a row dropped from a page fails here)."""

import base64
import csv
import io
import re

import pytest

from helpers import codebook_pages, pack_notes

PAGES = {name: "05_dataset" for name in pack_notes.TABLES} | {"pack_inconsistencies": "91_notes_on_the_pack"}


def _download(html_dir, chapter: str, csv_name: str) -> list[dict]:
    page = (html_dir / "notebooks" / f"{chapter}.html").read_text(encoding="utf-8")
    for name, data in re.findall(r'download="([^"]+\.csv)" href="data:text/csv;base64,([^"]*)"', page):
        if name == csv_name:
            return list(csv.DictReader(io.StringIO(base64.b64decode(data).decode())))
    pytest.fail(f"{chapter}: no {csv_name} download")


@pytest.mark.parametrize("name", sorted(PAGES))
def test_every_row_of_a_text_table_is_shown_on_its_page(html_dir, name):
    key = pack_notes.TABLES[name][0]
    shown = {row[key] for row in _download(html_dir, PAGES[name], f"published-{name}.csv")}
    assert sorted(set(pack_notes.load(name).index) - shown) == []


def test_chapter_05_shows_every_key_variable_and_outcome_code(html_dir):
    variables = {row["Name (pack)"] for row in _download(html_dir, "05_dataset", "key_variables.csv")}
    assert set(codebook_pages.load_key_variables()["name"]) - variables == set()
    codes = {row["Code"] for row in _download(html_dir, "05_dataset", "outcome_definitions.csv")}
    assert set(codebook_pages.outcome_definitions()["code"]) - codes == set()
