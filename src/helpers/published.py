"""Figures the pack publishes without data behind them, transcribed in data/published/.

A value may be empty only where a `note` column says why (suppressed as N<100, or not
applicable); it is read as NaN.

They are shown as published figures beside, never instead of, computed ones.
"""

import pandas as pd

from .errors import InputError
from .io import read_text_table
from .paths import PUBLISHED

COLUMNS = ("key", "measure", "value", "unit", "period", "source", "pack_section")


def load(name: str) -> pd.DataFrame:
    """A published-figures table, checked; indexed by `key`."""
    path = PUBLISHED / f"{name}.csv"
    table = read_text_table(path, COLUMNS)
    notes = table["note"] if "note" in table.columns else pd.Series("", index=table.index)
    for row, (key, value, note) in enumerate(zip(table["key"], table["value"], notes, strict=True), start=2):
        if value == "" and note:
            continue  # suppressed or not applicable in the pack, as the note says
        try:
            float(value)
        except ValueError:
            raise InputError(f"{path}: row {row}, column value: {value!r} (key {key}) is not a number") from None
    repeated = table["key"][table["key"].duplicated()].tolist()
    if repeated:
        raise InputError(f"{path}: key {repeated[0]!r} appears more than once")
    table["value"] = pd.to_numeric(table["value"])
    return table.set_index("key")


def sections(name: str, *pack_sections: str) -> pd.DataFrame:
    """The rows of a published table that come from the pack's named sections (a chapter shows
    the part of a table its subject covers); a section the table does not have is an error."""
    table = load(name)
    unknown = sorted(set(pack_sections) - set(table["pack_section"]))
    if unknown:
        raise InputError(f"{PUBLISHED / f'{name}.csv'}: no row from the pack's section(s) {unknown}")
    return table[table["pack_section"].isin(pack_sections)]
