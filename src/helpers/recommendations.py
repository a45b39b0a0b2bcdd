"""The pack's recommendations (data/published/recommendations.yml), each tied to the
evidence in this book: computed figures are pasted from the chapter that computes them
(myst-nb glue across pages, so a re-run updates them), each with the period it covers;
published figures are read from data/published/ with the pack's period. A recommendation
the book acts on links to the page that does. `problems` lists any link that does not
resolve."""

import json
from pathlib import Path

from . import pas, published
from .errors import InputError
from .io import read_yaml
from .params import Params
from .paths import PUBLISHED, ROOT
from .sources import load_sources

SOURCE = PUBLISHED / "recommendations.yml"
NOTEBOOKS = ROOT / "notebooks"


def load(path: Path = SOURCE) -> dict:
    return read_yaml(path)


def glued(notebook: Path) -> dict[str, str]:
    """What an executed notebook glues, by name: the Markdown form where there is one
    (strings), else the plain text (numbers)."""
    values = {}
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        for out in cell.get("outputs", []):
            if "scrapbook" in out.get("metadata", {}):
                prefix = out["metadata"]["scrapbook"]["mime_prefix"]
                data = out["data"]
                values[out["metadata"]["scrapbook"]["name"]] = data.get(
                    f"{prefix}text/markdown", data.get(f"{prefix}text/plain")
                )
    return values


def periods(params: Params) -> dict[str, str]:
    """What a run's figures cover, by the `period` an evidence item names (cross-page glue can
    paste numbers only, so the periods are worked out here from the run's parameters, as the
    chapters that compute the figures work them out): the crime-report extract's period
    (run); the latest Home Office outcomes year the run names (home_office); the PAS survey
    year and its recorded-crime window (pas); the responses coded (responses)."""
    title = load_sources()[params.home_office_sources[-1]].title
    own = params.responses_file.strip()
    return {
        "run": params.period_label,
        "home_office": title.split(", ", 1)[-1].split(" (", 1)[0],
        "pas": f"PAS {params.pas_survey_year} against crimes recorded {pas.window_label(params.pas_survey_year)}",
        "responses": f"the responses in `{own}`" if own else "the pack's quotes: victims 2025, practitioners undated",
    }


PERIODS = ("run", "home_office", "pas", "responses")


def _glue_problem(rec_id: str, chapter: str, glue: str, notebooks: Path) -> str | None:
    notebook = notebooks / f"{chapter}.ipynb"
    if not notebook.is_file():
        return f"{rec_id}: chapter {chapter} does not exist"
    if glue not in glued(notebook):
        return f"{rec_id}: {chapter} glues no {glue!r}"
    return None


def problems(spec: dict, notebooks: Path = NOTEBOOKS) -> list[str]:
    """Every recommendation without evidence, or with a link that resolves to nothing."""
    found = []
    for category in spec["categories"]:
        for rec in category["recommendations"]:
            if not rec.get("evidence"):
                found.append(f"{rec['id']}: no evidence linked")
            for item in rec.get("evidence", []):
                if "chapter" in item:
                    if problem := _glue_problem(rec["id"], item["chapter"], item["glue"], notebooks):
                        found.append(problem)
                    if item.get("period", "run") not in PERIODS:
                        found.append(f"{rec['id']}: period {item['period']!r} is not one of {', '.join(PERIODS)}")
                elif "published" in item:
                    try:
                        table = published.load(item["published"])
                    except InputError as exc:
                        found.append(f"{rec['id']}: {exc}")
                        continue
                    if item["key"] not in table.index:
                        found.append(f"{rec['id']}: {item['published']} has no key {item['key']!r}")
                else:
                    found.append(f"{rec['id']}: evidence needs a chapter or a published table")
            for link in rec.get("in_this_book", []):
                if not (notebooks / link["page"]).is_file():
                    found.append(f"{rec['id']}: page {link['page']} does not exist")
    return found


def _chapter_name(chapter: str) -> str:
    return chapter.split("_", 1)[1].replace("_", " ")


def evidence_line(item: dict, covers: dict[str, str]) -> str:
    """One MyST list item: the figure (pasted from its chapter, or published), the period it
    covers and where it comes from."""
    if "chapter" in item:
        value = f"{{glue:text}}`{item['chapter']}.ipynb::{item['glue']}:{item['format']}`{item['unit']}"
        when = covers[item.get("period", "run")]
        link = f"[{_chapter_name(item['chapter'])}]({item['chapter']}.ipynb)"
        return f"- {item['label']}: **{value}** (this run, {when}; {link})"
    row = published.load(item["published"]).loc[item["key"]]
    label = item.get("label") or f"The pack: {row['measure'][0].lower()}{row['measure'][1:]}"
    return (
        f"- {label}: **{row['value']:g}{item['unit']}** "
        f"(published by the pack; period: {row['period']}; section “{row['pack_section'].strip()}”)"
    )


def markdown(spec: dict, category: str, covers: dict[str, str]) -> str:
    """One category's recommendations as MyST markdown (chapter 09 renders each category
    under its own heading; headings cannot sit inside a cell's output): the pack's words, its
    list where it gives one, this book's reading where the pack leaves a term undefined, the
    evidence, and the pages of this book that act on it. `covers` names the periods of the
    figures that follow the run (`periods`)."""
    chosen = [c for c in spec["categories"] if c["name"] == category]
    if not chosen:
        raise InputError(f"{SOURCE}: no category {category!r}")
    parts = []
    for rec in chosen[0]["recommendations"]:
        parts.append(f"**{rec['title']}.** The pack: “{rec['text']}”\n")
        if rec.get("points_from"):
            parts.append(f"*From {rec['points_from']}:*\n")
        if rec.get("points"):
            parts.append("\n".join(f"- {point}" for point in rec["points"]) + "\n")
        if rec.get("book_note"):
            parts.append(f"*This book's reading:* {rec['book_note']}\n")
        parts.append("*Evidence in this book:*\n")
        parts.append("\n".join(evidence_line(item, covers) for item in rec["evidence"]) + "\n")
        if rec.get("in_this_book"):
            links = "; ".join(f"[{link['label']}]({link['page']})" for link in rec["in_this_book"])
            parts.append(f"*What this book does about it:* {links}.\n")
    return "\n".join(parts)
