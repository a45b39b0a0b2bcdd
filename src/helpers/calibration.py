"""How closely a synthetic extract reproduces the pack's published figures.

Each published target is set beside the value measured on the generated extract by
the project's own dataset build (helpers.dataset), exactly as a real extract would be
measured. Tolerances:
- rates: the 99% sampling interval of a rate on the cell's number of reports (exact
  binomial quantiles), around the published figure give or take its rounding (a published
  47% stands for 46.5-47.5%). The generator draws each report independently, so a target
  is missed by chance about once in a hundred, or less; cells of fewer than 100 reports
  are not assessed;
- odds ratios: within 20%, or the target inside the fitted 99% confidence interval (the
  model's sampling interval);
- volumes: within 5% of the published volume scaled to the extract's size;
- "at most" targets: the measured value does not exceed the target.
Targets the generator is not built to meet are declared in config/synthetic.yml
(`not_calibrated`, each with its reason): their rows are shown but not assessed.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from . import published
from .synth import AREAS, config, rounding

COVERAGE = 0.99
MIN_CELL = 100
LATE_DAYS = 84  # 12 weeks
VOLUME_TOLERANCE = 0.05
OR_TOLERANCE = 0.20
AREA_LABEL = {
    "all": "All crime",
    "da": "DA",
    "adult_sexual": "Adult sexual offences",
    "adult_rape": "Adult rape",
    "csa": "CSA",
    "stalking": "Stalking",
    "hate_crime": "Hate crime",
    "syv": "SYV",
    "violence_with_injury": "Violence with injury",
}
DIMENSION = {
    "Sex": "victim_sex",
    "Ethnicity": "victim_ethnicity",
    "Age": "victim_age_group",
    "Age detail": "victim_age_detail",
}
# The all-crime model used to measure the odds ratios: the generator's drivers plus crime type.
MODEL_TERMS = [
    "rape",
    "current_or_ex_partner",
    "family_or_known",
    "suspect_under_18",
    "arrested_on_scene",
    "arrested_later",
    "reported_over_a_year_later",
    "victim_under_18",
    "private_residential",
    "hotel_hostel",
    "third_party_authority",
    "repeat_victim",
    "violence_with_injury",
    "other_sexual",
    "arson_criminal_damage",
    "robbery",
    "public_order",
    "domestic_incident",
]


def sampling_interval(target_pct: float, n, rounding_pct: float) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest count of events among `n` reports inside the 99% sampling interval
    of a true rate anywhere within `rounding_pct` of `target_pct`: exact binomial quantiles,
    so a cell falls outside with probability at most 1%."""
    tail = (1 - COVERAGE) / 2
    low_p, high_p = (np.clip((target_pct + sign * rounding_pct) / 100, 0, 1) for sign in (-1, 1))
    return stats.binom.ppf(tail, n, low_p), stats.binom.ppf(1 - tail, n, high_p)


def chance_misses(targets: int) -> int:
    """The most rate targets one extract misses by chance, 99 times in 100, if each misses with
    probability 1% (the tolerance's): the binomial's 99th percentile."""
    return int(stats.binom.ppf(COVERAGE, targets, 1 - COVERAGE))


def rate_row(group, key, measure, target_pct, values: pd.Series) -> dict:
    n, events = int(values.size), int(values.sum())
    measured = 100 * events / n if n else np.nan
    low, high = sampling_interval(target_pct, n, rounding(target_pct))
    assessed = n >= MIN_CELL
    with np.errstate(invalid="ignore", divide="ignore"):
        low_pct, high_pct = float(100 * low / n), float(100 * high / n)
    return {
        "group": group,
        "key": key,
        "measure": measure,
        "published": target_pct,
        "measured": measured,
        "n": n,
        "low": low_pct,
        "high": high_pct,
        "tolerance": max(target_pct - low_pct, high_pct - target_pct) if n else np.nan,
        "assessed": assessed,
        "within": bool(low <= events <= high) if assessed else None,
    }


