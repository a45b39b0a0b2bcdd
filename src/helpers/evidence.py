"""The pack's qualitative evidence as data (data/published/): the literature-review
studies and themes, previous MOPAC research, and victims' and practitioners' quotes.
Each table is checked on loading (its columns present, its key values allowed), so an
analyst who adds a study or a quote gets a clear error for a slip.
"""

import pandas as pd

from .errors import InputError
from .io import read_text_table
from .paths import PUBLISHED

TABLES = {
    "literature_studies": ("crime_area", "title", "authors", "year", "method", "themes", "source"),
    "literature_themes": ("group", "theme", "factor", "finding", "direction", "influence", "source"),
    "previous_research": (
        "study",
        "description",
        "crime_area",
        "withdrawal_rate",
        "influences",
        "other_findings",
        "source",
    ),
    "quotes": ("id", "text", "speaker", "source", "section", "pack_theme"),
}
DIRECTIONS = {"increases": "↑", "decreases": "↓", "mixed": "↔"}
INFLUENCE = ("fixed", "open to influence")


def load(name: str) -> pd.DataFrame:
    path = PUBLISHED / f"{name}.csv"
    table = read_text_table(path, TABLES[name])
    checks = {"direction": DIRECTIONS, "influence": INFLUENCE}
    for column, allowed in checks.items():
        if column in table.columns:
            bad = table.index[~table[column].isin(list(allowed))]
            if len(bad):
                raise InputError(
                    f"{path}: row {bad[0] + 2}, column {column}: {table.loc[bad[0], column]!r} "
                    f"(use {', '.join(allowed)})"
                )
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
