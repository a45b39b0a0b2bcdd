"""The scale of withdrawal (chapter 06), from the analysis dataset: outcome mix, rates by
suspect, the pack's sub-breakdowns, BCU differences with significance markers and funnel
limits, victim characteristics with small cells suppressed, and the time from report to
investigation complete. What is shown is declared in config/withdrawal.yml.

The significance test: a BCU's withdrawal rate p = x/n in a crime area is compared with
the all-BCU rate p0 for that area by a two-sided one-sample z-test,
z = (p - p0) / sqrt(p0 (1 - p0) / n), marked at 99% confidence (|z| > 2.576). It is the
test behind a funnel plot's limits, so a marked cell lies outside the 99% funnel. A cell
is tested only where the sample permits: at least the suppression threshold of reports,
and n p0 and n (1 - p0) both at least `min_expected`.
"""
from functools import cache

import numpy as np
import pandas as pd
from scipy import stats

from . import calibration, dataset, published
from .errors import InputError
from .io import read_yaml
from .paths import CONFIG

SOURCE = CONFIG / "withdrawal.yml"
ALL = "all"
SELECTORS = {"any_of", "crime_types", "majors", "minors", "offences"}
HIGHER, LOWER = "higher", "lower"


@cache
def config() -> dict:
    return read_yaml(SOURCE)


def area_label(area: str) -> str:
    return "All crime" if area == ALL else dataset.config()["crime_areas"][area]["label"]


def in_area(cohort: pd.DataFrame, area: str) -> pd.DataFrame:
    return cohort if area == ALL else cohort[cohort[area]]


