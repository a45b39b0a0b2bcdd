"""The pack's recommendations (data/published/recommendations.yml), each tied to the
evidence in this book: computed figures are pasted from the chapter that computes them
(myst-nb glue across pages, so a re-run updates them); published figures are read from
data/published/. `problems` lists any link that does not resolve."""

import json
from pathlib import Path

from . import published
from .errors import InputError
from .io import read_yaml
from .paths import PUBLISHED, ROOT

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


def problems(spec: dict, notebooks: Path = NOTEBOOKS) -> list[str]:
    """Every recommendation without evidence, or with a link that resolves to nothing."""
    found = []
    for category in spec["categories"]:
        for rec in category["recommendations"]:
            if not rec.get("evidence"):
                found.append(f"{rec['id']}: no evidence linked")
            for item in rec.get("evidence", []):
                if "chapter" in item:
                    notebook = notebooks / f"{item['chapter']}.ipynb"
                    if not notebook.is_file():
                        found.append(f"{rec['id']}: chapter {item['chapter']} does not exist")
                    elif item["glue"] not in glued(notebook):
                        found.append(f"{rec['id']}: {item['chapter']} glues no {item['glue']!r}")
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
    return found


def evidence_line(item: dict) -> str:
    """One MyST list item: the figure (pasted from its chapter, or published) and where it comes from."""
    if "chapter" in item:
        value = f"{{glue:text}}`{item['chapter']}.ipynb::{item['glue']}:{item['format']}`{item['unit']}"
        chapter = item["chapter"].split("_", 1)[1].replace("_", " ")
        return f"- {item['label']}: **{value}** (this run; [{chapter}]({item['chapter']}.ipynb))"
    row = published.load(item["published"]).loc[item["key"]]
    return f"- {item['label']}: **{row['value']:g}{item['unit']}** (published by the pack; {row['pack_section']})"


def markdown(spec: dict, category: str) -> str:
    """One category's recommendations as MyST markdown (chapter 09 renders each category
    under its own heading; headings cannot sit inside a cell's output)."""
    chosen = [c for c in spec["categories"] if c["name"] == category]
    if not chosen:
        raise InputError(f"{SOURCE}: no category {category!r}")
    parts = []
    for rec in chosen[0]["recommendations"]:
        parts.append(f"**{rec['title']}.** {rec['text']}\n\n*Evidence in this book:*\n")
        parts.append("\n".join(evidence_line(item) for item in rec["evidence"]) + "\n")
    return "\n".join(parts)
