"""Beyond the pack (chapter 10): time to each outcome as competing risks, and BCU
differences net of case mix.

Competing risks. An investigation ends in one of several ways (victim withdrawal,
evidential difficulties, a judicial outcome, other); the time to each is the days from
report to investigation complete. The Aalen-Johansen estimator gives the cumulative
incidence of each way of ending by day t: the share of reports that have ended that way
by then (Aalen & Johansen 1978; Putter, Fiocco & Geskus 2007, Statistics in Medicine
26:2389). Reports still open when the extract was taken (the as-of date) are censored
there: they count as at risk until then, and no more is known of them. Leaving them out,
as a dataset of closed reports alone does, overstates every cumulative incidence: the
reports that close late are missing from the denominator. Its variance is the delta-method
(Greenwood-type) estimate of Collett, Modelling Survival Data in Medical Research (3rd ed.,
2015, p. 411), as SAS PROC LIFETEST and lifelines print it, with intervals on the log(-log)
scale so that they stay within 0-1 (Pintilie, Competing Risks: A Practical Perspective, 2006).
Written by hand because lifelines' AalenJohansenFitter jitters tied days at random (a
dataset in whole days is nearly all ties) and loops in Python over every day; the tests
check it against lifelines on untied data and against a calculation by hand on tied days.

BCU differences net of case mix, in two stages. Stage one fits the all-crime driver model
(model 3's predictors) with a coefficient for each BCU, coded as deviations from the
average BCU. Stage two treats those effects as draws from a normal distribution around a
common mean with standard deviation tau (a random intercept), and integrates over tau's
uncertainty rather than plugging in one estimate of it: the hierarchical normal model of
Gelman et al., Bayesian Data Analysis (3rd ed., 2013, section 5.4), with a flat prior on
the mean and a uniform prior on tau, computed on a grid. Each BCU's net effect is then its
posterior mean, with an interval from the mixture over tau; the intervals never collapse
to zero width, even when the data alone would put tau at 0 (as the method-of-moments,
DerSimonian-Laird, estimate often does when BCUs barely differ, and as empirical-Bayes
shrinkage with that estimate plugged in would then show). With thousands of reports per
BCU this agrees closely with a one-stage random-intercept logistic model (checked in the
tests against statsmodels' BinomialBayesMixedGLM) at a fraction of its cost. Its limits:
stage one's estimates are taken as normal with known variance, and the deviation-coded
effects, which sum to zero, are treated as independent.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import linalg, special, stats

from . import dataset, logit, models, withdrawal
from .errors import InputError
from .geography import NOT_RECORDED
from .io import read_parquet

CURVE_COLUMNS = ["outcome_group", "day", "cif", "ci_low", "ci_high"]


def cumulative_incidence(
    days, cause, causes: list[str], censored=None, reports=None, confidence: float = 0.95
) -> pd.DataFrame:
    """Aalen-Johansen cumulative incidence of each cause at each distinct event day, with its
    delta-method interval: one row per cause and day (CURVE_COLUMNS; shares 0-1).

    A missing or negative time, or an ended report whose cause is not one of `causes`, is an
    error naming the report (`reports`: their references; else the row number)."""
    days = np.asarray(days, dtype=float)
    cause = np.asarray(cause, dtype=object)
    censored = np.zeros(len(days), dtype=bool) if censored is None else np.asarray(censored, dtype=bool)
    reports = None if reports is None else np.asarray(reports, dtype=object)

    def name(i: int) -> str:
        return f"report {reports[i]}" if reports is not None else f"row {i}"

    bad = np.flatnonzero(~(days >= 0))
    if len(bad):
        what = "missing" if np.isnan(days[bad[0]]) else f"negative ({days[bad[0]]:.0f} days)"
        raise InputError(
            f"{name(bad[0])}: time to outcome is {what}; {len(bad)} report(s) in all have no time of 0 days or more"
        )
    unknown = np.flatnonzero(~censored & ~pd.Series(cause).isin(causes).to_numpy())
    if len(unknown):
        raise InputError(f"{name(unknown[0])}: outcome group {cause[unknown[0]]!r} is not one of {', '.join(causes)}")
    ended = ~censored
    times = np.unique(days[ended])
    at_risk = len(days) - np.searchsorted(np.sort(days), times, side="left")  # censored at t still at risk at t
    slot = np.searchsorted(times, days[ended])
    events = np.bincount(slot, minlength=len(times))
    survival_before = np.concatenate([[1.0], np.cumprod(1 - events / at_risk)[:-1]])  # free of any event before t
    # Collett's first term, d / (n (n - d)), is 0 x infinity where the last at risk all end: 0.
    a = np.divide(events, at_risk * (at_risk - events), out=np.zeros(len(times)), where=at_risk > events)
    z = stats.norm.ppf(0.5 + confidence / 2)
    frames = []
    for c in causes:
        own = np.bincount(slot[cause[ended] == c], minlength=len(times))
        cif = np.cumsum(survival_before * own / at_risk)
        b = survival_before**2 * own * (at_risk - own) / at_risk**3
        g = survival_before * own / at_risk**2
        # sum_j (F(t) - F_j)^2 a_j + b_j - 2 (F(t) - F_j) g_j over t_j <= t, expanded into running sums.
        variance = (
            cif**2 * np.cumsum(a)
            - 2 * cif * np.cumsum(a * cif)
            + np.cumsum(a * cif**2)
            + np.cumsum(b)
            - 2 * cif * np.cumsum(g)
            + 2 * np.cumsum(g * cif)
        )
        low, high = _log_log_interval(cif, np.sqrt(np.clip(variance, 0, None)), z)
        frames.append(pd.DataFrame({"outcome_group": c, "day": times, "cif": cif, "ci_low": low, "ci_high": high}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=CURVE_COLUMNS)


def _log_log_interval(cif: np.ndarray, se: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """F^exp(+-z se / (F log F)): the delta-method interval on the log(-log) scale. At F = 0 (no
    event yet) and F = 1 it is the point itself."""
    inner = (cif > 0) & (cif < 1)
    safe = np.where(inner, cif, 0.5)
    spread = np.where(inner, z * se / (safe * np.abs(np.log(safe))), 0.0)
    centre = np.log(-np.log(safe))
    return (
        np.where(inner, np.exp(-np.exp(centre + spread)), cif),
        np.where(inner, np.exp(-np.exp(centre - spread)), cif),
    )


def timed(cohort: pd.DataFrame, open_reports: pd.DataFrame, as_of) -> tuple[pd.DataFrame, int]:
    """Every report with its time and how it ended, censored at the as-of date: the closed
    reports of the cohort (one closed after the as-of date was still open then) and the open
    ones. Returns the frame (the cohort's columns, plus `day` and `censored`) and how many
    closed reports were left out because their investigation complete date is not recorded:
    their outcome is known, but not when."""
    as_of = pd.Timestamp(as_of)
    reported = pd.to_datetime(cohort["reported_date"])
    complete = pd.to_datetime(cohort["investigation_complete_date"])
    known = complete.notna()
    closed = cohort[known].assign(
        day=(complete[known].clip(upper=as_of) - reported[known]).dt.days, censored=complete[known] > as_of
    )
    still_open = open_reports.assign(
        day=(as_of - pd.to_datetime(open_reports["reported_date"])).dt.days, censored=True, outcome_group=None
    )
    return pd.concat([closed, still_open], ignore_index=True), int((~known).sum())


def competing_risks(
    frame: pd.DataFrame, areas: list[str], causes: list[str], confidence: float = 0.95
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cumulative incidence of each outcome group, all crime ('all') and per crime area, from
    `timed`'s frame: the curves (area first, then CURVE_COLUMNS) and per area the reports and
    how many of them are censored."""
    curves, counts = [], []
    for area in ["all", *areas]:
        part = withdrawal.in_area(frame, area)
        curve = cumulative_incidence(
            part["day"], part["outcome_group"], causes, part["censored"], part["crime_ref"], confidence
        )
        curves.append(curve.assign(area=area))
        counts.append({"area": area, "reports": len(part), "censored": int(part["censored"].sum())})
    return (
        pd.concat(curves, ignore_index=True).reindex(columns=["area", *CURVE_COLUMNS]),
        pd.DataFrame(counts).set_index("area"),
    )


def from_dataset(folder: Path, confidence: float = 0.95) -> dict:
    """The competing-risks curves of a dataset build-dataset wrote (cohort.parquet, open.parquet
    and build.json's as-of date), for all crime and every crime area of config/dataset.yml, each
    outcome group named as in the dataset. Returns the curves, the reports and censored ones per
    area (`counts`), the closed reports left out for want of a complete date (`untimed`) and the
    as-of date."""
    folder = Path(folder)
    for name in ("cohort.parquet", "open.parquet", "build.json"):
        if not (folder / name).is_file():
            raise InputError(
                f"{folder}: no {name}; build the dataset again with build-dataset (it writes the "
                "reports still open, and the as-of date, since the as-of date was added)"
            )
    as_of = json.loads((folder / "build.json").read_text()).get("as_of")
    if not as_of:
        raise InputError(f"{folder / 'build.json'}: no as-of date; build the dataset again with build-dataset")
    cohort = read_parquet(folder / "cohort.parquet")
    frame, untimed = timed(cohort, read_parquet(folder / "open.parquet"), as_of)
    declared = list(dataset.config()["outcome_groups"])
    causes = declared + sorted(set(cohort["outcome_group"].dropna()) - set(declared))  # e.g. 'Unknown'
    areas = [a for a in dataset.config()["crime_areas"] if a in cohort.columns]
    curves, counts = competing_risks(frame, areas, causes, confidence)
    return {"curves": curves, "counts": counts, "untimed": untimed, "as_of": as_of}


def write(curves: pd.DataFrame, out: Path) -> Path:
    """cumulative_incidence.csv in `out`: area, outcome_group, day, cif, ci_low, ci_high (6 significant figures)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    target = out / "cumulative_incidence.csv"
    curves.astype({"day": int}).to_csv(target, index=False, float_format="%.6g", lineterminator="\n")
    return target


def incidence_at(curves: pd.DataFrame, days: list[int], column: str = "cif") -> pd.DataFrame:
    """One area's `column` read at given days (the last estimate at or before each; 0 before the
    first event): days x outcome groups."""
    wide = curves.pivot(index="day", columns="outcome_group", values=column)
    return wide.reindex(wide.index.union(days)).ffill().fillna(0.0).loc[days]


def final_incidence(curves: pd.DataFrame) -> pd.Series:
    """One area's cumulative incidence of each outcome group at its last event day; NaN where there are none."""
    wide = curves.pivot(index="day", columns="outcome_group", values="cif")
    return wide.iloc[-1] if len(wide) else pd.Series(np.nan, index=curves["outcome_group"].unique())


