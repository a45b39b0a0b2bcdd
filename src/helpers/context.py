"""Chapter 01 tables: recorded crime for the period by BCU, crime group and month."""

import pandas as pd

from .errors import InputError
from .geography import OUTSIDE_BCUS, bcus
from .paths import PUBLISHED

MET = "Metropolitan Police"


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