def rate_frame(groups: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Reports, withdrawals and the withdrawal rate (%) of each named group of reports."""
    rows = [{"group": name, "reports": len(frame), "withdrawn": int(frame["victim_withdrawal"].sum())}
            for name, frame in groups.items()]
    out = pd.DataFrame(rows, columns=["group", "reports", "withdrawn"])
    out["rate"] = 100 * out["withdrawn"] / out["reports"].where(out["reports"] > 0)
    return out


def outcome_mix(cohort: pd.DataFrame, areas: list[str]) -> pd.DataFrame:
    """Share (%) of each outcome group, by crime area (overlapping) and crime type (exclusive)."""
    order = list(dataset.config()["outcome_groups"])
    parts = [("Crime area", area_label(a), in_area(cohort, a)) for a in [ALL, *areas]]
    parts += [("Crime type", t, cohort[cohort["crime_type"] == t])
              for t in [spec["name"] for spec in dataset.config()["crime_types"]]]
    rows = []
    for kind, name, frame in parts:
        shares = frame["outcome_group"].value_counts(normalize=True).reindex(order, fill_value=0) * 100
        rows.append({"kind": kind, "group": name, "reports": len(frame), **shares.to_dict()})
    return pd.DataFrame(rows)


def suspect_rates(cohort: pd.DataFrame, areas: list[str]) -> pd.DataFrame:
    """Withdrawal rate (%) by crime area: all reports, with and without a suspect, suspect known."""
    rows = []
    for area in [ALL, *areas]:
        frame = in_area(cohort, area)
        cells = rate_frame({"All reports": frame, "Suspect recorded": frame[frame["suspect_recorded"]],
                            "No suspect recorded": frame[~frame["suspect_recorded"]],
                            "Victim knows the suspect": frame[frame["suspect_known"]]})
        rows.append(cells.assign(area=area_label(area)))
    return pd.concat(rows, ignore_index=True)


def select(cohort: pd.DataFrame, rule: dict, where: str) -> pd.Series:
    """Reports matching every key of a breakdown group's `rule` (see config/withdrawal.yml)."""
    unknown = set(rule) - SELECTORS
    if unknown:
        raise InputError(f"{SOURCE}: {where}: unknown key {sorted(unknown)[0]!r} (use {', '.join(sorted(SELECTORS))})")
    mask = pd.Series(True, index=cohort.index)
    for key, values in rule.items():
        if key == "any_of":
            missing = [c for c in values if c not in cohort.columns or cohort[c].dtype != bool]
            if missing:
                raise InputError(f"{SOURCE}: {where}: any_of names {missing[0]!r}, not a yes/no column of the dataset")
            mask &= cohort[values].any(axis=1)
        elif key == "offences":
            mask &= cohort["offence_description"].str.lower().isin([v.lower() for v in values])
        else:
            column = {"crime_types": "crime_type", "majors": "major_crime", "minors": "minor_crime"}[key]
            mask &= cohort[column].isin(values)
    return mask


def breakdown_rates(cohort: pd.DataFrame, spec: dict) -> pd.DataFrame:
    """Withdrawal by the groups of one declared breakdown of a crime area."""
    frame = in_area(cohort, spec["area"])
    return rate_frame({name: frame[select(frame, rule, f"breakdown {spec['id']}, group {name!r}")]
                       for name, rule in spec["groups"].items()})


def z_test(withdrawn, n, p0) -> tuple[np.ndarray, np.ndarray]:
    """z statistic and two-sided p-value of each rate withdrawn/n against the reference rate p0."""
    withdrawn, n, p0 = (np.asarray(v, dtype=float) for v in (withdrawn, n, p0))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (withdrawn / n - p0) / np.sqrt(p0 * (1 - p0) / n)
    return z, 2 * stats.norm.sf(np.abs(z))


def testable(n, p0, threshold: int, min_expected: float) -> np.ndarray:
    """Whether the sample permits the test: enough reports, and the normal approximation holds."""
    n, p0 = np.asarray(n, dtype=float), np.asarray(p0, dtype=float)
    return (n >= threshold) & (n * p0 >= min_expected) & (n * (1 - p0) >= min_expected)


def significance(withdrawn, n, p0, threshold: int, confidence: float, min_expected: float) -> np.ndarray:
    """'higher' or 'lower' where a rate differs from p0 at `confidence`; '' where it does not
    or where the sample does not permit the test."""
    z, p = z_test(withdrawn, n, p0)
    significant = testable(n, p0, threshold, min_expected) & (p < 1 - confidence)
    return np.where(significant & (z > 0), HIGHER, np.where(significant & (z < 0), LOWER, ""))


def funnel_limits(p0: float, n, coverage: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper control limits of a proportion around p0 for sample sizes n (normal
    approximation, kept within 0-1)."""
    half = stats.norm.ppf(0.5 + coverage / 2) * np.sqrt(p0 * (1 - p0) / np.asarray(n, dtype=float))
    return np.clip(p0 - half, 0, 1), np.clip(p0 + half, 0, 1)


def bcu_rates(cohort: pd.DataFrame, areas: list[str], threshold: int) -> pd.DataFrame:
    """Withdrawal by BCU and crime area, each tested against the area's all-BCU rate."""
    test = config()["significance"]
    rows = []
    for area in [ALL, *areas]:
        frame = in_area(cohort, area)
        p0 = frame["victim_withdrawal"].mean() if len(frame) else np.nan
        cells = rate_frame({b: g for b, g in frame.groupby("bcu", sort=True)})
        cells = cells.rename(columns={"group": "bcu"}).assign(area=area, p0=p0)
        z, p = z_test(cells["withdrawn"], cells["reports"], p0)
        cells["z"], cells["p"] = z, p
        cells["marker"] = significance(cells["withdrawn"], cells["reports"], p0, threshold,
                                       test["confidence"], test["min_expected"])
        rows.append(cells)
    return pd.concat(rows, ignore_index=True)


def bcu_ranges(cells: pd.DataFrame, threshold: int) -> pd.Series:
    """Range (percentage points) of BCU rates per crime area, over cells that are shown."""
    shown = cells[cells["reports"] >= threshold]
    return shown.groupby("area", sort=False)["rate"].agg(lambda r: r.max() - r.min())


def shown_rate(rate: float, n: int, threshold: int, marker: str = "") -> str:
    """A rate as the pack prints it: '47%', with ↑/↓ for a significant difference;
    'N<threshold' for a small cell, '-' where there are no reports."""
    if n == 0:
        return "-"
    if n < threshold:
        return f"N<{threshold}"
    return f"{rate:.0f}%" + {HIGHER: " ↑", LOWER: " ↓"}.get(marker, "")


def bcu_table(cells: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """BCU rows x crime-area columns, with the all-BCU row, as in the pack."""
    shown = cells.assign(cell=[shown_rate(r, n, threshold, m)
                               for r, n, m in zip(cells["rate"], cells["reports"], cells["marker"])])
    wide = shown.pivot(index="bcu", columns="area", values="cell")
    overall = cells.groupby("area", sort=False).agg(reports=("reports", "sum"), withdrawn=("withdrawn", "sum"))
    wide.loc["All BCUs"] = [shown_rate(100 * overall.loc[a, "withdrawn"] / overall.loc[a, "reports"],
                                       overall.loc[a, "reports"], threshold) if overall.loc[a, "reports"] else "-"
                            for a in wide.columns]
    areas = list(dict.fromkeys(cells["area"]))
    wide = wide[[a for a in areas if a != ALL] + [ALL]]
    return wide.rename(columns=area_label).rename_axis(columns=None).reset_index(names="BCU")


def victim_rates(cohort: pd.DataFrame, areas: list[str]) -> pd.DataFrame:
    """Withdrawal by victim sex, ethnicity and age group within each crime area (long form),
    with the under-18 age detail for the areas the config names."""
    spec = config()
    rows = []
    for area in [ALL, *areas]:
        frame = in_area(cohort, area)
        dimensions = dict(spec["victim_dimensions"])
        if area in spec["age_detail"]["areas"]:
            dimensions["Age detail"] = spec["age_detail"]
        total = rate_frame({"Total": frame}).assign(dimension="Total")
        rows.append(total.assign(area=area))
        for name, dim in dimensions.items():
            groups = {c: frame[frame[dim["column"]] == c] for c in dim["categories"]}
            rows.append(rate_frame(groups).assign(dimension=name, area=area))
    return pd.concat(rows, ignore_index=True)[["area", "dimension", "group", "reports", "withdrawn", "rate"]]


def victim_table(long: pd.DataFrame, threshold: int, dimensions: list[str]) -> pd.DataFrame:
    """Victim characteristic rows x crime-area columns, small cells suppressed."""
    part = long[long["dimension"].isin(dimensions)]
    part = part.assign(row=np.where(part["dimension"] == "Total", "All victims", part["dimension"] + ": " + part["group"]),
                       cell=[shown_rate(r, n, threshold) for r, n in zip(part["rate"], part["reports"])])
    rows = list(dict.fromkeys(part["row"]))
    wide = part.pivot(index="row", columns="area", values="cell").reindex(rows)
    wide = wide[list(dict.fromkeys(part["area"]))].fillna("-")
    return wide.rename(columns=area_label).rename_axis(columns=None).reset_index(names="Victim")


def speed(cohort: pd.DataFrame, areas: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """For withdrawals: share (%) in each band of days from report to investigation complete
    per crime area, and a summary (withdrawals, median days, share after 12 weeks)."""
    spec = config()
    bands, late = spec["speed_bands"], spec["late_after_days"]
    names, bounds = list(bands), list(bands.values())
    for name, (_, high), (low, _) in zip(names, bounds, bounds[1:]):
        if low != high + 1:
            raise InputError(f"{SOURCE}: speed_bands: the band after {name!r} must start at day {high + 1}")
    edges = [low for low, _ in bounds] + [bounds[-1][1] + 1]
    shares, summary = [], []
    for area in [ALL, *areas]:
        days = in_area(cohort, area).loc[lambda f: f["victim_withdrawal"], "days_to_complete"]
        band = pd.cut(days, edges, right=False, labels=names)
        shares.append((band.value_counts(normalize=True).reindex(names) * 100).rename(area_label(area)))
        summary.append({"area": area_label(area), "withdrawals": len(days),
                        "median_days": days.median(), "after_12_weeks": 100 * (days > late).mean()})
    return pd.DataFrame(shares).rename_axis(columns=None), pd.DataFrame(summary)


def pack_comparison(cohort: pd.DataFrame) -> pd.DataFrame:
    """The chapter's headline rates beside the pack's, with the calibration tolerances
    (helpers.calibration): each crime area's rate, rates by suspect and crime type, outcome
    mix and time to withdrawal."""
    rows = [r for r in calibration.rates_by_area(cohort) if r["key"].endswith("|All BCUs")]
    rows += [r for r in calibration.headline_rows(cohort) if not r["key"].startswith("dq_")]
    table = pd.DataFrame(rows)
    by_bcu = table["key"].str.endswith("|All BCUs")
    table.loc[by_bcu, "measure"] = ["Victim withdrawal: " + area_label(k.split("|")[0]).lower()
                                    for k in table.loc[by_bcu, "key"]]
    table["comparison"] = table["comparison"].fillna("equal")
    table["difference"] = (table["measured"] - table["published"]).where(table["comparison"] == "equal")
    return table[["key", "measure", "published", "measured", "n", "difference", "tolerance", "comparison", "within"]]


def published_bcu() -> pd.DataFrame:
    """The pack's BCU table in long form (area key, bcu, rate, marker), without the all-BCU row."""
    table = published.load("withdrawal_by_bcu").reset_index()
    table = table[table["bcu"] != "All BCUs"]
    return pd.DataFrame({"area": table["key"].str.split("|").str[0], "bcu": table["bcu"], "rate": table["value"],
                         "marker": table["significance"]})


def published_ranges() -> pd.Series:
    """The pack's range (percentage points) of BCU rates per crime area."""
    return published_bcu().groupby("area", sort=False)["rate"].agg(lambda r: r.max() - r.min())


def marker_agreement(cells: pd.DataFrame) -> pd.DataFrame:
    """Each BCU cell's marker beside the pack's (both '' where not significant)."""
    pack = published_bcu()[["area", "bcu", "marker"]]
    both = cells[["area", "bcu", "marker"]].merge(pack, on=["area", "bcu"], suffixes=("", "_pack"), how="inner")
    return both.assign(agrees=both["marker"] == both["marker_pack"])
