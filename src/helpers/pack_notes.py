"""The pack's statements about its own data and method, kept as text tables in
data/published/ and checked on loading: its limitations and what this book does about
each, its data recommendations, the victims' box on learning about their own case, the
crime types it left out of further analysis, and the internal inconsistencies this book
found in it (the appendix "Notes on the pack").

Each table has an identifying first column whose values are unique and every required
cell filled, so a slip in a transcription is an error naming the file, row and column.
"""

import pandas as pd

from .errors import InputError
from .io import check_allowed, read_text_table
from .paths import PUBLISHED
from .withdrawal import shown_count

# file -> (identifying column, required columns, columns that may be empty)
TABLES = {
    "methodology_limitations": (
        "id",
        ("limitation", "pack_text", "in_this_book", "source", "pack_section"),
        ("figure",),
    ),
    "data_recommendations": ("id", ("recommendation", "pack_text", "in_this_book", "source", "pack_section"), ()),
    "data_victim_accounts": ("id", ("text", "attribution", "source", "pack_section"), ("note",)),
    "methodology_exclusions": (
        "id",
        ("crime_type", "reason", "run_column", "run_value", "source", "pack_section"),
        ("pack_rate_key",),
    ),
    "pack_inconsistencies": (
        "id",
        ("topic", "first", "first_where", "second", "second_where", "kind", "comment"),
        (),
    ),
}
KINDS = {
    "contradiction": "the two figures or statements cannot both be right",
    "swapped": "two models' figures exchanged between slide and table",
    "duplicate": "one model's results printed again under another",
    "arithmetic": "a figure that does not follow from the pack's other figures",
    "label": "a label, model number or date that differs",
    "wording": "words that do not fit the figures or the comparison beside them",
}
RUN_COLUMNS = ("crime_type", "area")  # how an excluded crime type is found in the analysis dataset


def load(name: str) -> pd.DataFrame:
    """A text table of data/published/, checked, indexed by its identifying column."""
    path = PUBLISHED / f"{name}.csv"
    key, required, optional = TABLES[name]
    table = read_text_table(path, (key, *required, *optional))
    for column in (key, *required):
        empty = table.index[table[column].str.strip() == ""]
        if len(empty):
            raise InputError(f"{path}: row {empty[0] + 2}, column {column}: empty")
    repeated = table[key][table[key].duplicated()].tolist()
    if repeated:
        raise InputError(f"{path}: {key} {repeated[0]!r} appears more than once")
    check_allowed(table, path, {"kind": KINDS, "run_column": RUN_COLUMNS})
    return table.set_index(key)


def exclusion_rates(
    exclusions: pd.DataFrame, cohort: pd.DataFrame, pack_rates: pd.Series, threshold: int
) -> pd.DataFrame:
    """For each crime type the pack left out of further analysis: its reports and victim
    withdrawal rate (%) in this run's dataset, beside the pack's published rate where it
    gives one. A crime type with fewer than `threshold` reports has its rate suppressed
    (NaN) and its count shown as "N<threshold"; one absent from the extract shows "-"."""
    rows = []
    for key, spec in exclusions.iterrows():
        if spec["run_column"] == "area":
            selected = cohort[spec["run_value"]] if spec["run_value"] in cohort.columns else cohort.index < 0
        else:
            selected = cohort["crime_type"] == spec["run_value"]
        reports = int(selected.sum())
        rate = 100 * cohort.loc[selected, "victim_withdrawal"].mean() if reports >= max(threshold, 1) else float("nan")
        pack = pack_rates.get(spec["pack_rate_key"], float("nan")) if spec["pack_rate_key"] else float("nan")
        rows.append(
            {
                "id": key,
                "crime_type": spec["crime_type"],
                "reason": spec["reason"],
                "pack_rate": pack,
                "reports": shown_count(reports, threshold),
                "run_rate": round(rate, 1) if pd.notna(rate) else rate,
                "source": spec["source"],
                "pack_section": spec["pack_section"],
            }
        )
    return pd.DataFrame(rows).set_index("id")