EFFECT_COLUMNS = [
    "bcu",
    "reports",
    "raw_rate",
    "effect",
    "se",
    "low",
    "high",
    "shrunk",
    "shrunk_low",
    "shrunk_high",
    "odds_ratio",
    "tau",
    "tau_low",
    "tau_high",
    "tau2_moments",
]


def bcu_effects(data: pd.DataFrame, model: dict, spec: dict, confidence: float) -> pd.DataFrame:
    """Each BCU's log-odds effect on withdrawal net of the model's predictors: stage one's
    estimate (deviation coding) with its interval, the hierarchical estimate with its interval
    (both at `confidence`), tau's posterior median and interval, the method-of-moments tau^2,
    the raw withdrawal rate and the reports (EFFECT_COLUMNS).

    Every BCU has a row; one with no reports, or all of them where fewer than two BCUs have
    reports or the fit breaks down, has NaN effects, and the hierarchical columns need three
    BCUs (with two, tau's posterior under a uniform prior is improper). Reports with no
    borough recorded belong to no BCU and are left out."""
    data = models.with_columns(data, spec)
    subset = models.select(data, model)
    subset = subset[subset["bcu"] != NOT_RECORDED]
    counts = subset["bcu"].value_counts()
    rows = pd.DataFrame({"bcu": [b for b in withdrawal.bcu_order(data["bcu"]) if b != NOT_RECORDED]})
    rows["reports"] = rows["bcu"].map(counts).fillna(0).astype(int)
    rows["raw_rate"] = rows["bcu"].map(subset.groupby("bcu")[model["outcome"]].mean() * 100)
    stage_one = _stage_one(subset, model, spec, sorted(counts.index))
    if stage_one is None:
        return rows.reindex(columns=EFFECT_COLUMNS)
    z = stats.norm.ppf(0.5 + confidence / 2)
    effect, se = stage_one["effect"].to_numpy(), stage_one["se"].to_numpy()
    stage_one = stage_one.assign(low=effect - z * se, high=effect + z * se, tau2_moments=moments_tau2(effect, se**2))
    if len(stage_one) >= 3:
        pooled = hierarchical(effect, se**2, confidence)
        stage_one = stage_one.assign(
            shrunk=pooled["mean"],
            shrunk_low=pooled["low"],
            shrunk_high=pooled["high"],
            odds_ratio=np.exp(pooled["mean"]),
            **pooled["tau"],
        )
    return rows.merge(stage_one, on="bcu", how="left").reindex(columns=EFFECT_COLUMNS)


