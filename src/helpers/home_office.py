"""Home Office police recorded crime outcomes open data, in every published form.

Reads the CSV exports of the ODS tables (old headers), the ODS and XLSX files
themselves (title rows above the header, cover and notes sheets, new headers in the
2025 re-publications) and snake_case copies, into one frame with canonical columns
(config/home_office.yml). Withdrawal rates follow the pack: outcome types 14 + 16
over all outcomes, and over outcomes excluding type 0 (pending).
"""

import re
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError
from .io import read_yaml
from .paths import CONFIG

YEAR = re.compile(r"\d{4}/\d{2}")
COUNTS = ("recorded_in_quarter", "closed_in_quarter")
BASES = {
    "recorded_in_quarter": "outcomes for offences recorded in the quarter",
    "closed_in_quarter": "outcomes for investigations closed in the quarter",
}


@cache
def config() -> dict:
    return read_yaml(CONFIG / "home_office.yml")


def _aliases() -> dict[str, str]:
    return {alias.lower(): canonical for canonical, names in config()["columns"].items() for alias in names}


def _header_row(grid: pd.DataFrame) -> int | None:
    """Index of the row that holds the column headers in a sheet with title rows above it."""
    aliases = _aliases()
    need = len(config()["required"])
    for i, row in enumerate(grid.itertuples(index=False)):
        if sum(str(v).strip().lower() in aliases for v in row) >= need:
            return i
    return None


def _tables(path: Path) -> list[tuple[str, pd.DataFrame, int]]:
    """(label, raw table of text, file row number of the first data row) for each data table in a file."""
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return [(path.name, pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig"), 2)]
    if name.endswith((".ods", ".xlsx")):
        engine = "odf" if name.endswith(".ods") else "openpyxl"
        sheets = pd.read_excel(path, sheet_name=None, header=None, dtype=str, engine=engine, keep_default_na=False)
        tables = []
        for sheet, grid in sheets.items():
            header = _header_row(grid)
            if header is None:
                continue  # cover, contents and notes sheets
            table = grid.iloc[header + 1 :].copy()
            table.columns = [str(c).strip() for c in grid.iloc[header]]
            table = table.loc[:, [c not in ("", "nan") for c in table.columns]]
            tables.append((f"{path.name}, sheet {sheet!r}", table.reset_index(drop=True), header + 2))
        if not tables:
            raise InputError(f"{path}: no sheet has the outcomes table's column headers")
        return tables
    raise InputError(f"{path}: expected a .csv, .csv.gz, .ods or .xlsx file")


def _canonical(table: pd.DataFrame, label: str) -> pd.DataFrame:
    aliases = _aliases()
    unknown = [c for c in table.columns if c.strip().lower() not in aliases]
    if unknown:
        raise InputError(f"{label}: unknown column {unknown[0]!r}; config/home_office.yml lists the known headers")
    renamed = table.rename(columns={c: aliases[c.strip().lower()] for c in table.columns})
    missing = [c for c in config()["required"] if c not in renamed.columns]
    if missing:
        raise InputError(f"{label}: missing column(s) {', '.join(missing)}")
    return renamed


def _counts(values: pd.Series, label: str, header: str, rows: np.ndarray) -> pd.Series:
    text = values.astype(str).str.strip().str.replace(",", "", regex=False)
    blank = text.isin(config()["not_a_count"])
    numbers = pd.to_numeric(text.where(~blank), errors="coerce")
    bad = numbers.isna() & ~blank
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{label}: column {header!r}, row {rows[i]}: {values.iloc[i]!r} is not a count")
    return numbers


def _clean(raw: pd.DataFrame, label: str, first_row: int) -> pd.DataFrame:
    table = _canonical(raw, label)
    headers = dict(zip(table.columns, raw.columns, strict=True))  # canonical name -> the file's own header
    empty = table.apply(lambda col: col.astype(str).str.strip().isin(["", "NA", "nan"])).all(axis=1)
    keep = ~empty.to_numpy()  # blank and footer rows (the tidied 2017/18 copy ends with one)
    table, rows = table[keep].reset_index(drop=True), np.flatnonzero(keep) + first_row
    types = pd.to_numeric(table["outcome_type"].astype(str).str.strip(), errors="coerce")
    allowed = set(config()["outcome_types"])
    bad = ~types.isin(allowed)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{label}: column {headers['outcome_type']!r}, row {rows[i]}: "
            f"outcome type {table['outcome_type'].iloc[i]!r} is not one of {sorted(allowed)}"
        )
    years = table["financial_year"].astype(str).str.strip()
    bad = ~years.str.fullmatch(YEAR)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{label}: column {headers['financial_year']!r}, row {rows[i]}: "
            f"{years.iloc[i]!r} is not a financial year like 2018/19"
        )
    out = pd.DataFrame(
        {
            "financial_year": years,
            "force": table["force"].str.strip().replace(config()["force_names"]),
            "offence_group": table["offence_group"].str.strip(),
            "offence_subgroup": table["offence_subgroup"].str.strip().replace(config()["offence_subgroups"]),
            "outcome_type": types.astype(int),
        }
    )
    for column in COUNTS:
        if column in table.columns:
            out[column] = _counts(table[column], label, headers[column], rows).to_numpy()
        else:
            out[column] = np.nan
    return out