def rates_by_area(cohort: pd.DataFrame) -> list[dict]:
    rows = []
    bcu = published.load("withdrawal_by_bcu").reset_index()
    for r in bcu.itertuples():
        area = r.key.split("|")[0]
        cell = cohort if area == "all" else cohort[cohort[area]]
        if r.bcu != "All BCUs":
            cell = cell[cell["bcu"] == r.bcu]
        rows.append(
            rate_row(
                "Withdrawal by BCU and crime area",
                r.key,
                f"{AREA_LABEL[area]}, {r.bcu}",
                r.value,
                cell["victim_withdrawal"],
            )
        )
    victim = published.load("withdrawal_by_victim").reset_index()
    for r in victim[(victim["statistic"] == "rate") & victim["value"].notna()].itertuples():
        area, dim, category = r.key.split("|")
        if dim == "total":
            continue
        cell = cohort if area == "all" else cohort[cohort[area]]
        cell = cell[cell[DIMENSION[dim]] == category]
        rows.append(
            rate_row(
                "Withdrawal by victim characteristics",
                r.key,
                f"{AREA_LABEL[area]}, victim {dim.lower()} {category}",
                r.value,
                cell["victim_withdrawal"],
            )
        )
    return rows


def subgroup_rows(cohort: pd.DataFrame) -> list[dict]:
    """The pack's breakdowns of crime areas (by offence, crime group, hate strand), selected as
    chapter 06 selects them (helpers.withdrawal, config/withdrawal.yml)."""
    from . import withdrawal  # imported here: helpers.withdrawal imports this module

    specs = {spec["id"]: spec for spec in withdrawal.config()["breakdowns"]}
    rows = []
    for key, target in published.load("withdrawal_subgroups").iterrows():
        spec = specs.get(target["breakdown"])
        if spec is None or target["group"] not in spec["groups"] or pd.isna(target["value"]):
            continue
        frame = withdrawal.in_area(cohort, spec["area"])
        chosen = withdrawal.select(frame, spec["groups"][target["group"]], f"breakdown {spec['id']}")
        rows.append(
            rate_row(
                "Withdrawal by crime-area breakdown",
                key,
                target["measure"],
                target["value"],
                frame.loc[chosen, "victim_withdrawal"],
            )
        )
    return rows


def not_calibrated() -> pd.DataFrame:
    """What the synthetic extract is not calibrated to, and why (config/synthetic.yml)."""
    entries = config().get("not_calibrated") or []
    return pd.DataFrame(
        [{"target": e["target"], "keys": list(e.get("keys") or []), "reason": e["reason"]} for e in entries],
        columns=["target", "keys", "reason"],
    )


def mark_not_calibrated(table: pd.DataFrame, declared: pd.DataFrame) -> pd.DataFrame:
    """Rows of published figures `declared` not calibrated: shown, not assessed, with the reason."""
    table = table.assign(note=table.get("note", np.nan)).astype({"note": object, "within": object})
    reasons = {key: e.reason for e in declared.itertuples() for key in e.keys}
    chosen = table["key"].isin(list(reasons))
    table.loc[chosen, ["assessed", "within"]] = [False, None]
    table.loc[chosen, "note"] = [f"not calibrated: {reasons[k]}" for k in table.loc[chosen, "key"]]
    return table