def _stage_one(subset: pd.DataFrame, model: dict, spec: dict, bcus: list[str]) -> pd.DataFrame | None:
    """Each BCU's deviation-coded effect and standard error, or None where there is nothing to estimate."""
    if len(bcus) < 2:
        return None
    messages: list[str] = []
    x, terms, _ = models.design(subset, model, spec, messages)
    bcu = subset["bcu"].to_numpy()
    names = [f"bcu={b}" for b in bcus[:-1]]
    # Deviation coding: the last BCU is minus the sum of the others, so effects average zero.
    coded = np.column_stack([(bcu == b).astype(float) - (bcu == bcus[-1]) for b in bcus[:-1]])
    # Distinct rows of the design, weighted: the same fit, far faster. Patterns need 0/1
    # columns, so each -1/0/1 code is split into its size and its sign.
    p, k = x.shape[1], coded.shape[1]
    rows, successes, trials = logit.patterns(np.column_stack([x, coded != 0, coded < 0]), models.outcome(subset, model))
    x = np.column_stack([rows[:, :p], rows[:, p : p + k] - 2 * rows[:, p + k :]])
    x, kept_terms = models.drop_collinear(x, terms + [{"term": n} for n in names], messages, trials)
    position = {t["term"]: i for i, t in enumerate(kept_terms)}
    if any(n not in position for n in names):  # a BCU that is a combination of predictors has no effect of its own
        return None
    try:
        fit = logit.fit(x, successes, trials)
    except (ValueError, linalg.LinAlgError):
        return None
    contrast = np.zeros((len(bcus), x.shape[1]))
    for i, name in enumerate(names):
        contrast[i, position[name]] = 1
        contrast[-1, position[name]] = -1
    effect = contrast @ fit.b
    variance = np.einsum("ij,jk,ik->i", contrast, fit.cov, contrast)
    return pd.DataFrame({"bcu": bcus, "effect": effect, "se": np.sqrt(variance)})