def kinds_table(inconsistencies: pd.DataFrame) -> pd.DataFrame:
    """How many inconsistencies of each kind, with what the kind means (kinds in KINDS order)."""
    counts = inconsistencies["kind"].value_counts()
    return pd.DataFrame(
        [{"Kind": kind, "Meaning": meaning, "Found": int(counts.get(kind, 0))} for kind, meaning in KINDS.items()]
    )


def implied_share(correct_0: float, correct_1: float, correct: float) -> float:
    """The share (%) of a model's reports in outcome class 1 that its three published
    classification rates imply: the overall % correct is the mean of the % correct in each
    class weighted by the class's share, so share = (overall - %0) / (%1 - %0). NaN where
    the two class rates are equal."""
    if correct_1 == correct_0:
        return float("nan")
    return 100 * (correct - correct_0) / (correct_1 - correct_0)


def classification_check(models: pd.DataFrame) -> pd.DataFrame:
    """For each model of the pack's "Regression models" tables (data/published/
    regression_models.csv, one row per statistic) with its three % correct figures: the
    share of its reports in class 1 they imply, and how many reports that is."""
    wide = models.pivot_table(index="model_id", columns="statistic", values="value", sort=False)
    wide = wide.dropna(subset=["n", "pct_correct_0", "pct_correct_1", "pct_correct"])
    share = [implied_share(*row) for row in wide[["pct_correct_0", "pct_correct_1", "pct_correct"]].itertuples(False)]
    return pd.DataFrame(
        {
            "model": wide.index,
            "n": wide["n"].astype(int).to_numpy(),
            "pct_correct_0": wide["pct_correct_0"].to_numpy(),
            "pct_correct_1": wide["pct_correct_1"].to_numpy(),
            "pct_correct": wide["pct_correct"].to_numpy(),
            "implied_share": [round(s, 1) for s in share],
            "implied_reports": [round(wide["n"].iloc[i] * s / 100) for i, s in enumerate(share)],
        }
    )


def withdrawals_check(models: pd.DataFrame, tolerance: float = 10.0) -> pd.DataFrame:
    """The withdrawals each withdrawal model's % correct figures imply, beside the
    withdrawals the pack publishes for the same reports: the sample of its early-against-late
    model, whose filters are the same with "Victim withdrew" added (the first such model).
    `agrees` is False where the two differ by more than `tolerance` per cent."""
    check = classification_check(models)
    filters = models.drop_duplicates("model_id").set_index("model_id")["filters"].str.lower()
    sizes = check.set_index("model")["n"]
    rows = []
    for row in check.itertuples(index=False):
        early = filters.index[filters == f"victim withdrew, {filters[row.model]}"]
        if len(early) and row.model not in early:
            published = int(sizes[early[0]])
            gap = 100 * (row.implied_reports - published) / published
            rows.append(
                {
                    "model": row.model,
                    "n": row.n,
                    "pct_correct_0": row.pct_correct_0,
                    "pct_correct_1": row.pct_correct_1,
                    "pct_correct": row.pct_correct,
                    "implied_withdrawals": row.implied_reports,
                    "early_model": early[0],
                    "published_withdrawals": published,
                    "gap": round(gap, 1),
                    "agrees": abs(gap) <= tolerance,
                }
            )
    return pd.DataFrame(rows)


def withdrawals_sentence(check: pd.DataFrame, tolerance: float = 10.0) -> str:
    """What the check finds, from its numbers: which models' figures do not add up."""
    odd = check[~check["agrees"]]
    if odd.empty:
        return (
            f"For all {len(check)} models the implied withdrawals are within {tolerance:.0f}% of those the pack "
            "publishes: their figures add up."
        )
    parts = [
        f"model {r.model} implies {r.implied_withdrawals:,} withdrawals where model {r.early_model}'s sample "
        f"has {r.published_withdrawals:,} ({r.gap:+.0f}%)"
        for r in odd.itertuples(index=False)
    ]
    return (
        f"For {len(check) - len(odd)} of the {len(check)} models the implied withdrawals are within {tolerance:.0f}% "
        f"of those the pack publishes; they are not for {len(odd)}: " + "; ".join(parts) + "."
    )
