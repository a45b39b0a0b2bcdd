"""CPS victim attrition and timeliness (chapter 04): the input table, its checks, and
the illustrative series the book uses when no CPS table is supplied.

Input table (CSV, one row per month, area and flag):
  month                                   YYYY-MM
  area                                    National | London
  flag                                    All crime | Offences against the person | Domestic abuse
  non_prosecutions                        suspects not prosecuted (pre-charge decisions)
  non_prosecutions_victim_withdrawal      of which an evidential victim reason was primary
  non_convictions                         defendants in finalised prosecutions not convicted
  non_convictions_victim_withdrawal       of which due to victim withdrawal
  mean_days_referral_to_decision          mean calendar days, referral to charging decision
  mean_days_charge_to_finalisation        mean calendar days, charge to finalisation
Counts are of suspects or defendants, not victims, in cases with the identified-victim flag.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError
from .io import read_text_table, read_yaml
from .paths import CONFIG

AREAS = ("National", "London")
FLAGS = ("All crime", "Offences against the person", "Domestic abuse")
COUNTS = (
    "non_prosecutions",
    "non_prosecutions_victim_withdrawal",
    "non_convictions",
    "non_convictions_victim_withdrawal",
)
DAYS = ("mean_days_referral_to_decision", "mean_days_charge_to_finalisation")
COLUMNS = ("month", "area", "flag", *COUNTS, *DAYS)


def _fail(source: str, column: str, index: int, value, why: str):
    raise InputError(f"{source}: column {column}, row {index + 2}: {value!r} {why}")


def validate(table: pd.DataFrame, source: str) -> pd.DataFrame:
    """Check a CPS table and type its columns; errors name file, column and row."""
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise InputError(f"{source}: missing column(s) {', '.join(missing)}")
    out = table[list(COLUMNS)].copy()
    months = pd.to_datetime(out["month"].astype(str), format="%Y-%m", errors="coerce")
    for i in np.flatnonzero(months.isna().to_numpy())[:1]:
        _fail(source, "month", i, out["month"].iloc[i], "is not a month YYYY-MM")
    out["month"] = months.dt.to_period("M")
    for column, allowed in (("area", AREAS), ("flag", FLAGS)):
        for i in np.flatnonzero(~out[column].isin(allowed).to_numpy())[:1]:
            _fail(source, column, i, out[column].iloc[i], f"is not one of {', '.join(allowed)}")
    for column in COUNTS + DAYS:
        values = pd.to_numeric(out[column], errors="coerce")
        bad = values.isna() | (values < 0)
        if column in COUNTS:
            bad |= values.notna() & (values != values.round())
        for i in np.flatnonzero(bad.to_numpy())[:1]:
            _fail(
                source,
                column,
                i,
                out[column].iloc[i],
                "is not a non-negative " + ("whole number" if column in COUNTS else "number"),
            )
        out[column] = values.astype("int64" if column in COUNTS else float)
    for part, whole in (
        ("non_prosecutions_victim_withdrawal", "non_prosecutions"),
        ("non_convictions_victim_withdrawal", "non_convictions"),
    ):
        for i in np.flatnonzero((out[part] > out[whole]).to_numpy())[:1]:
            _fail(source, part, i, table[part].iloc[i], f"exceeds {whole} ({out[whole].iloc[i]})")
    duplicated = out.duplicated(["month", "area", "flag"], keep="first")
    for i in np.flatnonzero(duplicated.to_numpy())[:1]:
        raise InputError(
            f"{source}: row {i + 2}: a second row for "
            f"{out['month'].iloc[i]}, {out['area'].iloc[i]}, {out['flag'].iloc[i]}"
        )
    return out


def load(path: Path) -> pd.DataFrame:
    return validate(read_text_table(path), str(path))


def _shape(rng: np.random.Generator, n: int, spec: dict) -> np.ndarray:
    """A monthly share (%) with the spec's trend or level, stretched to span [low, high] exactly."""
    base = np.linspace(spec["start"], spec["end"], n) if "start" in spec else np.full(n, float(spec["centre"]))
    wander = np.cumsum(rng.normal(0, 0.6, n)) * 0.3 + rng.normal(0, 1.0, n)
    raw = base + wander * (spec["high"] - spec["low"]) / 10
    return spec["low"] + (raw - raw.min()) / (raw.max() - raw.min()) * (spec["high"] - spec["low"])


