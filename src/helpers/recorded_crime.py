"""Met recorded crime by borough and month (London Datastore), reshaped long.

The Datastore publishes two wide files, a historical one and the most recent 24
months, one column per month (YYYYMM). Where both hold a month, the recent file
(the later revision) wins.
"""

import datetime as dt
import re
from pathlib import Path

import pandas as pd

from .errors import InputError
from .geography import bcu_of
from .io import read_parquet, read_yaml
from .paths import CONFIG

ID_COLUMNS = ("majortext", "minortext", "boroughname")
MONTH = re.compile(r"\d{6}")


def to_long(wide: pd.DataFrame, source: str) -> pd.DataFrame:
    """Wide Datastore table -> columns major, minor, borough, month (Period[M]), count."""
    missing = [c for c in ID_COLUMNS if c not in wide.columns]
    if missing:
        raise InputError(f"{source}: missing column(s) {', '.join(missing)}")
    months = [c for c in wide.columns if c not in ID_COLUMNS]
    bad = [c for c in months if not MONTH.fullmatch(str(c))]
    if bad:
        raise InputError(f"{source}: column {bad[0]!r} is neither an id column nor a month YYYYMM")
    counts = wide[months].apply(pd.to_numeric, errors="coerce")
    if counts.isna().any().any():
        row, col = next((r, c) for c in months for r in counts.index[counts[c].isna()])
        raise InputError(f"{source}: column {col}, row {row + 2}: count {wide.at[row, col]!r} is not a number")
    long = wide[list(ID_COLUMNS)].join(counts).melt(id_vars=list(ID_COLUMNS), var_name="month", value_name="count")
    long["month"] = pd.PeriodIndex(long["month"].astype(str), freq="M")
    return long.rename(columns={"majortext": "major", "minortext": "minor", "boroughname": "borough"})


def load(historical: Path, recent: Path) -> pd.DataFrame:
    old, new = (to_long(read_parquet(p), str(p)) for p in (historical, recent))
    old = old[~old["month"].isin(set(new["month"]))]
    return pd.concat([old, new], ignore_index=True)


def months_in(start: dt.date, end: dt.date) -> pd.PeriodIndex:
    """Calendar months whose first day falls in [start, end] (the period is whole months)."""
    return pd.period_range(pd.Period(start, "M") + int(start.day > 1), pd.Period(end, "M"), freq="M")


def select_months(crime: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Rows for the period; an error if the data do not cover it all."""
    wanted = months_in(start, end)
    if len(wanted) == 0:
        raise InputError(f"period {start} to {end} holds no whole calendar month")
    have = set(crime["month"])
    absent = [m for m in wanted if m not in have]
    if absent:
        raise InputError(
            f"recorded crime covers {min(have)} to {max(have)}; the period {start} to {end} needs {absent[0]}"
            + (f" and {len(absent) - 1} more month(s)" if len(absent) > 1 else "")
        )
    return crime[crime["month"].isin(wanted)]


def in_scope_groups(path: Path = CONFIG / "crime_groups.yml") -> dict[str, str]:
    """Recorded-crime major text -> the pack's label, for the five crime groups in scope."""
    return {g["recorded_crime"]: g["label"] for g in read_yaml(path)["in_scope"]}


def in_scope_by_bcu(crime: pd.DataFrame) -> pd.DataFrame:
    """Counts of in-scope crime by month, crime group, borough and BCU."""
    groups = in_scope_groups()
    scoped = crime[crime["major"].isin(groups)].copy()
    scoped["crime_group"] = scoped["major"].map(groups)
    scoped["bcu"] = bcu_of(scoped["borough"], "recorded crime")
    return scoped.groupby(["month", "crime_group", "borough", "bcu"], observed=True, as_index=False)["count"].sum()


def monthly_total(crime: pd.DataFrame) -> pd.Series:
    """All recorded crime (TNOs) per month, London-wide."""
    return crime.groupby("month")["count"].sum()
