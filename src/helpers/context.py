"""Chapter 01: recorded crime for the period by BCU, crime group and month, and the
pack's framing (its "Structure & Contents"). Sentences that rank the crime groups are
built here from the counts, so that they follow the run's data."""

import pandas as pd

from .errors import InputError
from .geography import OUTSIDE_BCUS, bcus
from .paths import PUBLISHED

MET = "Metropolitan Police"
# The plan the pack's "Structure & Contents" places the work in (named as the pack names it).
POLICE_AND_CRIME_PLAN = "London Police and Crime Plan 2025–2029"


def check_force(force: str) -> None:
    """Chapter 01 uses the Met's own recorded crime, which exists for the Met only."""
    if force != MET:
        raise InputError(
            f"chapter 01 needs recorded crime by borough, published here for the {MET} only, not {force!r}"
        )


def bcu_group_table(scoped: pd.DataFrame) -> pd.DataFrame:
    """BCU x crime group counts with totals, BCUs in config order, 'Outside BCUs' then 'London' last."""
    wide = scoped.pivot_table(index="bcu", columns="crime_group", values="count", aggfunc="sum", fill_value=0)
    order = [b for b in bcus() + [OUTSIDE_BCUS] if b in wide.index]
    wide = wide.loc[order]
    wide.loc["London"] = wide.sum()
    wide["All in-scope"] = wide.sum(axis=1)
    return wide.astype(int).rename_axis(index="BCU", columns=None).reset_index()


def monthly_by_group(scoped: pd.DataFrame) -> pd.DataFrame:
    """Months x crime groups, columns ordered by volume (largest first)."""
    wide = scoped.pivot_table(index="month", columns="crime_group", values="count", aggfunc="sum", fill_value=0)
    return wide[wide.sum().sort_values(ascending=False).index]


def context_sources() -> pd.DataFrame:
    table = pd.read_csv(PUBLISHED / "context_sources.csv")
    return table.rename(columns={"ref": "Ref", "title": "Source", "pack_section": "Section of the pack"})


def largest_group_sentence(monthly: pd.DataFrame) -> str:
    """Which crime group recorded the most offences, and in how many of the months it was
    the largest (a month with a tie counts for no group)."""
    if monthly.empty:
        return "No in-scope offences were recorded in the period."
    totals = monthly.sum()
    leader = totals.idxmax()
    if (totals == totals.max()).sum() > 1:
        tied = totals[totals == totals.max()].index.tolist()
        return f"{' and '.join(tied)} recorded the same number of offences over the period."
    others = monthly.drop(columns=leader)
    led = int((monthly[leader] > others.max(axis=1)).sum()) if not others.empty else len(monthly)
    months = len(monthly)
    when = "in every month" if led == months else f"in {led} of the {months} months"
    share = 100 * totals[leader] / totals.sum()
    return (
        f"{leader} was the largest of the in-scope groups over the period "
        f"({share:.0f}% of in-scope offences) and the largest {when}."
    )
