"""First-pass coding of free-text responses with the codebook of the pack's qualitative
themes (config/codebook.yml): which responses mention which themes, how many per theme,
with example quotes. Keyword rules find mentions; they do not read meaning, sarcasm or
negation ("I was not scared" is tagged as fear), so the result is a starting point for a
thematic analysis by a person, not a substitute for one.
"""

import re
from pathlib import Path

import pandas as pd

from .errors import InputError
from .io import read_text_table, read_yaml
from .paths import CONFIG

COLUMNS = ("id", "text", "source")


def load_codebook(path: Path = CONFIG / "codebook.yml") -> dict[str, dict]:
    themes = read_yaml(path).get("themes") or {}
    for name, theme in themes.items():
        missing = [k for k in ("label", "phrases") if not theme.get(k)]
        if missing:
            raise InputError(f"{path}: theme {name}: '{missing[0]}' is missing or empty")
    if not themes:
        raise InputError(f"{path}: no themes declared")
    return themes


def load_responses(path: Path) -> pd.DataFrame:
    """A CSV of responses (id, text, source), checked; empty responses are dropped."""
    table = read_text_table(path, COLUMNS, hint=" (a responses file has columns id, text, source)")
    repeated = table["id"][table["id"].duplicated()]
    if len(repeated):
        row = int(repeated.index[0]) + 2
        raise InputError(f"{path}: row {row}, column id: {repeated.iloc[0]!r} appears more than once")
    return table[table["text"].str.strip() != ""].reset_index(drop=True)


def _pattern(phrases: list[str]) -> re.Pattern:
    return re.compile(r"\b(?:" + "|".join(re.escape(p.lower()) for p in phrases) + ")")


def tag(responses: pd.DataFrame, codebook: dict[str, dict]) -> pd.DataFrame:
    """One row per (response, theme) mentioned: id, theme, label, phrase found."""
    text = responses["text"].str.lower().str.replace("’", "'", regex=False)
    rows = []
    for name, theme in codebook.items():
        pattern = _pattern(theme["phrases"])
        for response_id, found in zip(responses["id"], text.map(pattern.search), strict=True):
            if found:
                rows.append({"id": response_id, "theme": name, "label": theme["label"], "phrase": found.group(0)})
    return pd.DataFrame(rows, columns=["id", "theme", "label", "phrase"])


def summary(responses: pd.DataFrame, tags: pd.DataFrame, codebook: dict[str, dict], examples: int = 2) -> pd.DataFrame:
    """Responses per theme (and share of all responses), with up to `examples` quotes, in
    codebook order; a last row counts responses with no theme."""
    quotes = responses.set_index("id")["text"]
    rows = []
    for name, theme in codebook.items():
        ids = tags.loc[tags["theme"] == name, "id"].tolist()
        rows.append(
            {
                "theme": theme["label"],
                "responses": len(ids),
                "share": 100 * len(ids) / max(len(responses), 1),
                "examples": " | ".join(quotes[i] for i in ids[:examples]),
            }
        )
    untagged = responses.loc[~responses["id"].isin(tags["id"]), "text"]
    rows.append(
        {
            "theme": "No theme found",
            "responses": len(untagged),
            "share": 100 * len(untagged) / max(len(responses), 1),
            "examples": " | ".join(untagged[:examples]),
        }
    )
    return pd.DataFrame(rows)
