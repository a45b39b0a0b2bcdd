"""Baseline for `make bench`: the dataset build's core in plain pandas (no DuckDB).

It applies the same exclusions and derives the same crime types, crime areas and
outcome groups from the same configuration, so the timings compare like with like;
tests/unit/test_bench.py checks that it agrees with helpers.dataset on those columns.
Usage: python bench/pandas_build.py EXTRACT START END OUT
"""

import sys
from pathlib import Path

import pandas as pd

from helpers.dataset import FLAGS, area_layers, config, flag_column
from helpers.geography import bcu_table


def read(folder: Path, stem: str) -> pd.DataFrame:
    path = folder / f"{stem}.parquet"
    frame = (
        pd.read_parquet(path)
        if path.exists()
        else pd.read_csv(folder / f"{stem}.csv", dtype=str, keep_default_na=False)
    )
    return frame.replace("", None)


def lower_in(series: pd.Series, values) -> pd.Series:
    return series.str.lower().isin([v.lower() for v in values])


def contains(series: pd.Series, words) -> pd.Series:
    low = series.str.lower()
    return pd.concat([low.str.contains(w.lower(), regex=False) for w in words], axis=1).any(axis=1)


def area(c: pd.DataFrame, spec: dict) -> pd.Series:
    what = pd.Series(False, index=c.index)
    if "offences" in spec:
        what |= lower_in(c["offence_description"], spec["offences"])
    if "offence_words" in spec:
        what |= contains(c["offence_description"], spec["offence_words"])
    for flag in spec.get("flags", []):
        what |= c[flag_column(flag)]
    if "majors" in spec:
        what |= c["major_crime"].isin(spec["majors"])
    if "minors" in spec:
        what |= c["minor_crime"].isin(spec["minors"])
    if "crime_types" in spec:
        what |= c["crime_type"].isin(spec["crime_types"])
    if "victim_age" in spec:
        age = c["victim_age"].between(*spec["victim_age"])
        if "any_age_offence_words" in spec:
            age |= contains(c["offence_description"], spec["any_age_offence_words"])
        what &= age
    if "suspect_age" in spec:
        what &= c["suspect_age"].between(*spec["suspect_age"])
    if "exclude_offence_words" in spec:
        what &= ~contains(c["offence_description"], spec["exclude_offence_words"])
    for other in spec.get("not_areas", []):
        what &= ~c[other]
    return what


def build(extract: Path, start: str, end: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    cfg = config()
    offences, victims, suspects, flags = (read(extract, s) for s in ("offences", "victims", "suspects", "flags"))
    offences["offence_seq"] = offences["offence_seq"].astype(int)
    reports = offences[offences["offence_seq"] == 1].set_index("crime_ref")
    reports["n_offences"] = offences.groupby("crime_ref").size()
    reports["n_victims"] = victims.groupby("crime_ref").size().reindex(reports.index, fill_value=0)
    reports["n_suspects"] = suspects.groupby("crime_ref").size().reindex(reports.index, fill_value=0)
    steps = [
        reports["reported_date"].between(start, end),
        reports["outcome_code"].notna(),
        ~reports["outcome_code"].isin(cfg["excluded_outcomes"]),
        reports["major_crime"].isin(cfg["in_scope_majors"]),
        reports["n_victims"] >= 1,
        reports["n_offences"] == 1,
        reports["n_victims"] == 1,
        reports["n_suspects"] <= 1,
    ]
    keep = pd.Series(True, index=reports.index)
    counts = [len(reports)]
    for step in steps:
        keep &= step
        counts.append(int(keep.sum()))
    c = (
        reports[keep]
        .join(victims.set_index("crime_ref").add_prefix("v_"))
        .join(suspects.set_index("crime_ref").add_prefix("s_"))
    )
    for flag in FLAGS:
        c[flag_column(flag)] = c.index.isin(flags.loc[flags["flag"] == flag, "crime_ref"])
    c["victim_age"] = pd.to_numeric(c["v_age"])
    c["suspect_age"] = pd.to_numeric(c["s_age"])
    c["bcu"] = c["borough"].map(bcu_table()[0]).fillna("Unknown")
    c["crime_type"] = None
    for t in reversed(cfg["crime_types"]):
        match = c["major_crime"] == t["major"]
        if "minors" in t:
            match &= c["minor_crime"].isin(t["minors"])
        c.loc[match, "crime_type"] = t["name"]
    groups = {code: g for g, codes in cfg["outcome_groups"].items() for code in codes}
    c["outcome_group"] = c["outcome_code"].map(groups).fillna("Unknown")
    c["victim_withdrawal"] = c["outcome_code"].isin(cfg["withdrawal_outcomes"])
    c["suspect_recorded"] = c["s_suspect_id"].notna()
    c["suspect_known"] = c["s_how_known"].notna() & (c["s_how_known"] != "Stranger")
    areas = cfg["crime_areas"]
    for layer in area_layers(areas):
        for name in layer:
            c[name] = area(c, areas[name])
    return c.sort_index().reset_index(), pd.DataFrame({"reports": counts})


if __name__ == "__main__":
    extract, start, end, out = sys.argv[1:]
    cohort, steps = build(Path(extract), start, end)
    Path(out).mkdir(parents=True, exist_ok=True)
    cohort.to_parquet(Path(out) / "cohort.parquet")
    steps.to_csv(Path(out) / "exclusions.csv", index=False)
    print(f"{len(cohort):,} reports")
