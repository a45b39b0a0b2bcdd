"""The scale of withdrawal (chapter 06), from the analysis dataset: outcome mix, rates by
suspect, the pack's sub-breakdowns, BCU differences with significance markers and funnel
limits, victim characteristics with small cells suppressed, and the time from report to
investigation complete. What is shown is declared in config/withdrawal.yml.

BCU differences are marked two ways.
- As in the pack: a BCU's withdrawal rate p = x/n in a crime area is compared with the
  all-BCU rate p0 for that area (which includes the BCU itself) by a two-sided one-sample
  z-test, z = (p - p0) / sqrt(p0 (1 - p0) / n) (statsmodels `proportions_ztest`), each
  cell on its own at 99% confidence. A cell is tested only where the sample permits: at
  least the suppression threshold of reports, and n p0 and n (1 - p0) both at least
  `min_expected`.
- Adjusted: each BCU against the rest of London (the area's other reports), allowing for
  the real variation between BCUs that sampling alone does not explain (overdispersion)
  and for testing a dozen BCUs at once. Overdispersion is estimated per crime area as in
  Spiegelhalter (2005), "Funnel plots for comparing institutional performance", Stat. Med.
  24:1185-1202: z-scores against p0, winsorised, give the multiplicative factor phi (their
  mean square) and the additive between-BCU variance tau^2 (a DerSimonian & Laird 1986
  moment estimate, Control. Clin. Trials 7:177), shown for each area and drawn in its
  funnel. Each BCU's test adds the between-BCU variance estimated from the other BCUs
  (so an outlier cannot hide behind its own spread) for the BCU and for the rest, and reads
  its p-value from a t distribution (few BCUs estimate that variance); where a cell is small
  (n p or n (1 - p) under `min_expected`) the p-value is exact, from the beta-binomial
  distribution with the same mean and variance. Markers are kept by Holm's (1979,
  Scand. J. Stat. 6:65) step-down procedure within each crime area (statsmodels
  `multipletests`), so the chance of any false marker in an area is about 1% at most.

Funnel plots (Spiegelhalter 2005) draw limits around p0 from exact binomial quantiles
(beta-binomial with tau^2 for the adjusted limits), interpolated between counts as in
that paper's appendix: exact where cells are small, close to the normal limits where
they are large.

Any extract the contract allows: reports with no borough recorded form their own row
("Borough not recorded"), counted but never tested, ranked or drawn; a BCU, crime type or
group with no reports shows "-"; and a sentence quotes or ranks only cells of at least the
suppression threshold.
"""

from functools import cache

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

from . import calibration, dataset, published
from .errors import InputError
from .geography import NOT_RECORDED, bcu_label, bcus
from .io import read_yaml
from .paths import CONFIG

SOURCE = CONFIG / "withdrawal.yml"
ALL = "all"
SELECTORS = {"any_of", "crime_types", "majors", "minors", "offences"}
HIGHER, LOWER = "higher", "lower"
ARROWS = {HIGHER: "↑", LOWER: "↓"}  # the pack's markers
ADJUSTED_ARROWS = {HIGHER: "▲", LOWER: "▼"}  # beside them: against the rest of London, adjusted
NONE = "none"


@cache
def config() -> dict:
    return read_yaml(SOURCE)


def area_label(area: str) -> str:
    return "All crime" if area == ALL else dataset.config()["crime_areas"][area]["label"]


def in_area(cohort: pd.DataFrame, area: str) -> pd.DataFrame:
    return cohort if area == ALL else cohort[cohort[area]]