def moments_tau2(effect: np.ndarray, variance: np.ndarray) -> float:
    """DerSimonian-Laird's method-of-moments tau^2 about the weighted mean (0 when Cochran's Q is
    below its degrees of freedom): DerSimonian & Laird 1986, Controlled Clinical Trials 7:177."""
    weights = 1 / variance
    mean = np.sum(weights * effect) / weights.sum()
    q = float(np.sum(weights * (effect - mean) ** 2))
    return max(0.0, (q - (len(effect) - 1)) / (weights.sum() - (weights**2).sum() / weights.sum()))


def hierarchical(effect: np.ndarray, variance: np.ndarray, confidence: float, points: int = 500) -> dict:
    """The hierarchical normal model of BDA3 section 5.4: effect_j ~ N(theta_j, variance_j),
    theta_j ~ N(mu, tau^2), flat prior on mu, uniform on tau; tau on a grid covering (0, inf).
    Returns each theta_j's posterior mean and equal-tailed interval at `confidence`, and tau's
    posterior median and interval (`tau`: tau, tau_low, tau_high)."""
    effect, variance = np.asarray(effect, dtype=float), np.asarray(variance, dtype=float)
    scale = np.std(effect) + np.sqrt(np.mean(variance))
    # tau = scale t / (1 - t): t in [0, 1) covers tau in [0, inf); the grid is even in t.
    t = (np.arange(points) + 0.5) / points
    tau = scale * t / (1 - t)
    total = variance[None, :] + tau[:, None] ** 2  # grid x BCUs
    v_mu = 1 / np.sum(1 / total, axis=1)
    mu = v_mu * np.sum(effect / total, axis=1)
    log_post = (
        0.5 * np.log(v_mu)
        - 0.5 * np.sum(np.log(total), axis=1)
        - 0.5 * np.sum((effect - mu[:, None]) ** 2 / total, axis=1)
        + np.log(scale / (1 - t) ** 2)
    )  # the grid's Jacobian dtau/dt: an even grid in t, uniform in tau
    weight = np.exp(log_post - special.logsumexp(log_post))
    shrink = variance[None, :] / total  # B_j: at tau = 0 every theta_j is mu, with mu's variance (no division by tau)
    mean = shrink * mu[:, None] + (1 - shrink) * effect
    spread = np.sqrt((1 - shrink) * variance + shrink**2 * v_mu[:, None])
    tail = (1 - confidence) / 2
    near = weight > 1e-12  # grid points that carry the posterior: the quantiles need no others
    low, high = (_mixture_quantile(weight[near], mean[near], spread[near], q) for q in (tail, 1 - tail))
    tau_cdf = np.cumsum(weight) - weight / 2  # each grid point holds the middle of its share
    tau_at = [float(np.interp(q, tau_cdf, tau)) for q in (0.5, tail, 1 - tail)]
    return {
        "mean": weight @ mean,
        "low": low,
        "high": high,
        "tau": dict(zip(["tau", "tau_low", "tau_high"], tau_at, strict=True)),
    }


def _mixture_quantile(weight: np.ndarray, mean: np.ndarray, spread: np.ndarray, q: float) -> np.ndarray:
    """The q-quantile of each column's mixture of normals (weights over the grid), by bisection."""
    low = (mean - 10 * spread).min(axis=0)
    high = (mean + 10 * spread).max(axis=0)
    for _ in range(50):
        middle = (low + high) / 2
        below = weight @ special.ndtr((middle - mean) / spread) < q
        low, high = np.where(below, middle, low), np.where(below, high, middle)
    return (low + high) / 2