def headline_rows(cohort: pd.DataFrame) -> list[dict]:
    """Headline rates, outcome mix, time to withdrawal and data problems."""
    targets = published.load("withdrawal_headlines")
    recorded = cohort["suspect_recorded"]
    suspect = cohort[recorded]
    withdrawn = cohort[cohort["victim_withdrawal"]]
    timed = withdrawn[withdrawn["days_to_complete"].notna()]  # no completion date: no time, not early
    late = timed["days_to_complete"] > LATE_DAYS
    named = ~recorded & cohort["outcome_code"].isin(["15", "16", "1", "1A"])
    known_in = {code: suspect[suspect["outcome_code"] == code]["suspect_known"] for code in ("14", "18")}
    crime = cohort["crime_type"]
    measures = {
        "rate_suspect_recorded": suspect["victim_withdrawal"],
        "rate_suspect_known": cohort[cohort["suspect_known"]]["victim_withdrawal"],
        "rate_robbery": cohort[crime == "Robbery"]["victim_withdrawal"],
        "rate_arson_criminal_damage": cohort[crime == "Arson and criminal damage"]["victim_withdrawal"],
        "rate_hbv": cohort[cohort["hbv"]]["victim_withdrawal"],
        "judicial_syv": cohort[cohort["syv"]]["outcome_group"] == "Judicial",
        "evidential_robbery": cohort[crime == "Robbery"]["outcome_group"] == "Evidential difficulties",
        "evidential_arson_criminal_damage": cohort[crime == "Arson and criminal damage"]["outcome_group"]
        == "Evidential difficulties",
        "evidential_hate_crime": cohort[cohort["hate_crime"]]["outcome_group"] == "Evidential difficulties",
        "dq_victim_ethnicity_unknown": cohort["victim_ethnic_appearance"].isna()
        | (cohort["victim_ethnic_appearance"] == "IC0"),
        "dq_victim_self_defined_missing": cohort["victim_self_defined_ethnicity"].isna(),
        "dq_suspect_ethnicity_missing": suspect["suspect_ethnic_appearance"].isna(),
        "dq_suspect_self_defined_missing": suspect["suspect_self_defined_ethnicity"].isna(),
        "dq_suspect_sex_missing": suspect["suspect_sex_recorded"].isna()
        | (suspect["suspect_sex_recorded"] == "Unknown"),
        "dq_no_suspect_named_outcome": named[~recorded],
        "dq_known_in_outcome_14": known_in["14"],
        "dq_known_in_outcome_18": known_in["18"],
    }
    for key in [k for k in targets.index if k.startswith("late_")]:
        measures[key] = late[timed[key[len("late_") :]]]
    rows = []
    for key, values in measures.items():
        target = targets.loc[key]
        row = rate_row("Headline figures", key, target["measure"], target["value"], values)
        row["comparison"] = target["comparison"]
        if target["comparison"] == "at_most":
            row.update(
                low=np.nan,
                high=target["value"],
                tolerance=0.0,
                within=bool(row["measured"] <= target["value"]) if row["assessed"] else None,
            )
        rows.append(row)
    return rows


def volume_rows(cohort: pd.DataFrame, scale_factor: float) -> list[dict]:
    """Report volumes against the published ones scaled to the extract's size and period."""
    targets = published.load("withdrawal_headlines")
    recorded = cohort["suspect_recorded"]
    volumes = {
        "cohort_reports": len(cohort),
        "suspect_reports": int(recorded.sum()),
        "no_suspect_reports": int((~recorded).sum()),
    }
    area_totals = published.load("withdrawal_by_victim")
    for area in AREAS:
        volumes[f"{area}|total|n"] = int(cohort[area].sum())
    rows = []
    for key, measured in volumes.items():
        source = targets if key in targets.index else area_totals
        target = source.loc[key, "value"] * scale_factor
        rows.append(
            {
                "group": "Volumes",
                "key": key,
                "measure": source.loc[key, "measure"],
                "published": target,
                "measured": measured,
                "n": measured,
                "tolerance": VOLUME_TOLERANCE * target,
                "assessed": True,
                "within": bool(abs(measured - target) <= VOLUME_TOLERANCE * target),
            }
        )
    return rows


def model_frame(cohort: pd.DataFrame) -> pd.DataFrame:
    """0/1 design of the generator's drivers plus crime type, for reports with a suspect recorded.
    (The project's driver models replace this with the pack's full models.)"""
    s = cohort[cohort["suspect_recorded"]]
    ct = s["crime_type"]
    partner = s["relationship"] == "Current/ex-partner"
    x = pd.DataFrame(
        {
            "rape": ct == "Rape",
            "current_or_ex_partner": partner,
            "family_or_known": s["suspect_known"] & ~partner,
            "suspect_under_18": s["suspect_age_group"] == "1-17",
            "arrested_on_scene": s["arrested_on_scene"],
            "arrested_later": s["arrested_later"],
            "reported_over_a_year_later": s["delay"] == "Over a year",
            "victim_under_18": s["victim_age_group"] == "1-17",
            "private_residential": s["venue"] == "Private residential",
            "hotel_hostel": s["venue"] == "Hotel/hostel",
            "third_party_authority": s["how_reported"] == "Third party authority",
            "repeat_victim": s["repeat_victim"],
            "violence_with_injury": ct == "Violence with injury",
            "other_sexual": ct == "Other sexual offences",
            "arson_criminal_damage": ct == "Arson and criminal damage",
            "robbery": ct == "Robbery",
            "public_order": ct == "Public order offences",
            "domestic_incident": s["flag_domestic_incident"],
        }
    ).astype(float)
    return x.assign(withdrawn=s["victim_withdrawal"].astype(float))


