"""The benchmark's pandas baseline must build the same dataset, or its timings mean nothing."""

import sys

import pandas as pd

from helpers import dataset
from helpers.paths import ROOT

from .test_dataset import END, START, write

sys.path.insert(0, str(ROOT / "bench"))
import pandas_build  # noqa: E402


def test_pandas_baseline_agrees_with_the_build(tmp_path):
    extract = write(tmp_path / "x")
    dataset.build(extract, START, END, tmp_path / "out")
    built = pd.read_parquet(tmp_path / "out" / "cohort.parquet")
    baseline, steps = pandas_build.build(extract, START.isoformat(), END.isoformat())
    assert steps["reports"].tolist() == pd.read_csv(tmp_path / "out" / "exclusions.csv")["reports"].tolist()
    columns = [
        "crime_ref",
        "bcu",
        "crime_type",
        "outcome_group",
        "victim_withdrawal",
        "suspect_recorded",
        "suspect_known",
        *dataset.config()["crime_areas"],
    ]
    pd.testing.assert_frame_equal(baseline[columns].reset_index(drop=True), built[columns], check_dtype=False)
