"""Readers shared by every module, so that file formats are handled in one place."""
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import yaml

from .errors import InputError


def read_yaml(path: Path) -> dict:
    """A YAML mapping, or an InputError naming the file."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
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