TYPE_TERMS = ["rape", "violence_with_injury", "other_sexual", "arson_criminal_damage", "robbery", "public_order"]


def _terms(frame: pd.DataFrame, area: str | None) -> list[str]:
    """The model's terms for an area, with the pack's reference categories: drop what does not
    vary; where violence without injury (the usual reference) is absent, the most common crime
    type is the reference (other sexual offences for sexual areas, violence with injury for SYV);
    for domestic abuse the current or ex-partner is the reference (the pack's model 4)."""
    terms = [t for t in MODEL_TERMS if frame[t].nunique() > 1]
    present = [t for t in TYPE_TERMS if t in terms]
    if present and frame[present].sum(axis=1).eq(1).all():
        terms.remove(max(present, key=lambda t: frame[t].sum()))
    if area == "da" and "current_or_ex_partner" in terms:
        terms.remove("current_or_ex_partner")
    return terms


def _or_rows(frame: pd.DataFrame, area: str | None, targets: pd.DataFrame, group: str) -> list[dict]:
    terms = _terms(frame, area)
    fit = sm.Logit(frame["withdrawn"], sm.add_constant(frame[terms])).fit(disp=0, maxiter=100)
    ci = fit.conf_int(alpha=1 - COVERAGE)
    rows = []
    for key, target in targets.iterrows():
        term = key.split("|")[-1].removeprefix("or_")
        published = target["value"]
        if term not in fit.params:
            rows.append(
                {
                    "group": group,
                    "key": key,
                    "measure": target["measure"],
                    "published": published,
                    "measured": np.nan,
                    "n": int(fit.nobs),
                    "assessed": False,
                    "within": None,
                    "tolerance": np.nan,
                    "note": "not estimable: no reports with this driver",
                }
            )
            continue
        measured = float(np.exp(fit.params[term]))
        low, high = float(np.exp(ci.loc[term, 0])), float(np.exp(ci.loc[term, 1]))
        within = abs(measured / published - 1) <= OR_TOLERANCE or low <= published <= high
        rows.append(
            {
                "group": group,
                "key": key,
                "measure": target["measure"],
                "published": published,
                "measured": measured,
                "n": int(fit.nobs),
                "assessed": True,
                "within": bool(within),
                "tolerance": max(
                    OR_TOLERANCE * published, max(published - low, high - published) if low <= published <= high else 0
                ),
                "ci_low": low,
                "ci_high": high,
            }
        )
    return rows


def odds_ratio_rows(cohort: pd.DataFrame) -> list[dict]:
    """The all-crime model's drivers and each crime-area model's, fitted beside the published ones."""
    frame = model_frame(cohort)
    headlines = published.load("withdrawal_headlines")
    rows = _or_rows(
        frame, None, headlines[headlines.index.str.startswith("or_")], "Driver odds ratios (all-crime model)"
    )
    by_area = published.load("driver_odds_ratios_by_area")
    suspect = cohort[cohort["suspect_recorded"]]
    for area, targets in by_area.groupby("crime_area", sort=False):
        rows += _or_rows(frame[suspect[area].to_numpy()], area, targets, "Driver odds ratios (crime-area models)")
    return rows


def calibration_table(extract: Path, cohort: pd.DataFrame) -> pd.DataFrame:
    """Every target, measured on the built `cohort` of `extract`, with its tolerance and whether it is met."""
    manifest = json.loads((Path(extract) / "extract.json").read_text())
    months = (pd.Timestamp(manifest["period_end"]) - pd.Timestamp(manifest["period_start"])).days + 1
    scale_factor = manifest["scale"] * months / 365.25
    table = pd.DataFrame(
        rates_by_area(cohort)
        + subgroup_rows(cohort)
        + headline_rows(cohort)
        + volume_rows(cohort, scale_factor)
        + odds_ratio_rows(cohort)
    )
    table["difference"] = table["measured"] - table["published"]
    table["comparison"] = table["comparison"].fillna("equal")
    table = mark_not_calibrated(table, not_calibrated())
    table["within"] = table["within"].astype("boolean")  # NA where a cell is too small to assess
    return table
