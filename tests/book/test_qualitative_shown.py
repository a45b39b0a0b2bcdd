"""The pack's qualitative evidence and recommendations are on their built pages: every
finding, suggestion, statement and quote of data/published/ on chapter 08, and every
recommendation with its own list on chapter 09 (a row dropped from a page fails here)."""

import html
import re

from helpers import evidence, recommendations

QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "\u00a0": " ", "…": "..."})


def _text(page) -> str:
    """A built page's visible text, quotes straightened and spaces collapsed (Sphinx curls
    quotes and wraps lines)."""
    body = re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8"))
    return re.sub(r"\s+", " ", html.unescape(body).translate(QUOTES))


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text.translate(QUOTES)).strip()


def test_chapter_08_shows_every_finding_statement_and_quote(html_dir):
    page = _text(html_dir / "notebooks" / "08_literature_and_voices.html")
    rows = (
        evidence.load("qual_findings")["finding"].tolist()
        + evidence.load("qual_statements")["statement"].tolist()
        + evidence.load("quotes")["text"].tolist()
    )
    missing = [row for row in rows if _clean(row) not in page]
    assert missing == []


def test_chapter_09_shows_every_recommendation_and_its_list(html_dir):
    page = _text(html_dir / "notebooks" / "09_recommendations.html")
    spec = recommendations.load()
    for rec in (r for c in spec["categories"] for r in c["recommendations"]):
        for text in [
            rec["title"],
            rec["text"],
            *rec.get("points", []),
            *(i["label"] for i in rec.get("in_this_book", [])),
        ]:
            assert _clean(text) in page, (rec["id"], text)
