"""The pack's qualitative evidence as data (data/published/): the literature-review
studies and themes, previous MOPAC research, victims' and practitioners' quotes, the
pack's summary of each qualitative theme and its suggestions (qual_findings), and its
statements on the literature and on a good service (qual_statements). Each table is
checked on loading (its columns present, its key values allowed), so an analyst who adds
a study or a quote gets a clear error for a slip. The functions below turn the tables
into the chapter's text, every sentence attributed to the pack, so nothing is retyped.
"""

import pandas as pd

from .errors import InputError
from .io import check_allowed, read_text_table
from .paths import PUBLISHED

TABLES = {
    "literature_studies": ("crime_area", "title", "authors", "year", "method", "themes", "source"),
    "literature_themes": ("group", "theme", "factor", "finding", "direction", "influence", "source"),
    "previous_research": (
        "study",
        "year",
        "description",
        "crime_area",
        "withdrawal_rate",
        "withdrawal_rate_percent",
        "influences",
        "other_findings",
        "source",
    ),
    "quotes": ("id", "text", "speaker", "source", "section", "pack_theme"),
    "qual_findings": ("id", "voice", "question", "theme", "finding", "source", "pack_section"),
    "qual_statements": ("id", "topic", "statement", "source", "pack_section"),
}
DIRECTIONS = {"increases": "↑", "decreases": "↓", "mixed": "↔"}
INFLUENCE = ("fixed", "open to influence")
VOICES = ("Victims", "Practitioners")
TOPICS = ("literature", "good_service", "satisfaction", "caution")
ALLOWED = {"direction": DIRECTIONS, "influence": INFLUENCE, "voice": VOICES, "topic": TOPICS}


def load(name: str) -> pd.DataFrame:
    path = PUBLISHED / f"{name}.csv"
    table = read_text_table(path, TABLES[name])
    check_allowed(table, path, ALLOWED)
    if "id" in table.columns:
        repeated = table["id"][table["id"].duplicated()]
        if len(repeated):
            raise InputError(f"{path}: row {repeated.index[0] + 2}, column id: {repeated.iloc[0]!r} appears twice")
    return table


def theme_matrix(studies: pd.DataFrame, themes: list[str]) -> pd.DataFrame:
    """Studies citing each theme (rows, in `themes` order) by crime area (columns)."""
    unknown = sorted({t for cell in studies["themes"] for t in cell.split("; ") if t} - set(themes))
    if unknown:
        raise InputError(
            f"{PUBLISHED / 'literature_studies.csv'}: theme {unknown[0]!r} is not in literature_themes.csv"
        )
    long = studies.assign(theme=studies["themes"].str.split("; ")).explode("theme")
    long = long[long["theme"] != ""]
    matrix = pd.crosstab(long["theme"], long["crime_area"])
    return matrix.reindex(index=themes, columns=list(dict.fromkeys(studies["crime_area"])), fill_value=0)


def statements(table: pd.DataFrame, topic: str) -> list[str]:
    """The pack's statements on one topic of qual_statements, in the file's order."""
    chosen = table.loc[table["topic"] == topic, "statement"].tolist()
    if not chosen:
        raise InputError(f"{PUBLISHED / 'qual_statements.csv'}: no statement with topic {topic!r}")
    return chosen


def bullets(items: list[str], lead: str) -> str:
    """A lead sentence and a Markdown list (one item per row, so every row is on the page)."""
    return lead + "\n\n" + "\n".join(f"- {item}" for item in items) + "\n"


def voices(findings: pd.DataFrame, quotes: pd.DataFrame, question: str) -> str:
    """One question of the qualitative fieldwork as Markdown: each theme in bold, the pack's
    summary of it (a theme with several findings lists them), then the quotes filed under
    it. A quote filed under a theme the pack's findings do not name is an error, so no quote
    drops out of the page unseen."""
    rows = findings[findings["question"] == question]
    if rows.empty:
        raise InputError(f"{PUBLISHED / 'qual_findings.csv'}: no finding for question {question!r}")
    filed = quotes[quotes["section"] == question]
    orphans = sorted(set(filed["pack_theme"]) - set(rows["theme"]))
    if orphans:
        raise InputError(
            f"{PUBLISHED / 'quotes.csv'}: theme {orphans[0]!r} of section {question!r} is not in qual_findings.csv"
        )
    parts = []
    for theme, group in rows.groupby("theme", sort=False):
        texts = group["finding"].tolist()
        summary = texts[0] if len(texts) == 1 else "\n".join(f"- {t}" for t in texts)
        parts.append(f"**{theme}.**" + (f" {summary}" if len(texts) == 1 else f"\n\n{summary}") + "\n")
        said = filed[filed["pack_theme"] == theme]
        parts += [f"> “{row.text}” — {row.speaker}\n" for row in said.itertuples()]
    return "\n".join(parts)


def rate_range(previous: pd.DataFrame) -> dict:
    """The lowest and highest single withdrawal rates among previous MOPAC studies (studies
    that give a rate per setting, with no single figure, are left out and counted)."""
    rates = pd.to_numeric(previous["withdrawal_rate_percent"], errors="coerce")
    given = previous.assign(rate=rates).dropna(subset=["rate"])
    if given.empty:
        raise InputError(f"{PUBLISHED / 'previous_research.csv'}: no study gives a single withdrawal rate")
    low, high = given.loc[given["rate"].idxmin()], given.loc[given["rate"].idxmax()]
    return {
        "low": low["rate"],
        "low_study": low["study"],
        "high": high["rate"],
        "high_study": high["study"],
        "n_rated": len(given),
        "n_unrated": len(previous) - len(given),
    }
