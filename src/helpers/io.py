"""Readers shared by every module, so that file formats are handled in one place."""

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import yaml

from .errors import InputError


class _DatesAsText(yaml.SafeLoader):
    """Leaves dates as text, so that the caller validates them: PyYAML itself would
    crash on an impossible date such as 2021-02-30 with no word of the file or key."""


_DatesAsText.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_yaml(path: Path) -> dict:
    """A YAML mapping (dates left as text), or an InputError naming the file."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.load(handle, Loader=_DatesAsText)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping of keys to values")
    return data


def read_parquet(path: Path) -> pd.DataFrame:
    """A Parquet file as a DataFrame.

    Reads by path on one thread: pyarrow's thread pool can abort the interpreter at
    exit after a threaded read (apache/arrow#34314, #50482); these files are small.
    """
    return pq.read_table(str(path), use_threads=False).to_pandas()


def read_text_table(path: Path, columns: tuple[str, ...] = (), hint: str = "") -> pd.DataFrame:
    """A CSV read as text (no value guessed missing or numeric: the caller checks them);
    a missing file, or a missing required column, is an InputError naming the file."""
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}{hint}")
    return table


def check_allowed(table: pd.DataFrame, path: Path, allowed: dict) -> None:
    """Each column named in `allowed` (column -> its allowed values) holds only those values;
    the first other value is an InputError naming the file, row and column."""
    for column, values in allowed.items():
        if column in table.columns:
            bad = table.index[~table[column].isin(list(values))]
            if len(bad):
                raise InputError(
                    f"{path}: row {bad[0] + 2}, column {column}: {table.loc[bad[0], column]!r} "
                    f"(use {', '.join(values)})"
                )