def rate_frame(groups: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Reports, withdrawals and the withdrawal rate (%) of each named group of reports."""
    rows = [
        {"group": name, "reports": len(frame), "withdrawn": int(frame["victim_withdrawal"].sum())}
        for name, frame in groups.items()
    ]
    out = pd.DataFrame(rows, columns=["group", "reports", "withdrawn"])
    out["rate"] = 100 * out["withdrawn"] / out["reports"].where(out["reports"] > 0)
    return out


def outcome_mix(cohort: pd.DataFrame, areas: list[str]) -> pd.DataFrame:
    """Share (%) of each outcome group, by crime area (overlapping) and crime type (exclusive)."""
    order = list(dataset.config()["outcome_groups"])
    parts = [("Crime area", area_label(a), in_area(cohort, a)) for a in [ALL, *areas]]
    parts += [
        ("Crime type", t, cohort[cohort["crime_type"] == t])
        for t in [spec["name"] for spec in dataset.config()["crime_types"]]
    ]
    rows = []
    for kind, name, frame in parts:
        counts = frame["outcome_group"].value_counts().reindex(order, fill_value=0)
        shares = 100 * counts / len(frame) if len(frame) else counts * np.nan  # no reports: no shares
        rows.append({"kind": kind, "group": name, "reports": len(frame), **shares.to_dict()})
    return pd.DataFrame(rows)


def suspect_rates(cohort: pd.DataFrame, areas: list[str]) -> pd.DataFrame:
    """Withdrawal rate (%) by crime area: all reports, with and without a suspect, suspect known."""
    rows = []
    for area in [ALL, *areas]:
        frame = in_area(cohort, area)
        cells = rate_frame(
            {
                "All reports": frame,
                "Suspect recorded": frame[frame["suspect_recorded"]],
                "No suspect recorded": frame[~frame["suspect_recorded"]],
                "Victim knows the suspect": frame[frame["suspect_known"]],
            }
        )
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
    return rate_frame(
        {
            name: frame[select(frame, rule, f"breakdown {spec['id']}, group {name!r}")]
            for name, rule in spec["groups"].items()
        }
    )


def z_test(withdrawn, n, p0) -> tuple[np.ndarray, np.ndarray]:
    """z statistic and two-sided p-value of each rate withdrawn/n against the reference rate p0
    (one-sample z-test, the standard error from p0: statsmodels `proportions_ztest`); NaN
    where there are no reports or p0 is 0 or 1."""
    withdrawn, n, p0 = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (withdrawn, n, p0)))
    z, p = np.full(n.shape, np.nan), np.full(n.shape, np.nan)
    for i in np.flatnonzero((n > 0) & (p0 > 0) & (p0 < 1)):
        z[i], p[i] = proportions_ztest(withdrawn[i], n[i], value=p0[i], prop_var=p0[i])
    return z, p


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


def overdispersion(values, variances, target: float, winsorise: float = 0.0) -> tuple[float, float]:
    """Spiegelhalter's (2005) estimates of how far units vary around `target` beyond their
    sampling `variances`: phi, the mean square of the z-scores (z winsorised at `winsorise`
    at each end, scipy `mstats.winsorize`), and tau^2, the additive between-unit variance,
    (I phi - (I - 1)) / (sum w - sum w^2 / sum w) with w = 1 / variance, or 0 where
    I phi <= I - 1 (the DerSimonian & Laird 1986 moment estimate when `target` is the
    weighted mean and nothing is winsorised). NaN for fewer than two units."""
    values, variances = np.asarray(values, dtype=float), np.asarray(variances, dtype=float)
    if len(values) < 2:
        return np.nan, np.nan
    z = (values - target) / np.sqrt(variances)
    if winsorise:
        z = np.asarray(stats.mstats.winsorize(z, limits=(winsorise, winsorise)))
    units, phi = len(z), float(np.mean(z**2))
    w = 1 / variances
    tau2 = (units * phi - (units - 1)) / (w.sum() - (w**2).sum() / w.sum())
    return phi, max(float(tau2), 0.0)


def count_distribution(n, p, tau2: float = 0.0):
    """The number of withdrawals among n reports at rate p: binomial, or with between-unit
    variance tau2 the beta-binomial whose rate variance is p (1 - p) / n + tau2 (n - 1) / n
    (intra-class correlation tau2 / (p (1 - p))): scipy frozen distributions."""
    if tau2 <= 0:
        return stats.binom(n, p)
    size = p * (1 - p) / tau2 - 1  # a + b of the beta distribution
    return stats.betabinom(n, p * size, (1 - p) * size)


def _interpolated_quantile(distribution, q: float, n) -> np.ndarray:
    """The q-quantile of a count as a proportion, interpolated between counts (Spiegelhalter
    2005, appendix): r the smallest count with F(r) >= q, less (F(r) - q) / (F(r) - F(r - 1))."""
    r = distribution.ppf(q)
    above, below = distribution.cdf(r), distribution.cdf(r - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        step = np.where(above > below, (above - q) / (above - below), 0.0)
    return (r - step) / n


def funnel_limits(p0: float, n, coverage: float, tau2: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper funnel limits of a proportion around p0 for sample sizes n: exact
    (interpolated) quantiles of the binomial, or of the beta-binomial with between-unit
    variance tau2 (Spiegelhalter 2005's additive random-effects limits), kept within 0-1.
    Sample sizes are whole numbers of reports: n is rounded."""
    n = np.rint(np.asarray(n, dtype=float))
    tail = (1 - coverage) / 2
    distribution = count_distribution(n, p0, tau2)
    low, high = (_interpolated_quantile(distribution, q, n) for q in (tail, 1 - tail))
    return np.clip(low, 0, 1), np.clip(high, 0, 1)


def against_rest(withdrawn, n, units, min_expected: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """z, two-sided p and between-unit variance tau2 for each of the `units` (a mask) against
    the rest (every other row pooled). tau2 is estimated from the other units only (overdispersion,
    unwinsorised: the unit tested cannot mask itself) and added for the unit and for the
    rest, weighted by the other units' shares: var = p (1 - p) (1/n + 1/n_rest) + tau2 (1 +
    sum over the other units of (n_j / n_rest)^2), p the pooled rate; at tau2 = 0 this is the
    two-proportion z-test (statsmodels `proportions_ztest`). p is read from a t distribution
    with units - 2 degrees of freedom, as tau2 rests on so few units (Follmann & Proschan
    1999, Biometrics 55:732). A unit with n p or n (1 - p) under `min_expected` gets the exact
    beta-binomial p-value of its count at the rest's rate instead (z NaN)."""
    x, n, units = np.asarray(withdrawn, dtype=float), np.asarray(n, dtype=float), np.asarray(units, dtype=bool)
    rest_x, rest_n = x.sum() - x, n.sum() - n
    pooled = x.sum() / n.sum()
    z, p, tau2 = (np.full(len(n), np.nan) for _ in range(3))
    for i in np.flatnonzero(units):
        others = units & (np.arange(len(n)) != i)
        rate = x[others].sum() / n[others].sum()
        tau2[i] = overdispersion(x[others] / n[others], rate * (1 - rate) / n[others], rate)[1]
        spread = 1 + (n[others] ** 2).sum() / rest_n[i] ** 2
        if min(n[i] * pooled, n[i] * (1 - pooled)) < min_expected:
            counts = count_distribution(n[i], rest_x[i] / rest_n[i], tau2[i])
            p[i] = min(1.0, 2 * min(counts.cdf(x[i]), counts.sf(x[i] - 1)))
            continue
        variance = pooled * (1 - pooled) * (1 / n[i] + 1 / rest_n[i]) + tau2[i] * spread
        z[i] = (x[i] / n[i] - rest_x[i] / rest_n[i]) / np.sqrt(variance)
        p[i] = 2 * stats.t.sf(abs(z[i]), units.sum() - 2)
    return z, p, tau2


def bcu_order(names) -> list[str]:
    """The BCUs of config/bcu.yml, then any other name present, the not-recorded category last."""
    present = set(names)
    others = sorted(present - set(bcus()) - {NOT_RECORDED})
    return bcus() + others + ([NOT_RECORDED] if NOT_RECORDED in present else [])


def adjusted_markers(cells: pd.DataFrame, p0: float, threshold: int) -> dict[str, np.ndarray]:
    """One crime area's BCU cells (rate_frame form) tested the adjusted way (module docstring):
    the area's phi and tau2 (Spiegelhalter 2005, winsorised; for its funnel), each cell's z and
    p against the rest of London (against_rest, with tau2 from the other BCUs), its
    Holm-adjusted p within the area and its marker. Tested: real BCUs with at least
    `threshold` reports (three at least); the rest of London is every other report of the area."""
    spec = config()
    confidence, winsorise = spec["adjusted"]["familywise_confidence"], spec["adjusted"]["winsorise"]
    x, n = cells["withdrawn"].to_numpy(float), cells["reports"].to_numpy(float)
    tested = (cells["bcu"] != NOT_RECORDED).to_numpy() & (n >= max(threshold, 1))
    out = {
        "phi": np.nan,
        "tau2": np.nan,
        "z_rest": np.full(len(n), np.nan),
        "p_rest": np.full(len(n), np.nan),
        "p_holm": np.full(len(n), np.nan),
        "adjusted": np.full(len(n), "", dtype=object),
    }
    if tested.sum() < 3 or not 0 < p0 < 1:
        return out
    out["phi"], out["tau2"] = overdispersion(x[tested] / n[tested], p0 * (1 - p0) / n[tested], p0, winsorise)
    present = n > 0
    z, p, _ = against_rest(x[present], n[present], tested[present], spec["significance"]["min_expected"])
    out["z_rest"][present], out["p_rest"][present] = z, p
    reject, holm, *_ = multipletests(out["p_rest"][tested], alpha=1 - confidence, method="holm")
    out["p_holm"][tested] = holm
    higher = x / np.where(present, n, 1) > (x.sum() - x) / (n.sum() - n)
    out["adjusted"][np.flatnonzero(tested)[reject]] = np.where(higher[tested][reject], HIGHER, LOWER)
    return out


def bcu_rates(cohort: pd.DataFrame, areas: list[str], threshold: int) -> pd.DataFrame:
    """Withdrawal by BCU and crime area, marked both ways (module docstring): `marker` as in
    the pack, against the area's all-BCU rate (z, p); `adjusted` against the rest of London
    with the area's overdispersion (phi, tau2; z_rest, p_rest) and Holm within the area
    (p_holm). Every BCU has a row in every area (no reports: rate NaN); reports with no
    borough form their own row, which is not a BCU and so is never tested."""
    test = config()["significance"]
    names = bcu_order(cohort["bcu"])
    rows = []
    for area in [ALL, *areas]:
        frame = in_area(cohort, area)
        p0 = frame["victim_withdrawal"].mean() if len(frame) else np.nan
        groups = dict(tuple(frame.groupby("bcu")))
        cells = rate_frame({b: groups.get(b, frame.iloc[:0]) for b in names})
        cells = cells.rename(columns={"group": "bcu"}).assign(area=area, p0=p0)
        z, p = z_test(cells["withdrawn"], cells["reports"], p0)
        cells["z"], cells["p"] = z, p
        marker = significance(
            cells["withdrawn"], cells["reports"], p0, threshold, test["confidence"], test["min_expected"]
        )
        cells["marker"] = np.where(cells["bcu"] == NOT_RECORDED, "", marker)
        rows.append(cells.assign(**adjusted_markers(cells, p0, threshold)))
    return pd.concat(rows, ignore_index=True)


def method_counts(cells: pd.DataFrame) -> pd.DataFrame:
    """Per crime area: BCU cells tested, and how many each method marks higher and lower,
    with the area's overdispersion (phi; tau in percentage points; NaN where untested)."""
    areas = list(dict.fromkeys(cells["area"]))
    tested = cells[cells["p_holm"].notna()]
    by_area = cells.groupby("area")

    def count(column: str, value: str) -> np.ndarray:
        return (tested[column] == value).groupby(tested["area"]).sum().reindex(areas, fill_value=0).to_numpy(int)

    return pd.DataFrame(
        {
            "area": areas,
            "tested": tested.groupby("area").size().reindex(areas, fill_value=0).to_numpy(int),
            "phi": by_area["phi"].first().reindex(areas).to_numpy(float),
            "pack_higher": count("marker", HIGHER),
            "pack_lower": count("marker", LOWER),
            "adjusted_higher": count("adjusted", HIGHER),
            "adjusted_lower": count("adjusted", LOWER),
            "tau_pp": 100 * np.sqrt(by_area["tau2"].first().reindex(areas).to_numpy(float)),
        }
    )


def bcu_cells(cells: pd.DataFrame, threshold: int = 0) -> pd.DataFrame:
    """The cells of real BCUs (not the not-recorded category) with at least `threshold` reports:
    what funnels, maps and ranges draw."""
    return cells[(cells["bcu"] != NOT_RECORDED) & (cells["reports"] >= max(threshold, 1))]


def bcu_ranges(cells: pd.DataFrame, threshold: int) -> pd.Series:
    """Range (percentage points) of BCU rates per crime area, over BCU cells that are shown;
    NaN for an area with none."""
    ranges = bcu_cells(cells, threshold).groupby("area", sort=False)["rate"].agg(lambda r: r.max() - r.min())
    return ranges.reindex(list(dict.fromkeys(cells["area"])))


def shown_rate(rate: float, n: int, threshold: int, marker: str = "", adjusted: str = "") -> str:
    """A rate as the pack prints it: '47%', with ↑/↓ for a difference the pack's test finds
    and ▲/▼ for one the adjusted test finds; 'N<threshold' for a small cell, '-' where there
    are no reports."""
    if n == 0:
        return "-"
    if n < threshold:
        return f"N<{threshold}"
    marks = " ".join(filter(None, (ARROWS.get(marker, ""), ADJUSTED_ARROWS.get(adjusted, ""))))
    return f"{rate:.0f}%" + (f" {marks}" if marks else "")


def bcu_table(cells: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """BCU rows x crime-area columns, with the all-BCU row, as in the pack."""
    shown = cells.assign(
        cell=[
            shown_rate(r, n, threshold, m, a)
            for r, n, m, a in zip(cells["rate"], cells["reports"], cells["marker"], cells["adjusted"], strict=True)
        ]
    )
    wide = shown.pivot(index="bcu", columns="area", values="cell").reindex(list(dict.fromkeys(cells["bcu"])))
    overall = cells.groupby("area", sort=False).agg(reports=("reports", "sum"), withdrawn=("withdrawn", "sum"))
    wide.loc["All BCUs"] = [
        shown_rate(100 * overall.loc[a, "withdrawn"] / overall.loc[a, "reports"], overall.loc[a, "reports"], threshold)
        if overall.loc[a, "reports"]
        else "-"
        for a in wide.columns
    ]
    areas = list(dict.fromkeys(cells["area"]))
    wide = wide[[a for a in areas if a != ALL] + [ALL]].fillna("-")
    return wide.rename(index=bcu_label, columns=area_label).rename_axis(columns=None).reset_index(names="BCU")


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
    part = part.assign(
        row=np.where(part["dimension"] == "Total", "All victims", part["dimension"] + ": " + part["group"]),
        cell=[shown_rate(r, n, threshold) for r, n in zip(part["rate"], part["reports"], strict=True)],
    )
    rows = list(dict.fromkeys(part["row"]))
    wide = part.pivot(index="row", columns="area", values="cell").reindex(rows)
    wide = wide[list(dict.fromkeys(part["area"]))].fillna("-")
    return wide.rename(columns=area_label).rename_axis(columns=None).reset_index(names="Victim")


def speed(cohort: pd.DataFrame, areas: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """For withdrawals: share (%) in each band of days from report to investigation complete
    per crime area, and a summary (withdrawals, those with a completion date ('timed'),
    median days, share after 12 weeks). A withdrawal with no completion date has no time:
    it is left out of the shares, median and late share, not counted as early."""
    spec = config()
    bands, late = spec["speed_bands"], spec["late_after_days"]
    names, bounds = list(bands), list(bands.values())
    for name, (_, high), (low, _) in zip(names, bounds, bounds[1:], strict=False):  # neighbouring bands
        if low != high + 1:
            raise InputError(f"{SOURCE}: speed_bands: the band after {name!r} must start at day {high + 1}")
    edges = [low for low, _ in bounds] + [bounds[-1][1] + 1]
    shares, summary = [], []
    for area in [ALL, *areas]:
        days = in_area(cohort, area).loc[lambda f: f["victim_withdrawal"], "days_to_complete"]
        timed = days.dropna()
        band = pd.cut(timed, edges, right=False, labels=names)
        shares.append((band.value_counts(normalize=True).reindex(names) * 100).rename(area_label(area)))
        summary.append(
            {
                "area": area_label(area),
                "withdrawals": len(days),
                "timed": len(timed),
                "median_days": timed.median(),
                "after_12_weeks": 100 * (timed > late).mean() if len(timed) else np.nan,
            }
        )
    return pd.DataFrame(shares).rename_axis(columns=None), pd.DataFrame(summary)


def pack_comparison(cohort: pd.DataFrame) -> pd.DataFrame:
    """The chapter's headline rates beside the pack's, with the calibration tolerances
    (helpers.calibration): each crime area's rate, rates by suspect and crime type, outcome
    mix and time to withdrawal."""
    rows = [r for r in calibration.rates_by_area(cohort) if r["key"].endswith("|All BCUs")]
    rows += [r for r in calibration.headline_rows(cohort) if not r["key"].startswith("dq_")]
    table = pd.DataFrame(rows)
    by_bcu = table["key"].str.endswith("|All BCUs")
    table.loc[by_bcu, "measure"] = [
        "Victim withdrawal: " + area_label(k.split("|")[0]).lower() for k in table.loc[by_bcu, "key"]
    ]
    table["comparison"] = table["comparison"].fillna("equal")
    table["difference"] = (table["measured"] - table["published"]).where(table["comparison"] == "equal")
    return table[["key", "measure", "published", "measured", "n", "difference", "tolerance", "comparison", "within"]]


def published_bcu() -> pd.DataFrame:
    """The pack's BCU table in long form (area key, bcu, rate, marker), without the all-BCU row."""
    table = published.load("withdrawal_by_bcu").reset_index()
    table = table[table["bcu"] != "All BCUs"]
    return pd.DataFrame(
        {
            "area": table["key"].str.split("|").str[0],
            "bcu": table["bcu"],
            "rate": table["value"],
            "marker": table["significance"],
        }
    )


def published_ranges() -> pd.Series:
    """The pack's range (percentage points) of BCU rates per crime area."""
    return published_bcu().groupby("area", sort=False)["rate"].agg(lambda r: r.max() - r.min())


def marker_agreement(cells: pd.DataFrame) -> pd.DataFrame:
    """Each BCU cell's marker beside the pack's (both '' where not significant)."""
    pack = published_bcu()[["area", "bcu", "marker"]]
    both = cells[["area", "bcu", "marker"]].merge(pack, on=["area", "bcu"], suffixes=("", "_pack"), how="inner")
    return both.assign(agrees=both["marker"] == both["marker_pack"])


def visible(values: pd.Series | pd.DataFrame, counts: pd.Series, threshold: int):
    """Values whose count reaches the threshold, NaN elsewhere: all a sentence may quote or rank."""
    enough = counts >= threshold
    return values.where(enough, axis=0) if isinstance(values, pd.DataFrame) else values.where(enough)


def extreme(values: pd.Series, highest: bool = True) -> tuple[str | None, float]:
    """The name and value of the highest (or lowest) value that is not NaN; (None, NaN) if none is."""
    values = values.dropna()
    if values.empty:
        return None, np.nan
    name = values.idxmax() if highest else values.idxmin()
    return name, float(values[name])


def shown_cells(frame: pd.DataFrame, columns: list[str], counts: pd.Series, threshold: int) -> pd.DataFrame:
    """`columns` as a table shows them: '-' where there are no reports, 'N<threshold' where
    there are fewer than the threshold, the value otherwise."""
    out = frame.copy()
    counts = np.asarray(counts)
    for column in columns:
        out[column] = out[column].astype(object)
        out.loc[counts < threshold, column] = f"N<{threshold}"
        out.loc[counts == 0, column] = "-"
    return out


def shown_count(n: int, threshold: int) -> str:
    """A count as a chart labels it: '1,234', 'N<threshold' for a small cell, '-' for none."""
    return "-" if n == 0 else f"N<{threshold}" if n < threshold else f"{n:,}"


def percent(value: float) -> str:
    """A rate for a sentence or alt text: '47%', or 'not shown' for a suppressed or absent cell."""
    return "not shown" if pd.isna(value) else f"{value:.0f}%"


def count_text(n: int, threshold: int) -> str:
    """A count as a sentence may say it: '1,596', 'fewer than 100' (a small cell), '' for none."""
    return "" if not n else f"{n:,}" if n >= threshold else f"fewer than {threshold}"


def not_recorded(cohort: pd.DataFrame, threshold: int) -> str:
    """How many reports have no borough, as a sentence may say it (count_text)."""
    return count_text(int((cohort["bcu"] == NOT_RECORDED).sum()), threshold)


def not_recorded_note(cohort: pd.DataFrame, threshold: int) -> str:
    """A sentence on the reports with no borough (for captions and alt text); '' if there are none."""
    count = not_recorded(cohort, threshold)
    return count and (
        f"{count} reports have no borough recorded: they count in every all-BCU rate, form their own "
        f"row ('{bcu_label(NOT_RECORDED)}'), are not tested against London and are not drawn on maps."
    )


def key_figures(
    mix: pd.DataFrame,
    suspects: pd.DataFrame,
    cells: pd.DataFrame,
    ranges: pd.Series,
    victims: pd.DataFrame,
    speed_summary: pd.DataFrame,
    areas: list[str],
    threshold: int,
) -> dict:
    """The figures the chapter's text quotes (and the key insights paste), from its tables.
    Only cells of at least `threshold` reports are quoted or ranked: a figure with no such
    cell is NaN and a name is 'none'. BCU counts cover real BCUs only."""
    figures: dict = {}
    by_kind = {kind: part.set_index("group") for kind, part in mix.groupby("kind")}
    shown = {kind: visible(part, part["reports"], threshold) for kind, part in by_kind.items()}
    areas_shown, types_shown = shown["Crime area"], shown["Crime type"]
    figures["reports"] = int(by_kind["Crime area"].loc[area_label(ALL), "reports"])
    ranked = areas_shown["Victim withdrawal"].drop(area_label(ALL)).dropna().sort_values(ascending=False)
    top = [f"{name.lower()} ({rate:.0f}%)" for name, rate in ranked.head(4).items()]
    figures["highest_areas"] = ", ".join(top) or NONE
    for key, part, column, highest in (
        ("lowest_type", types_shown, "Victim withdrawal", False),
        ("most_judicial", areas_shown, "Judicial", True),
        ("most_evidential", types_shown, "Evidential difficulties", True),
    ):
        name, figures[f"{key}_rate"] = extreme(part[column], highest)
        figures[key] = (name or NONE).lower()
    for area in [ALL, *areas]:
        figures[f"rate_{area}"] = areas_shown.loc[area_label(area), "Victim withdrawal"]
        figures[f"range_{area}"] = ranges.get(area, np.nan)
    everyone = suspects[suspects["area"] == area_label(ALL)].set_index("group")
    everyone = visible(everyone["rate"], everyone["reports"], threshold)
    figures.update(
        rate_suspect=everyone["Suspect recorded"],
        rate_no_suspect=everyone["No suspect recorded"],
        rate_known=everyone["Victim knows the suspect"],
    )
    name, figures["widest_range_pp"] = extreme(ranges.drop(ALL))
    figures["widest_range"] = area_label(name).lower() if name else NONE
    marked = bcu_cells(cells[cells["area"] != ALL])
    for key, marker in (("most_higher", HIGHER), ("most_lower", LOWER)):
        counts = (marked["marker"] == marker).groupby(marked["bcu"], sort=False).sum()
        name, most = extreme(counts)
        figures[key], figures[f"{key}_n"] = (name, most) if most else ("No BCU", 0)
    sex = victims[(victims["area"] == ALL) & (victims["dimension"] == "Sex")].set_index("group")
    sex = visible(sex["rate"], sex["reports"], threshold)
    figures.update(rate_male=sex.get("Male", np.nan), rate_female=sex.get("Female", np.nan))
    speed_rows = speed_summary.set_index("area")
    late = visible(speed_rows["after_12_weeks"], speed_rows["timed"], threshold)
    sexual = [area_label(a) for a in ("adult_sexual", "adult_rape", "csa")]
    figures.update(
        late_sexual=late.get(sexual[0], np.nan),
        late_csa=late.get(sexual[2], np.nan),
        late_non_sexual_max=late.drop(sexual, errors="ignore").max(),
    )
    return figures


def bcu_beside_pack(cells: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """Every row of the pack's BCU table (withdrawal_by_bcu, indexed by key) with its rate and
    marker as the pack prints them ('pack') and this run's cell beside it ('run': rate, ↑/↓ as
    in the pack, ▲/▼ adjusted; suppressed or '-' as the chapter's tables show it)."""
    table = published.load("withdrawal_by_bcu")
    run = {
        (a, b): shown_rate(r, n, threshold, m, d)
        for a, b, r, n, m, d in zip(
            cells["area"],
            cells["bcu"],
            cells["rate"],
            cells["reports"],
            cells["marker"],
            cells["adjusted"],
            strict=True,
        )
    }
    totals = cells.groupby("area").agg(reports=("reports", "sum"), withdrawn=("withdrawn", "sum"))
    for area, row in totals.iterrows():
        rate = 100 * row["withdrawn"] / row["reports"] if row["reports"] else np.nan
        run[(area, "All BCUs")] = shown_rate(rate, row["reports"], threshold)
    areas = table.index.str.split("|").str[0]
    return table.assign(
        pack=[
            f"{v:.0f}%" + (f" {ARROWS[m]}" if m in ARROWS else "")
            for v, m in zip(table["value"], table["significance"].fillna(""), strict=True)
        ],
        run=[run.get((a, b), "-") for a, b in zip(areas, table["bcu"], strict=True)],
    )


def victim_beside_pack(victims: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """Every row of the pack's victim table (withdrawal_by_victim, indexed by key) as the pack
    prints it ('pack': the rate, the count, or its note) with this run's cell beside it ('run')."""
    table = published.load("withdrawal_by_victim")
    run = {}
    for r in victims.itertuples():
        dimension, group = ("total", "Total") if r.dimension == "Total" else (r.dimension, r.group)
        run[f"{r.area}|{dimension}|{group}"] = shown_rate(r.rate, r.reports, threshold)
        if r.dimension == "Total":
            run[f"{r.area}|total|n"] = shown_count(r.reports, threshold)
    run = {key.replace("|total|Total", "|total|rate"): value for key, value in run.items()}
    notes = table["note"].fillna("") if "note" in table.columns else pd.Series("", index=table.index)
    return table.assign(
        pack=[
            note if pd.isna(v) else f"{v:,.0f}" if unit == "reports" else f"{v:.0f}%"
            for v, unit, note in zip(table["value"], table["unit"], notes, strict=True)
        ],
        run=[run.get(key, "-") for key in table.index],
    )


def victim_shares(victims: pd.DataFrame, dimension: str = "Sex") -> pd.Series:
    """Share (%) of all-crime reports in each group of a victim dimension (the pack's context line)."""
    rows = victims[(victims["area"] == ALL) & (victims["dimension"] == dimension)].set_index("group")["reports"]
    return 100 * rows / rows.sum() if rows.sum() else rows * np.nan