def load(path: Path) -> pd.DataFrame:
    """One outcomes file, any published form, as canonical columns (counts NaN where not given)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    return pd.concat([_clean(raw, label, first) for label, raw, first in _tables(path)], ignore_index=True)


def load_all(paths: list[Path]) -> pd.DataFrame:
    """Several files; where two hold the same financial year, the later file listed wins."""
    frames = []
    for path in paths:
        frame = load(path)
        frames = [f[~f["financial_year"].isin(set(frame["financial_year"]))] for f in frames]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def with_areas(outcomes: pd.DataFrame, areas: list[str]) -> pd.DataFrame:
    """Rows of the named forces, plus 'England and Wales' (all forces bar those excluded), labelled `area`."""
    ew = config()["england_and_wales"]
    forces = set(outcomes["force"])
    parts = []
    for area in areas:
        if area == ew["label"]:
            parts.append(outcomes[~outcomes["force"].isin(ew["exclude_forces"])].assign(area=area))
        elif area in forces:
            parts.append(outcomes[outcomes["force"] == area].assign(area=area))
        else:
            raise InputError(f"force {area!r} is not in the Home Office file(s); they hold {len(forces)} forces")
    return pd.concat(parts, ignore_index=True)


def withdrawal_rates(outcomes: pd.DataFrame, by: list[str], basis: str = "recorded_in_quarter") -> pd.DataFrame:
    """Withdrawn, total and rates (all outcomes; excluding pending) for the in-scope groups, by `by`."""
    if basis not in COUNTS:
        raise InputError(f"count basis {basis!r} must be one of {', '.join(COUNTS)}")
    scoped = outcomes[outcomes["offence_group"].isin(config()["offence_groups_in_scope"])]
    count = scoped[basis].fillna(0)
    frame = scoped[by].assign(
        withdrawn=count.where(scoped["outcome_type"].isin(config()["withdrawal_outcomes"]), 0),
        pending=count.where(scoped["outcome_type"] == config()["pending_outcome"], 0),
        total=count,
    )
    rates = frame.groupby(by, as_index=False, sort=False)[["withdrawn", "pending", "total"]].sum()
    rates["total_excl_pending"] = rates["total"] - rates["pending"]
    rates["rate"] = rates["withdrawn"] / rates["total"]
    rates["rate_excl_pending"] = rates["withdrawn"] / rates["total_excl_pending"]
    for column in ("withdrawn", "pending", "total", "total_excl_pending"):
        rates[column] = rates[column].astype("int64")
    return rates


ALL_CRIME = "All crime"
TOTAL = "Total"
KEYS = ["area", "financial_year", "offence_group", "offence_subgroup"]


def rate_table(outcomes: pd.DataFrame, areas: list[str], basis: str = "recorded_in_quarter") -> pd.DataFrame:
    """Rates by area, year, crime group and type, with group totals (subgroup 'Total') and
    'All crime' (the five groups together), as in the pack's appendix tables."""
    framed = with_areas(outcomes, areas)
    by_type = withdrawal_rates(framed, KEYS, basis)
    by_type = by_type[by_type["offence_subgroup"] != by_type["offence_group"]]  # one-type groups: the total says it
    by_group = withdrawal_rates(framed, KEYS[:3], basis).assign(offence_subgroup=TOTAL)
    overall = withdrawal_rates(framed, KEYS[:2], basis).assign(offence_group=ALL_CRIME, offence_subgroup=TOTAL)
    return pd.concat([by_type, by_group, overall], ignore_index=True)