def illustrative(config_path: Path = CONFIG / "cps_illustrative.yml") -> pd.DataFrame:
    """The illustrative table: deterministic for the config's seed, valid by `validate`."""
    config = read_yaml(config_path)
    rng = np.random.default_rng(int(config["seed"]))
    months = pd.period_range(config["start"], config["end"], freq="M")
    n = len(months)
    frames = []
    for spec in config["series"]:
        columns = {"month": months.astype(str), "area": spec["area"], "flag": spec["flag"]}
        for stage, total, part in (
            ("pre", "non_prosecutions", "non_prosecutions_victim_withdrawal"),
            ("post", "non_convictions", "non_convictions_victim_withdrawal"),
        ):
            share = _shape(rng, n, spec[stage]) / 100
            withdrawn = np.maximum(1, np.round(spec["per_month"][stage] * rng.uniform(0.8, 1.2, n))).astype(int)
            columns[part] = withdrawn
            columns[total] = np.round(withdrawn / share).astype(int)
        for column, (low, high) in spec["days"].items():
            columns[f"mean_days_{column}"] = np.round(
                rng.uniform(low, high, n) + np.linspace(0, (high - low) / 3, n), 1
            )
        frames.append(pd.DataFrame(columns))
    return validate(pd.concat(frames, ignore_index=True), f"{config_path} (illustrative series)")


def shares(table: pd.DataFrame) -> pd.DataFrame:
    """Pre- and post-charge shares (%) due to victim withdrawal, per month, area and flag."""
    return table.assign(
        pre_charge=100 * table["non_prosecutions_victim_withdrawal"] / table["non_prosecutions"],
        post_charge=100 * table["non_convictions_victim_withdrawal"] / table["non_convictions"],
    )


def against_published(table: pd.DataFrame, ranges: pd.DataFrame) -> pd.DataFrame:
    """Each range the pack states beside the series' own lowest and highest value.

    A whole-percentage range holds a series that stays within it after rounding (0.5 points).
    """
    measured = shares(table)
    rows = []
    for (area, flag, stage), bounds in ranges[ranges["bound"].isin(["low", "high"])].groupby(["area", "flag", "stage"]):
        low, high = (bounds.set_index("bound")["value"].get(b) for b in ("low", "high"))
        values = measured[(measured["area"] == area) & (measured["flag"] == flag)][f"{stage}_charge"]
        if values.empty:
            continue
        rows.append(
            {
                "Area": area,
                "Flag": flag,
                "Stage": f"{stage}-charge",
                "Published low (%)": low,
                "Published high (%)": high,
                "Series low (%)": round(values.min(), 1),
                "Series high (%)": round(values.max(), 1),
                "Within range": bool(values.min() >= low - 0.5 and values.max() <= high + 0.5),
            }
        )
    return pd.DataFrame(rows)


def period_label(period: str) -> str:
    """'2021-04 to 2025-03' (a published row's period) as 'April 2021 to March 2025'."""
    try:
        start, end = (pd.Period(part.strip(), freq="M") for part in period.split(" to "))
    except ValueError:
        raise InputError(f"period {period!r} is not 'YYYY-MM to YYYY-MM'") from None
    return f"{start.strftime('%B %Y')} to {end.strftime('%B %Y')}"


def what_is_shown(illustrative: bool, published_period: str) -> str:
    """What the chapter's charts show against what the pack published, for the page's note."""
    pack = f"The pack's CPS figures, for {period_label(published_period)}, are shown as published in the tables."
    if illustrative:
        return (
            "**What the charts show.** An ILLUSTRATIVE series, generated by this project to move within the "
            "ranges the pack states: it is not CPS data, and nothing read from it is a finding. " + pack
        )
    return "**What the charts show.** The CPS attrition table supplied for this run. " + pack