def published_rates() -> pd.DataFrame:
    """The pack's Home Office figures (data/published/home_office_rates.csv), one row per value, by key."""
    from . import published

    return published.load("home_office_rates")


def compare_with_published(computed: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """Computed beside published values for the (area, year, crime) cells both have.

    Published rates are whole percentages, so a computed rate agrees when it rounds to
    the same value (within 0.5 points); published counts must match exactly.
    """
    statistics = ["rate", "rate_excl_pending", "withdrawn", "total", "total_excl_pending"]
    long = computed.melt(id_vars=KEYS, value_vars=statistics, var_name="statistic", value_name="computed")
    long.loc[long["statistic"].str.startswith("rate"), "computed"] *= 100
    both = long.merge(published, on=KEYS + ["statistic"], how="inner")
    tolerance = np.where(both["statistic"].str.startswith("rate"), 0.5 + 1e-9, 0)
    both["agrees"] = (both["computed"] - both["value"]).abs() <= tolerance
    return both.rename(columns={"value": "published"})


RATES = ["rate", "rate_excl_pending"]


def _crime_type_layout(long: pd.DataFrame) -> pd.DataFrame:
    """Crime group x type rows, 'year rate' columns, from long rows (statistic in RATES, value in %)."""
    wide = long.pivot_table(
        index=["offence_group", "offence_subgroup"],
        columns=["financial_year", "statistic"],
        values="value",
        aggfunc="first",
    ).round(1)
    wide.columns = [f"{year} {'rate' if stat == 'rate' else 'excl. pending'} (%)" for year, stat in wide.columns]
    wide = wide[sorted(wide.columns)].reset_index()
    order = {g: i for i, g in enumerate(config()["offence_groups_in_scope"] + [ALL_CRIME])}
    keys = pd.DataFrame(
        {
            "group": wide["offence_group"].map(order),
            "total": wide["offence_subgroup"] == TOTAL,
            "type": wide["offence_subgroup"],
        }
    )
    wide = wide.loc[keys.sort_values(["group", "total", "type"]).index]
    return wide.rename(columns={"offence_group": "Crime group", "offence_subgroup": "Crime type"})


def crime_type_table(rates: pd.DataFrame, area: str) -> pd.DataFrame:
    """One area's computed rates by crime group and type, years across (the pack's layout)."""
    long = rates[rates["area"] == area].melt(id_vars=KEYS, value_vars=RATES, var_name="statistic")
    return _crime_type_layout(long.assign(value=long["value"] * 100))


STATISTICS = {
    "withdrawn": "Withdrawn (14 + 16)",
    "total": "All outcomes",
    "rate": "Withdrawal rate (%)",
    "total_excl_pending": "Outcomes excl. pending",
    "rate_excl_pending": "Withdrawal rate excl. pending (%)",
}


def published_figures(published: pd.DataFrame, area: str | None = None) -> pd.DataFrame:
    """Rows of data/published/home_office_rates.csv (indexed by key) in the pack's order, with a
    `what` label: the all-crime rows of every force (no area), or one area's crime-type rows."""
    if area is None:
        rows = published[published["offence_group"] == ALL_CRIME]
    else:
        rows = published[(published["area"] == area) & (published["offence_group"] != ALL_CRIME)]
    groups = {g: i for i, g in enumerate(config()["offence_groups_in_scope"] + [ALL_CRIME])}
    areas = {a: i for i, a in enumerate(dict.fromkeys(published["area"]))}
    order = pd.DataFrame(
        {
            "area": rows["area"].map(areas),
            "group": rows["offence_group"].map(groups),
            "total": rows["offence_subgroup"] == TOTAL,
            "type": rows["offence_subgroup"],
            "year": rows["financial_year"],
            "statistic": rows["statistic"].map({s: i for i, s in enumerate(STATISTICS)}),
        }
    )
    rows = rows.loc[order.sort_values(list(order.columns)).index]
    return rows.assign(what=rows["statistic"].map(STATISTICS))


def trend(rates: pd.DataFrame, published: pd.DataFrame, areas: list[str]) -> pd.DataFrame:
    """All-crime rate excluding pending by area and year, computed and published, in year order."""
    computed = rates[(rates["offence_group"] == ALL_CRIME) & rates["area"].isin(areas)]
    computed = computed.assign(rate_excl_pending=computed["rate_excl_pending"] * 100, kind="computed")
    pub = published[
        (published["offence_group"] == ALL_CRIME)
        & (published["statistic"] == "rate_excl_pending")
        & published["area"].isin(areas)
    ]
    pub = pub.assign(rate_excl_pending=pub["value"], kind="published")
    columns = ["area", "financial_year", "rate_excl_pending", "kind"]
    both = pd.concat(
        [part[columns] for part in (computed, pub) if len(part)] or [pd.DataFrame(columns=columns)], ignore_index=True
    )
    both["area"] = pd.Categorical(both["area"], categories=areas, ordered=True)
    return both.sort_values(["area", "financial_year"]).reset_index(drop=True)


def all_crime_table(rates: pd.DataFrame) -> pd.DataFrame:
    """All-crime withdrawal by area and year: counts and both rates (the pack's appendix layout)."""
    overall = rates[rates["offence_group"] == ALL_CRIME]
    table = overall[
        ["area", "financial_year", "withdrawn", "total", "rate", "total_excl_pending", "rate_excl_pending"]
    ].copy()
    table[["rate", "rate_excl_pending"]] = (table[["rate", "rate_excl_pending"]] * 100).round(1)
    return table.rename(
        columns={
            "area": "Force",
            "financial_year": "Year",
            "withdrawn": "Withdrawn (14 + 16)",
            "total": "All outcomes",
            "rate": "Rate (%)",
            "total_excl_pending": "Outcomes excl. pending",
            "rate_excl_pending": "Rate excl. pending (%)",
        }
    )


def agreement_sentence(check: pd.DataFrame) -> str:
    """What the computed-versus-published check found, in words for the chapter."""
    if check.empty:
        return "No year is both computed and published in this run, so there is nothing to compare yet."
    disagree = check[~check["agrees"]]
    if disagree.empty:
        return f"In this run all {len(check)} values that are both computed and published agree."
    first = disagree.iloc[0]
    return (
        f"In this run {len(disagree)} of {len(check)} values that are both computed and published disagree, "
        f"for example {first['area']} {first['financial_year']} {first['offence_group']} {first['offence_subgroup']} "
        f"{first['statistic']}: computed {first['computed']:,.1f}, published {first['published']:,.0f}."
    )


# Generated statements: the pack's averages, trends and the pending effect, recomputed
# from the years this run holds, in words that follow the numbers.
BASES_OF = {"rate": "total", "rate_excl_pending": "total_excl_pending"}
MEASURES = {"rate": "including outcome pending", "rate_excl_pending": "excluding outcome pending"}


def years_label(years: list[str]) -> str:
    """'2017/18', '2017/18 and 2018/19' or '2017/18 to 2019/20'."""
    years = sorted(years)
    if not years:
        return "no year"
    if len(years) == 1:
        return years[0]
    return f"{years[0]} {'and' if len(years) == 2 else 'to'} {years[-1]}"


def _subject(group: str, subgroup: str) -> str:
    if group == ALL_CRIME:
        return "all-crime"
    return (group if subgroup == TOTAL else subgroup).lower()


def _cells(rates: pd.DataFrame, area: str, group: str, subgroup: str, statistic: str) -> pd.DataFrame:
    """One series by year: withdrawn, its base and the rate (%), in year order."""
    rows = rates[
        (rates["area"] == area) & (rates["offence_group"] == group) & (rates["offence_subgroup"] == subgroup)
    ].sort_values("financial_year")
    base = rows[BASES_OF[statistic]]
    return pd.DataFrame(
        {
            "year": rows["financial_year"],
            "withdrawn": rows["withdrawn"],
            "base": base,
            "pct": 100 * rows["withdrawn"] / base.where(base > 0),
        }
    ).reset_index(drop=True)


def difference(x1: float, n1: float, x2: float, n2: float) -> tuple[str, float, str]:
    """Second proportion against the first: ('up' | 'down' | 'same' | 'unknown', points, why-same).

    'same' when the difference is under the declared minimum or not significant (two-proportion
    z-test, statsmodels). Two forces that overlap (England and Wales holds the Met) are tested as
    if independent, which overstates significance; the minimum guards against that.
    """
    from .monitor import two_proportion

    if min(n1, n2) <= 0:
        return "unknown", float("nan"), "no outcomes counted"
    noise = config()["noise"]
    points = 100 * (x2 / n2 - x1 / n1)
    if abs(points) < noise["min_points"]:
        return "same", points, f"under the {noise['min_points']:g}-point minimum"
    # The z-test is undefined (NaN) when both proportions are 0 or both 1 (a zero minimum lets these through).
    p = float(np.nan_to_num(two_proportion(x1, n1, x2, n2)[2], nan=1.0))
    if not p < noise["alpha"]:
        return "same", points, f"not significant at the {100 * noise['alpha']:g}% level, p = {p:.2g}"
    return ("up" if points > 0 else "down"), points, ""


def _trend_phrase(cells: pd.DataFrame) -> tuple[str, str]:
    """(direction, phrase) for a series' first and last year."""
    first, last = cells.iloc[0], cells.iloc[-1]
    direction, points, why = difference(first["withdrawn"], first["base"], last["withdrawn"], last["base"])
    span = f"from {first['pct']:.1f}% in {first['year']} to {last['pct']:.1f}% in {last['year']}"
    if direction == "up":
        return direction, f"rose {span} ({points:+.1f} points)"
    if direction == "down":
        return direction, f"fell {span} ({points:+.1f} points)"
    if direction == "same":
        return direction, f"changed little, {span} ({points:+.1f} points, within noise: {why})"
    return direction, f"cannot be compared ({why})"


def trend_sentence(
    rates: pd.DataFrame,
    area: str,
    group: str = ALL_CRIME,
    subgroup: str = TOTAL,
    statistic: str = "rate_excl_pending",
) -> str:
    """The direction of a computed rate between the first and last year the run holds."""
    cells = _cells(rates, area, group, subgroup, statistic).dropna(subset=["pct"])
    what = f"{area}, {_subject(group, subgroup)} withdrawal {MEASURES[statistic]}"
    if cells.empty:
        return f"{what}: nothing computed in this run."
    if len(cells) == 1:
        return (
            f"{what}: only {cells['year'].iloc[0]} is computed ({cells['pct'].iloc[0]:.1f}%), so no trend can be shown."
        )
    return f"{what}: {_trend_phrase(cells)[1]}."


def average(rates: pd.DataFrame, area: str, group: str, subgroup: str, statistic: str) -> dict:
    """Mean of the yearly rates (%) as the pack averages, with the pooled counts for tests."""
    cells = _cells(rates, area, group, subgroup, statistic).dropna(subset=["pct"])
    return {
        "pct": cells["pct"].mean() if len(cells) else float("nan"),
        "withdrawn": cells["withdrawn"].sum(),
        "base": cells["base"].sum(),
        "years": years_label(cells["year"].tolist()),
    }


def _compare_phrase(mine: dict, theirs: dict, reference: str) -> tuple[str, str]:
    direction, points, why = difference(theirs["withdrawn"], theirs["base"], mine["withdrawn"], mine["base"])
    pair = f"{mine['pct']:.1f}% against {theirs['pct']:.1f}%"
    words = {"up": "higher than", "down": "lower than", "same": "about the same as", "unknown": "not comparable with"}
    detail = f", within noise: {why}" if direction == "same" else (f": {why}" if why else "")
    return direction, f"{words[direction]} {reference} ({pair}, {points:+.1f} points{detail})"


def compare_sentence(
    rates: pd.DataFrame,
    area: str,
    reference: str,
    group: str = ALL_CRIME,
    subgroup: str = TOTAL,
    statistic: str = "rate_excl_pending",
) -> str:
    """An area's average rate against a reference area's, over the years the run holds."""
    mine, theirs = (average(rates, a, group, subgroup, statistic) for a in (area, reference))
    what = f"{_subject(group, subgroup)} withdrawal {MEASURES[statistic]}"
    if mine["base"] <= 0 or theirs["base"] <= 0:
        return f"{area} against {reference}, {what}: nothing to compare in this run."
    return f"Over {mine['years']}, {area}'s {what} was {_compare_phrase(mine, theirs, reference)[1]}."


def pending_effect_sentence(rates: pd.DataFrame, area: str, group: str, subgroup: str) -> str:
    """Whether counting pending outcomes changes a rate's trend (the pack's point about rape)."""
    incl = _cells(rates, area, group, subgroup, "rate").dropna(subset=["pct"])
    excl = _cells(rates, area, group, subgroup, "rate_excl_pending").dropna(subset=["pct"])
    subject = _subject(group, subgroup)
    if incl.empty or excl.empty:
        return f"{area}, {subject}: nothing computed in this run."
    gap = excl["pct"].iloc[-1] - incl["pct"].iloc[-1]
    level = (
        f"In {incl['year'].iloc[-1]}, {area}'s {subject} withdrawal was {incl['pct'].iloc[-1]:.1f}% including "
        f"outcome pending and {excl['pct'].iloc[-1]:.1f}% excluding it ({gap:+.1f} points)."
    )
    if len(incl) < 2:
        return level + " With one year computed, the run cannot show whether pending outcomes change the trend."
    (d_incl, p_incl), (d_excl, p_excl) = _trend_phrase(incl), _trend_phrase(excl)
    verdict = (
        "The two measures agree, so pending outcomes do not change the trend here."
        if d_incl == d_excl
        else "The two measures disagree, so outcomes still pending change the trend."
    )
    return (
        f"Including outcome pending, {area}'s {subject} withdrawal {p_incl}; excluding it, it {p_excl}. "
        f"{verdict} {level}"
    )


def statements_beside(statements: pd.DataFrame, rates: pd.DataFrame) -> pd.DataFrame:
    """The pack's statements (data/published/home_office_statements.csv) with the same
    statement computed from the run's years: `computed` (words and figures) and `computed_years`."""
    computed, years = [], []
    areas = set(rates["area"])
    for row in statements.itertuples():
        args = (row.offence_group, row.offence_subgroup, row.statistic)
        if row.computation == "none":
            computed.append("not computed")
            years.append("")
            continue
        if row.area not in areas or (row.computation == "compare" and row.reference not in areas):
            computed.append("force not in this run")
            years.append("")
            continue
        cells = _cells(rates, row.area, *args).dropna(subset=["pct"])
        years.append(years_label(cells["year"].tolist()))
        if cells.empty:
            computed.append("nothing computed")
        elif row.computation == "mean":
            computed.append(f"{cells['pct'].mean():.1f}%")
        elif row.computation == "trend":
            computed.append("one year only" if len(cells) < 2 else _trend_phrase(cells)[1])
        elif row.computation == "compare":
            mine, theirs = average(rates, row.area, *args), average(rates, row.reference, *args)
            computed.append(_compare_phrase(mine, theirs, row.reference)[1])
        else:
            raise InputError(f"home_office_statements.csv: key {row.Index}: unknown computation {row.computation!r}")
    return statements.assign(computed=computed, computed_years=years)


def published_statements() -> pd.DataFrame:
    """The pack's Home Office averages and statements, as transcribed (indexed by key)."""
    from . import published

    return published.load("home_office_statements")
