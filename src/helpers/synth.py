"""A synthetic crime-report extract, following the CRIS contract, at the pack's scale.

The generative model lives in config/synthetic.yml: volumes and mixes by crime type,
the reports the build must exclude (subsidiary offences, several victims or suspects,
victimless, out of scope, no-crime, admin, pending, outside the period), victims and
suspects, and withdrawal as a logistic model whose effects are the pack's published
odds ratios. Offsets on that model are calibrated by raking (on the logit scale) so
that the expected withdrawal rates by crime area, BCU and victim group, and by the groups
of the pack's breakdowns of crime areas (offence, crime group, hate crime strand: selected as
chapter 06 selects them, config/withdrawal.yml), match the pack's published tables
(data/published/withdrawal_by_*.csv, withdrawal_subgroups.csv) to their rounding; the offsets are
fitted once, on a reference sample of the model's own. Each report's withdrawal is then
drawn independently (Bernoulli), so an extract carries the sampling noise a real year
would, in its mix of reports and in its outcomes: two seeds differ as two samples do. An optional drift moves each
BCU's rate by a small real change (a monitoring run's "next year").

Deterministic: the same seed and period give the same bytes. Reports are drawn and written in
chunks, each from its own seed stream, so memory stays bounded at any scale.
Besides the five contract files the folder holds `extract.json` (the synthetic label
and how it was made) and `truth/cohort.parquet` (the generator's own record of the
reports in the combined analysis dataset, used to measure the calibration).
"""

import datetime as dt
import hashlib
import json
import os
import shutil
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from . import dataset, published
from .errors import InputError
from .geography import bcu_table, bcus
from .io import read_yaml
from .paths import CONFIG, PUBLISHED, ROOT

AREAS = ["da", "adult_sexual", "adult_rape", "csa", "stalking", "hate_crime", "syv", "violence_with_injury"]
VENUES = [
    "Public outdoor/open space",
    "Private residential",
    "Hotel/hostel",
    "Leisure/retail/transport",
    "Institution",
    "Other",
]
DELAYS = ["Same day", "1-7 days", "1 week - 1 year", "Over a year", "Unknown"]
ETHNIC_GROUP = {
    "IC1": "White",
    "IC2": "White",
    "IC3": "Black",
    "IC4": "Asian",
    "IC5": "Other",
    "IC6": "Other",
    "IC0": "Unknown",
    "": "Unknown",
}
JUDICIAL = ["1", "1A", "2", "3", "4", "6", "8"]
OTHER = ["5", "9", "10", "11", "12", "13", "17", "20", "21", "22"]
KINDS = [
    "cohort",
    "extra_offence",
    "extra_victim",
    "extra_suspect",
    "victimless",
    "out_of_scope",
    "no_crime",
    "admin",
    "pending",
    "reported_before",
    "reported_after",
]
BOROUGH_WEIGHTS = "borough_weights"
STALKING_TITLE = "Pursue course of conduct which amounts to stalking"
BREAKDOWNS = CONFIG / "withdrawal.yml"  # the pack's sub-breakdowns of crime areas, as chapter 06 selects them
DRIFT_STREAM = 2  # the drift's own seed stream, apart from the chunks'


def config() -> dict:
    return read_yaml(CONFIG / "synthetic.yml")


def model() -> dict:
    """The generative model: config/synthetic.yml with the borough weights."""
    return {**config(), BOROUGH_WEIGHTS: read_yaml(CONFIG / "synthetic_boroughs.yml")["boroughs"]}


def _pick(rng, n, options: dict | list, weights=None):
    """n draws from a mapping of value -> probability, or from a list with weights (equal if none)."""
    values = list(options)
    if isinstance(options, dict):
        weights = list(options.values())
    elif weights is None:
        weights = [1] * len(values)
    probs = np.array(weights, dtype=float)
    return np.array(values, dtype=object)[rng.choice(len(values), size=n, p=probs / probs.sum())]


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _logit(p):
    return np.log(p / (1 - p))


@dataclass
class Period:
    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def months(self) -> float:
        return self.days / 365.25 * 12


def draw_reports(rng: np.random.Generator, n: int, cfg: dict, period: Period) -> pd.DataFrame:
    """One row per report with everything the tables and the calibration need."""
    kinds = {k: v for k, v in cfg["excluded"].items()}
    kind = _pick(rng, n, {"cohort": 1 - sum(kinds.values()), **kinds})
    types = cfg["crime_types"]
    names = list(types)
    ctype = _pick(rng, n, {t: types[t]["share"] for t in names})
    defaults = {"victim_ethnicity_unknown": cfg["victim"]["ethnicity_unknown"]}
    spec = {
        key: np.array([types[t].get(key, defaults.get(key, 0.0)) for t in names], dtype=float)
        for key in (
            "victim_female",
            "victim_under_25",
            "under_18_share_of_under_25",
            "victim_ethnicity_unknown",
            "da",
            "hate",
            "knife",
            "suspect",
            "stalking",
        )
    }
    index = pd.Index(names).get_indexer(ctype)
    col = {key: values[index] for key, values in spec.items()}
    r = pd.DataFrame({"kind": kind, "crime_type": ctype})
    boroughs, weights = zip(*cfg[BOROUGH_WEIGHTS].items(), strict=True)
    r["borough"] = _pick(rng, n, list(boroughs), weights)
    r["bcu"] = r["borough"].map(bcu_table()[0])

    # victim
    under_25 = rng.random(n) < col["victim_under_25"]
    under_18 = under_25 & (rng.random(n) < col["under_18_share_of_under_25"])
    over_65 = ~under_25 & (rng.random(n) < cfg["victim"]["over_65"] / (1 - col["victim_under_25"]))
    bands = {"1-9": (1, 9), "10-12": (10, 12), "13-15": (13, 15), "16-17": (16, 17)}
    mixes = cfg["child_age_bands"]
    group = np.select(
        [np.isin(ctype, ["Rape", "Other sexual offences"]), np.isin(ctype, ["Violence with injury", "Robbery"])],
        ["sexual", "violence_with_injury_or_robbery"],
        "other",
    )
    age = np.full(n, "", dtype=object)
    for g, mix in mixes.items():
        mask = under_18 & (group == g)
        age[mask] = _pick(rng, mask.sum(), list(bands), mix)
    child_age = np.zeros(n, dtype=int)
    for band, (lo, hi) in bands.items():
        mask = age == band
        child_age[mask] = rng.integers(lo, hi + 1, mask.sum())
    r["victim_age"] = np.where(
        under_18,
        child_age,
        np.where(
            under_25, rng.integers(18, 25, n), np.where(over_65, rng.integers(65, 91, n), rng.integers(25, 65, n))
        ),
    ).astype(float)
    r.loc[rng.random(n) < cfg["victim"]["age_missing"], "victim_age"] = np.nan
    r["victim_sde"] = np.where(
        rng.random(n) < cfg["victim"]["self_defined_missing"],
        "",
        _pick(rng, n, ["W1", "W3", "B1", "B2", "A1", "A3", "M1", "O2", "NS"], [30, 8, 8, 7, 5, 5, 4, 5, 28]),
    )
    for field in ("nationality", "disability", "vulnerability"):
        r[f"victim_{field}"] = _pick(rng, n, cfg["victim"][field])
    r["repeat_victim"] = rng.random(n) < cfg["victim"]["repeat"]

    # offence features
    r["da"] = rng.random(n) < col["da"]
    r["hate_crime"] = rng.random(n) < col["hate"]
    r["stalking"] = rng.random(n) < col["stalking"]
    r["knife"] = rng.random(n) < col["knife"]
    r["hbv"] = r["da"] & (rng.random(n) < cfg["hbv_given_da"])
    _offence_titles(rng, r, cfg)
    _victim_sex_and_ethnicity(rng, r, cfg, col)
    r["venue"] = ""
    r["delay"] = ""
    for t in names:
        mask = ctype == t
        r.loc[mask, "venue"] = _pick(rng, mask.sum(), VENUES, types[t]["venue"])
        r.loc[mask, "delay"] = _pick(rng, mask.sum(), DELAYS, types[t]["delay"])
    r["how_notified"] = _pick(rng, n, cfg["how_notified"])

    # suspect
    suspect_p = np.where(r["da"], cfg["da_suspect"], np.where(under_18, cfg["child_victim_suspect"], col["suspect"]))
    r["suspect"] = rng.random(n) < suspect_p
    r["how_known"] = np.where(
        r["da"], _pick(rng, n, cfg["relationship"]["da"]), _pick(rng, n, cfg["relationship"]["other"])
    )
    ranges = {"under_18": (10, 18), "18_24": (18, 25), "25_64": (25, 65), "65_plus": (65, 90)}
    groups = cfg["suspect"]["age_groups"]
    unknown = set(groups) - set(ranges) - {"missing"}
    if unknown:
        raise InputError(
            f"{CONFIG / 'synthetic.yml'}: suspect age_groups: unknown group {sorted(map(str, unknown))[0]!r} "
            f'(use {", ".join(ranges)}, missing; quote keys such as "18_24")'
        )
    group = _pick(rng, n, groups)
    syv_eligible = np.isin(ctype, ["Violence with injury", "Robbery"]) & ~r["da"] & under_25
    young = np.array([cfg["syv_suspect_young"].get(t, 0.0) for t in names], dtype=float)[index]
    group = np.where(
        syv_eligible & (rng.random(n) < young),
        _pick(rng, n, ["under_18", "18_24"], [0.5, 0.5]),
        group,
    )
    s_age = np.full(n, np.nan)
    for g, (lo, hi) in ranges.items():
        mask = group == g
        s_age[mask] = rng.integers(lo, hi, mask.sum())
    r["suspect_age"] = s_age
    r["suspect_sex"] = _pick(rng, n, cfg["suspect"]["sex"])
    r["suspect_ethnic"] = np.where(
        rng.random(n) < cfg["suspect"]["ethnicity_missing"],
        "",
        _pick(rng, n, ["IC1", "IC2", "IC3", "IC4", "IC5", "IC6", "IC0"], [35, 6, 25, 15, 3, 6, 10]),
    )
    r["suspect_sde"] = np.where(
        rng.random(n) < cfg["suspect"]["self_defined_missing"],
        "",
        _pick(rng, n, ["W1", "B1", "B2", "A1", "M1", "NS"], [40, 15, 10, 10, 5, 20]),
    )
    r["pnc"] = _pick(rng, n, cfg["suspect"]["pnc"])
    default = [cfg["suspect"]["arrested_on_scene"], cfg["suspect"]["arrested_later"]]
    arrests = np.array([types[t].get("arrests", default) for t in names], dtype=float)[index]
    r["arrested_on_scene"] = r["suspect"] & (rng.random(n) < arrests[:, 0])
    r["arrested_later"] = r["suspect"] & ~r["arrested_on_scene"] & (rng.random(n) < arrests[:, 1])
    r["suspect_disability"] = rng.random(n) < cfg["suspect"]["disability"]

    # dates
    r["reported"] = rng.integers(0, period.days, n)
    r.loc[r["kind"] == "reported_before", "reported"] = -rng.integers(1, 90, (r["kind"] == "reported_before").sum())
    r.loc[r["kind"] == "reported_after", "reported"] = period.days + rng.integers(
        0, 90, (r["kind"] == "reported_after").sum()
    )
    delay_days = np.select(
        [r["delay"] == d for d in DELAYS[:4]],
        [0, rng.integers(1, 8, n), rng.integers(8, 366, n), rng.integers(366, 3650, n)],
        -1,
    )
    r["committed"] = np.where(delay_days >= 0, r["reported"] - delay_days, np.nan)
    return _derive(r)


def _offence_titles(rng: np.random.Generator, r: pd.DataFrame, cfg: dict) -> None:
    """Each report's offence title, major crime group and hate crime strand (flag), drawn before
    its outcome: the pack's breakdowns of crime areas by them differ, so withdrawal depends on them."""
    n, types = len(r), cfg["crime_types"]
    title = np.empty(n, dtype=object)
    for t, s in types.items():
        mask = (r["crime_type"] == t).to_numpy()
        title[mask] = _pick(rng, mask.sum(), s["offences"])
        for area, share in (("da", cfg["da_title_share"]), ("hate_crime", cfg["hate_title_share"])):
            titles = s.get(f"{area.split('_')[0]}_offences")
            if titles:
                chosen = mask & r[area].to_numpy() & (rng.random(n) < share)
                title[chosen] = _pick(rng, chosen.sum(), titles)
    stalking = (r["stalking"] & (r["crime_type"] == "Violence without injury")).to_numpy()
    r["offence"] = np.where(stalking, STALKING_TITLE, title)
    r["major"] = r["crime_type"].map({t: s["major"] for t, s in types.items()})
    hate = r["hate_crime"].to_numpy()
    strand = np.full(n, "", dtype=object)
    strand[hate] = _pick(rng, hate.sum(), cfg["hate_flags"])
    r["hate_flag"] = strand


def _victim_sex_and_ethnicity(rng: np.random.Generator, r: pd.DataFrame, cfg: dict, col: dict) -> None:
    """Victim sex and ethnic appearance: the crime type's shares, unless a crime area declares
    its own (area_victims; the first area listed that a report is in wins)."""
    n, victim = len(r), cfg["victim"]
    female = col["victim_female"].copy()
    unknown = col["victim_ethnicity_unknown"].copy()
    for area, shares in reversed(cfg["area_victims"].items()):
        rows = r[area].to_numpy(bool)
        female[rows] = shares.get("female", female[rows])
        unknown[rows] = shares.get("ethnicity_unknown", unknown[rows])
    sex = np.where(rng.random(n) < female, "Female", "Male")
    r["victim_sex"] = np.where(rng.random(n) < victim["sex_unknown"], "Unknown", sex)
    r["victim_gender"] = np.where(
        rng.random(n) < victim["transgender_or_non_binary"],
        _pick(rng, n, ["Transgender", "Non-binary"], [0.5, 0.5]),
        r["victim_sex"],
    )
    blank = rng.random(n) < victim["ethnicity_blank_share_of_unknown"]
    r["victim_ethnic"] = np.where(
        rng.random(n) < unknown, np.where(blank, "", "IC0"), _pick(rng, n, victim["ethnicity"])
    )


def _derive(r: pd.DataFrame) -> pd.DataFrame:
    """The crime areas and variables the pack derives, as the generator knows them."""
    age, s_age = r["victim_age"], r["suspect_age"].where(r["suspect"])
    sexual = r["crime_type"].isin(["Rape", "Other sexual offences"])
    child = age.between(1, 17)
    r["adult_sexual"] = sexual & ~child
    r["adult_rape"] = (r["crime_type"] == "Rape") & ~child
    r["csa"] = sexual & child
    r["syv"] = (
        r["crime_type"].isin(["Violence with injury", "Robbery"]) & ~r["da"] & age.between(1, 24) & s_age.between(1, 24)
    )
    r["violence_with_injury"] = r["crime_type"] == "Violence with injury"
    r["victim_sex_group"] = r["victim_sex"]
    r["victim_ethnic_group"] = r["victim_ethnic"].map(ETHNIC_GROUP)
    r["victim_age_group"] = pd.cut(age, [0, 17, 24, 64, 200], labels=["1-17", "18-24", "25-64", "65+"]).astype(str)
    r.loc[age.isna(), "victim_age_group"] = "Unknown"
    r["victim_age_detail"] = pd.cut(
        age, [0, 9, 12, 15, 17, 24, 64, 200], labels=["1-9", "10-12", "13-15", "16-17", "18-24", "25-64", "65+"]
    ).astype(str)
    known = r["suspect"] & ~r["how_known"].isin(["Stranger", ""])
    r["suspect_known"] = known
    r["partner"] = r["suspect"] & r["how_known"].isin(["Current partner", "Ex-partner"])
    r["suspect_under_18"] = r["suspect"] & (s_age < 18)
    r["victim_under_18"] = child
    return r


def driver_flags(r: pd.DataFrame) -> dict[str, pd.Series]:
    """The drivers of withdrawal the generator models, as 0/1 per report."""
    return {
        "rape": r["crime_type"] == "Rape",
        "current_or_ex_partner": r["partner"],
        "family_or_known": r["suspect_known"] & ~r["partner"],
        "suspect_under_18": r["suspect_under_18"],
        "arrested_on_scene": r["arrested_on_scene"],
        "arrested_later": r["arrested_later"],
        "reported_over_a_year_later": r["delay"] == "Over a year",
        "victim_under_18": r["victim_under_18"],
        "private_residential": r["venue"] == "Private residential",
        "hotel_hostel": r["venue"] == "Hotel/hostel",
        "third_party_authority": r["how_notified"] == "Third party authority",
        "repeat_victim": r["repeat_victim"],
        "no_suspect": ~r["suspect"],
    }


def design(r: pd.DataFrame, cfg: dict) -> np.ndarray:
    """Log-odds of withdrawal before calibration: crime type intercepts plus the pack's effects,
    the crime-area models' effects for reports in those areas."""
    w = cfg["withdrawal"]
    base = r["crime_type"].map({**w["intercepts"], "Rape": w["intercepts"]["Violence without injury"]})
    eta = base.to_numpy(float)
    for term, flag in driver_flags(r).items():
        log_or = np.full(len(r), np.log(w["odds_ratios"][term]))
        for area in reversed(w.get("term_precedence", {}).get(term, w["area_precedence"])):  # the first listed wins
            if term in w["area_odds_ratios"].get(area, {}):
                log_or[r[area].to_numpy(bool)] = np.log(w["area_odds_ratios"][area][term])
        eta += log_or * flag.to_numpy(float)
    return eta


# ---- calibration targets and raking -------------------------------------------------


def rounding(value: float) -> float:
    """Half the last published digit of a figure: 0.5 for 47, 0.005 for 4.97. The published
    figure stands for any value within this of it."""
    decimals = next(d for d in range(6) if round(value, d) == value)
    return 0.5 * 10.0**-decimals


@cache
def targets() -> list[tuple[str, str, object, float, float]]:
    """(area, dimension, category, rate, rounding) for each published withdrawal rate used in
    raking: the rows of `area` (or all) whose `dimension` equals `category` (or all of them);
    rate and its rounding as proportions."""
    out = []
    bcu = published.load("withdrawal_by_bcu").reset_index()
    slugs = dict(zip(bcu["crime_area"], bcu["key"].str.split("|").str[0], strict=True))
    for row in bcu.itertuples():
        area = slugs[row.crime_area]
        out.append(
            (area, "all" if row.bcu == "All BCUs" else "bcu", "" if row.bcu == "All BCUs" else row.bcu, row.value)
        )
    victim = published.load("withdrawal_by_victim").reset_index()
    dims = {
        "Sex": "victim_sex_group",
        "Ethnicity": "victim_ethnic_group",
        "Age": "victim_age_group",
        "Age detail": "victim_age_detail",
    }
    for row in victim[(victim["statistic"] == "rate") & victim["value"].notna()].itertuples():
        area, group, category = row.key.split("|")
        if group != "total":
            out.append((area, dims[group], category, row.value))
    headline = published.load("withdrawal_headlines")["value"]
    out += [
        ("all", "crime_type", "Robbery", headline["rate_robbery"]),
        ("all", "crime_type", "Arson and criminal damage", headline["rate_arson_criminal_damage"]),
        ("hbv", "all", "", headline["rate_hbv"]),
        ("all", "suspect", True, headline["rate_suspect_recorded"]),
        ("all", "suspect_known", True, headline["rate_suspect_known"]),
    ]
    rules = breakdown_rules()
    for key, row in published.load("withdrawal_subgroups").iterrows():
        if pd.notna(row["value"]) and key in rules:
            out.append((rules[key][0], "breakdown", key, row["value"]))
    return [(*key, value / 100, rounding(value) / 100) for *key, value in out]


@cache
def breakdown_rules() -> dict[str, tuple[str, dict]]:
    """'breakdown|group' -> (crime area, selection rule) for each group of the breakdowns that
    chapter 06 declares (config/withdrawal.yml): the pack's rates by them are targets."""
    return {
        f"{spec['id']}|{group}": (spec["area"], rule)
        for spec in read_yaml(BREAKDOWNS)["breakdowns"]
        for group, rule in spec["groups"].items()
    }


def _indicator(r: pd.DataFrame, name: str) -> np.ndarray:
    """A yes/no column of the analysis dataset, as the generator knows it."""
    flags = {dataset.flag_column(flag): flag for flag in config()["hate_flags"]}
    if name in flags:
        return (r["hate_flag"] == flags[name]).to_numpy()
    known = {
        "knife_crime_feature": "knife",
        "flag_domestic_incident": "da",
        "flag_hate_crime": "hate_crime",
        "flag_honour_based_violence": "hbv",
    }
    column = known.get(name, name)
    if column not in r.columns or r[column].dtype != bool:
        raise InputError(f"{BREAKDOWNS}: any_of names {name!r}, which the synthetic extract does not model")
    return r[column].to_numpy()


def rule_rows(r: pd.DataFrame, rule: dict) -> np.ndarray:
    """Reports of `r` matching a breakdown group's rule, selected as helpers.withdrawal.select does
    on the built dataset (any_of, crime_types, majors, offences)."""
    rows = np.ones(len(r), bool)
    for key, values in rule.items():
        if key == "any_of":
            rows &= np.any([_indicator(r, name) for name in values], axis=0)
        elif key == "offences":
            rows &= r["offence"].str.lower().isin([v.lower() for v in values]).to_numpy()
        elif key in ("crime_types", "majors"):
            rows &= r["crime_type" if key == "crime_types" else "major"].isin(values).to_numpy()
        else:
            raise InputError(f"{BREAKDOWNS}: the synthetic extract cannot select breakdown groups by {key!r}")
    return rows


def _masks(r: pd.DataFrame, target_list) -> list[np.ndarray]:
    masks = []
    rules = breakdown_rules()
    for area, dimension, category, *_ in target_list:
        rows = np.ones(len(r), bool) if area == "all" else r[area].to_numpy(bool)
        if dimension == "breakdown":
            rows = rows & rule_rows(r, rules[category][1])
        elif dimension != "all":
            rows = rows & (r[dimension].to_numpy() == category)
        masks.append(np.flatnonzero(rows))
    return masks


RAKE_WITHIN = 0.5  # rake into the middle half of a figure's rounding interval, leaving sampling the rest
CALIBRATION_PERIOD = Period(dt.date(2021, 4, 1), dt.date(2022, 3, 31))  # dates play no part in withdrawal
OFFSETS = ROOT / "data" / "extracts" / ".model"  # the model's fitted offsets, by model version (not committed)


def rake(eta: np.ndarray, masks: list[np.ndarray], iterations: int) -> np.ndarray:
    """Offsets, one per target, that bring the mean withdrawal probability of each target's
    rows (`masks` into the log-odds `eta`) within the middle of the published figure's
    rounding interval, by raking on the logit scale (iterative proportional fitting:
    Deming & Stephan 1940, Ann. Math. Stat. 11:427). A rate is fitted to an interval, not a
    point: the pack's rounded figures agree with each other only to their rounding."""
    target_list = targets()
    rate, half = (np.array([t[i] for t in target_list]) for i in (3, 4))
    low, high = _logit(rate - RAKE_WITHIN * half), _logit(rate + RAKE_WITHIN * half)
    eta = eta.copy()
    offsets = np.zeros(len(target_list))
    for _ in range(iterations):
        for m, rows in enumerate(masks):
            if len(rows):
                current = _logit(_sigmoid(eta[rows]).mean())
                delta = np.clip(current, low[m], high[m]) - current
                offsets[m] += delta
                eta[rows] += delta
    return offsets


def _fit_offsets(cfg: dict) -> np.ndarray:
    """Rake on `calibration_reports` reports drawn with `calibration_seed`, a chunk at a time."""
    rng = np.random.default_rng(cfg["calibration_seed"])
    etas, masks, start = [], [[] for _ in targets()], 0
    for size in _chunk_sizes(cfg["calibration_reports"], cfg["chunk_reports"]):
        reports = draw_reports(rng, size, cfg, CALIBRATION_PERIOD)
        reports = reports[reports["kind"] == "cohort"].reset_index(drop=True)
        etas.append(design(reports, cfg))
        for rows, found in zip(masks, _masks(reports, targets()), strict=True):
            rows.append(found + start)
        start += len(reports)
    return rake(np.concatenate(etas), [np.concatenate(rows) for rows in masks], cfg["calibration_iterations"])


@cache
def model_offsets() -> np.ndarray:
    """The model's calibrated offsets (rake), fitted on a reference sample of the model's own,
    whatever the extract's seed, period or scale: an extract's cell rates are then a sample's,
    varying with its mix of reports and its draws around the targets. Fitted once per model
    version and kept in data/extracts/.model/."""
    path = OFFSETS / f"offsets-{model_version()}.npy"
    if path.is_file():
        return np.load(path)
    offsets = _fit_offsets(model())
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.partial.npy")
    np.save(partial, offsets)
    partial.rename(path)
    return offsets


def _chunk_sizes(total: int, most: int) -> list[int]:
    """`total` split into as few near-equal chunks of at most `most` as will do."""
    return [len(part) for part in np.array_split(np.arange(total), -(-total // most))]


def withdrawal_logit(r: pd.DataFrame, cfg: dict, offsets: np.ndarray) -> np.ndarray:
    eta = design(r, cfg)
    for rows, offset in zip(_masks(r, targets()), offsets, strict=True):
        eta[rows] += offset
    return eta


# ---- outcomes, tables -----------------------------------------------------------------


def drift_shifts(seed: int, period: Period, sd_pp: float) -> dict[str, float]:
    """A real change of each BCU's withdrawal rate (percentage points, normal with sd `sd_pp`),
    the same in every chunk: what a real next year adds to sampling noise. None at sd 0."""
    if not sd_pp:
        return {}
    rng = np.random.default_rng([seed, period.start.toordinal(), period.end.toordinal(), DRIFT_STREAM])
    return dict(zip(bcus(), np.round(rng.normal(0, sd_pp, len(bcus())), 2).tolist(), strict=True))


def drifted(r: pd.DataFrame, p: np.ndarray, shifts: dict[str, float]) -> np.ndarray:
    """p moved so that each BCU's mean rate moves by its shift: on the logit scale, by the
    shift over the BCU's mean p(1 - p) (the slope of the rate in the logit)."""
    if not shifts:
        return p
    eta = _logit(p)
    bcu = r["bcu"].to_numpy()
    for name, shift in shifts.items():
        rows = bcu == name
        if rows.any():
            eta[rows] += shift / 100 / np.mean(p[rows] * (1 - p[rows]))
    return _sigmoid(eta)


def assign_outcomes(
    rng: np.random.Generator, r: pd.DataFrame, cfg: dict, offsets: np.ndarray, shifts: dict[str, float] | None = None
) -> None:
    """Outcomes of the reports `r`, in place. Withdrawal is drawn for each report independently
    (Bernoulli) on its calibrated probability, moved by any BCU drift: two seeds differ as
    two samples of the same world would."""
    n = len(r)
    w = cfg["withdrawal"]
    p = drifted(r, _sigmoid(withdrawal_logit(r, cfg, offsets)), shifts or {})
    r["withdrawn"] = rng.random(n) < p
    mix = np.array([cfg["crime_types"][t]["outcome_mix"] for t in r["crime_type"]])
    mix[r["syv"].to_numpy()] = cfg["syv_outcome_mix"]
    u = rng.random(n)
    group = np.where(u < mix[:, 0], "Judicial", np.where(u < mix[:, 0] + mix[:, 1], "Evidential difficulties", "Other"))
    group = np.where(~r["suspect"] & (group == "Judicial"), "Evidential difficulties", group)
    group = np.where(r["withdrawn"], "Victim withdrawal", group)
    known = r["suspect_known"].to_numpy()
    code = np.empty(n, dtype=object)
    p14 = np.where(known, w["code_14_if_suspect"]["known"], w["code_14_if_suspect"]["not_known"])
    p18 = np.where(known, w["code_18_if_suspect"]["known"], w["code_18_if_suspect"]["not_known"])
    named = rng.random(n) < w["named_outcome_without_suspect"]
    has = r["suspect"].to_numpy()
    code[:] = np.where(rng.random(n) < p14, "14", "16")
    code = np.where(~has, np.where(named, "16", "14"), code)
    evid = np.where(has, np.where(rng.random(n) < p18, "18", "15"), np.where(named, "15", "18"))
    code = np.where(group == "Evidential difficulties", evid, code)
    code = np.where(group == "Judicial", _pick(rng, n, JUDICIAL, [60, 3, 5, 15, 2, 5, 10]), code)
    code = np.where(group == "Other", _pick(rng, n, OTHER, [1, 5, 20, 3, 3, 3, 2, 10, 40, 13]), code)
    r["outcome_group"] = group
    r["outcome_code"] = code
    sexual = r["crime_type"].isin(["Rape", "Other sexual offences"])
    days = cfg["days_to_complete"]
    kind = np.where(r["csa"], "csa", np.where(sexual, "sexual", "other"))
    median = np.array([days[k][0] for k in kind], float)
    sigma = np.array([days[k][1] for k in kind], float)
    r["days_to_complete"] = np.floor(np.exp(np.log(median) + sigma * rng.standard_normal(n))).astype(int)
    lo, hi = cfg["days_complete_to_outcome"]
    r["days_to_outcome"] = r["days_to_complete"] + rng.integers(lo, hi + 1, n)


def _dates(start: dt.date, offsets) -> np.ndarray:
    base = np.datetime64(start, "D")
    values = pd.Series(offsets, dtype="float")
    out = (base + values.fillna(0).astype("int64").to_numpy().astype("timedelta64[D]")).astype(str).astype(object)
    out[values.isna().to_numpy()] = None
    return out


def tables(
    r: pd.DataFrame, cfg: dict, period: Period, first_ref: int, rng: np.random.Generator
) -> dict[str, pd.DataFrame]:
    """The five contract tables for a chunk of reports."""
    n = len(r)
    refs = np.array([f"CR{first_ref + i:09d}" for i in range(n)], dtype=object)
    types = cfg["crime_types"]
    kind = r["kind"].to_numpy()
    major = r["crime_type"].map({t: s["major"] for t, s in types.items()}).to_numpy(object)
    minor = np.where(
        r["stalking"] & (r["crime_type"] == "Violence without injury"),
        "Stalking and Harassment",
        r["crime_type"].map({t: s["minor"] for t, s in types.items()}).to_numpy(object),
    )
    description = r["offence"].to_numpy(object)
    scope = kind == "out_of_scope"
    out_major = _pick(rng, n, list(cfg["out_of_scope_majors"]))
    out_minor = np.array([cfg["out_of_scope_majors"][m][0] for m in out_major], dtype=object)
    major, minor, description = (
        np.where(scope, a, b) for a, b in ((out_major, major), (out_minor, minor), (out_minor, description))
    )
    outcome = r["outcome_code"].to_numpy(object).copy()
    outcome[kind == "no_crime"] = "NC"
    outcome[kind == "admin"] = "ADMIN"
    pending = kind == "pending"
    outcome[pending] = None
    complete = (r["reported"] + r["days_to_complete"]).where(~pending)
    offences = pd.DataFrame(
        {
            "crime_ref": refs,
            "offence_seq": "1",
            "offence_description": description,
            "major_crime": major,
            "minor_crime": minor,
            "borough": r["borough"].to_numpy(object),
            "committed_date": _dates(period.start, r["committed"]),
            "reported_date": _dates(period.start, r["reported"]),
            "investigation_complete_date": _dates(period.start, complete),
            "outcome_date": _dates(period.start, (r["reported"] + r["days_to_outcome"]).where(~pending)),
            "outcome_code": outcome,
            "how_notified": r["how_notified"].to_numpy(object),
            "venue_type": r["venue"].to_numpy(object),
        }
    )
    extra = kind == "extra_offence"
    subsidiary = offences[extra].assign(
        offence_seq="2",
        offence_description="Common assault",
        major_crime="Violence Against the Person",
        minor_crime="Violence without Injury",
    )
    offences = pd.concat([offences, subsidiary], ignore_index=True)

    def yn(values):
        return np.where(values, "Y", "N")

    age = r["victim_age"].map(lambda a: "" if np.isnan(a) else str(int(a)))
    victims = pd.DataFrame(
        {
            "crime_ref": refs,
            "victim_id": np.char.replace(refs.astype(str), "CR", "V").astype(object),
            "sex": r["victim_sex"],
            "gender": r["victim_gender"],
            "age": age,
            "ethnic_appearance": r["victim_ethnic"],
            "self_defined_ethnicity": r["victim_sde"],
            "nationality": r["victim_nationality"],
            "disability": r["victim_disability"],
            "vulnerability": r["victim_vulnerability"],
            "reported_cr_last_12m": yn(r["repeat_victim"] & (rng.random(n) < 0.6)),
            "cris_repeat_victim": yn(r["repeat_victim"] & (rng.random(n) < 0.5)),
            "repeat_victim": yn(r["repeat_victim"]),
            "injury_degree": np.where(
                r["crime_type"] == "Violence with injury",
                _pick(rng, n, ["Minor", "Moderate", "Serious"], [70, 22, 8]),
                "None",
            ),
        }
    )
    second = victims[kind == "extra_victim"].assign(victim_id=lambda v: v["victim_id"] + "B")
    victims = pd.concat([victims[kind != "victimless"], second], ignore_index=True)

    has = r["suspect"].to_numpy() | (kind == "extra_suspect")
    s_age = r["suspect_age"].map(lambda a: "" if np.isnan(a) else str(int(a)))
    suspects = pd.DataFrame(
        {
            "crime_ref": refs,
            "suspect_id": np.char.replace(refs.astype(str), "CR", "S").astype(object),
            "sex": r["suspect_sex"],
            "age": s_age,
            "ethnic_appearance": r["suspect_ethnic"],
            "self_defined_ethnicity": r["suspect_sde"],
            "nationality": _pick(rng, n, ["British", "", "Polish"], [60, 35, 5]),
            "pnc_status": r["pnc"],
            "how_known": r["how_known"],
            "arrested_on_scene": yn(r["arrested_on_scene"]),
            "arrested_or_interviewed": yn(r["arrested_on_scene"] | r["arrested_later"]),
            "disability": yn(r["suspect_disability"]),
        }
    )[has]
    second = suspects[kind[has] == "extra_suspect"].assign(suspect_id=lambda s: s["suspect_id"] + "B")
    suspects = pd.concat([suspects, second], ignore_index=True)

    flag_rows = [pd.DataFrame({"crime_ref": refs[r["da"].to_numpy()], "flag": "Domestic Incident"})]
    hate = r["hate_crime"].to_numpy()
    flag_rows.append(pd.DataFrame({"crime_ref": refs[hate], "flag": r["hate_flag"].to_numpy(object)[hate]}))
    flag_rows.append(pd.DataFrame({"crime_ref": refs[r["hbv"].to_numpy()], "flag": "Honour Based Violence"}))
    slavery = rng.random(n) < 0.001
    flag_rows.append(pd.DataFrame({"crime_ref": refs[slavery], "flag": "Modern Slavery"}))
    flags = pd.concat(flag_rows, ignore_index=True)
    knife = r["knife"].to_numpy()
    knives = pd.DataFrame(
        {
            "crime_ref": refs[knife],
            "feature": _pick(rng, knife.sum(), ["Knife used to injure", "Knife intimated"], [40, 60]),
        }
    )
    return {
        "offences": offences,
        "victims": victims,
        "suspects": suspects,
        "flags": flags,
        "knife_crime_features": knives,
    }


TRUTH_COLUMNS = [
    "crime_type",
    "bcu",
    *AREAS,
    "hbv",
    "victim_sex_group",
    "victim_ethnic_group",
    "victim_age_group",
    "victim_age_detail",
    "victim_ethnic",
    "victim_sde",
    "suspect",
    "suspect_known",
    "partner",
    "suspect_under_18",
    "arrested_on_scene",
    "arrested_later",
    "delay",
    "victim_under_18",
    "venue",
    "how_notified",
    "repeat_victim",
    "suspect_sex",
    "suspect_ethnic",
    "suspect_sde",
    "withdrawn",
    "outcome_group",
    "outcome_code",
    "days_to_complete",
    "knife",
    "offence",
    "major",
    "hate_flag",
]


class _Writer:
    """Appends chunks to the five files (and the truth file), all or nothing."""

    def __init__(self, folder: Path, fmt: str, metadata: dict):
        self.folder, self.fmt, self.metadata, self.writers = folder, fmt, metadata, {}

    def write(self, name: str, frame: pd.DataFrame, subfolder: str = "", fmt: str | None = None):
        fmt = fmt or self.fmt
        if subfolder:
            table = pa.Table.from_pandas(frame, preserve_index=False)
        else:  # contract files: every column text (same schema in every chunk), empty = null
            frame = frame.replace("", None)
            table = pa.Table.from_pandas(
                frame, preserve_index=False, schema=pa.schema([(c, pa.string()) for c in frame.columns])
            )
        if name not in self.writers:
            path = self.folder / subfolder / f"{name}.{fmt}"
            path.parent.mkdir(parents=True, exist_ok=True)
            if fmt == "parquet":
                schema = table.schema.with_metadata({b"vw.synthetic": json.dumps(self.metadata).encode()})
                self.writers[name] = pq.ParquetWriter(path, schema)
            else:
                self.writers[name] = pacsv.CSVWriter(
                    path, table.schema, write_options=pacsv.WriteOptions(quoting_style="needed")
                )
        self.writers[name].write_table(
            table.replace_schema_metadata(self.writers[name].schema.metadata) if fmt == "parquet" else table
        )

    def close(self):
        for writer in self.writers.values():
            writer.close()


MODEL_FILES = [
    CONFIG / "synthetic.yml",
    CONFIG / "synthetic_boroughs.yml",
    PUBLISHED / "withdrawal_by_bcu.csv",
    PUBLISHED / "withdrawal_by_victim.csv",
    PUBLISHED / "withdrawal_headlines.csv",
    PUBLISHED / "withdrawal_subgroups.csv",
    BREAKDOWNS,
    Path(__file__),
]


def model_version() -> str:
    """A digest of everything that shapes the extract: a cached extract is reused only if it matches."""
    digest = hashlib.sha256()
    for path in MODEL_FILES:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def load_changes(path: Path | None) -> list[dict]:
    """Changes to plant in an extract (for the monitoring chapter), checked; none without a file.

    Each change picks rows of one table (`where`: column -> allowed values; `bcu` picks by
    the borough's BCU), takes `share` of them at random and `set`s a column, either to a
    value or through a mapping of old to new values."""
    if not path:
        return []
    changes = read_yaml(path).get("changes") or []
    for number, change in enumerate(changes, start=1):
        missing = [k for k in ("description", "table", "where", "share", "set") if k not in change]
        if missing:
            raise InputError(f"{path}: change {number}: '{missing[0]}' is missing")
        if not 0 < float(change["share"]) <= 1:
            raise InputError(f"{path}: change {number}: share must be in (0, 1], got {change['share']!r}")
    return changes


def plant(frames: dict[str, pd.DataFrame], changes: list[dict], rng: np.random.Generator) -> None:
    """Apply planted changes to one chunk's tables, in place."""
    borough_to_bcu = bcu_table()[0]
    for change in changes:
        frame = frames[change["table"]]
        mask = np.ones(len(frame), dtype=bool)
        for column, allowed in change["where"].items():
            allowed = allowed if isinstance(allowed, list) else [allowed]
            values = frame["borough"].map(borough_to_bcu) if column == "bcu" else frame[column]
            mask &= (values.isin(allowed) | (values.isna() & ("" in allowed))).to_numpy()
        chosen = mask & (rng.random(len(frame)) < float(change["share"]))
        for column, value in change["set"].items():
            if isinstance(value, dict):
                frame.loc[chosen, column] = frame.loc[chosen, column].map(lambda v, mapping=value: mapping.get(v, v))
            else:
                frame.loc[chosen, column] = value


def ensure(
    out: Path,
    start: dt.date,
    end: dt.date,
    scale: float,
    seed: int,
    fmt: str = "parquet",
    changes: Path | None = None,
    drift: float = 0.0,
) -> dict:
    """The extract in `out`, generated unless one made the same way is already there."""
    manifest_path = out / "extract.json"
    wanted = {
        "seed": seed,
        "scale": scale,
        "format": fmt,
        "period_start": start.isoformat(),
        "period_end": end.isoformat(),
        "model_version": model_version(),
        "changes": _changes_digest(changes),
        "drift_sd_pp": drift,
    }
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        if all(manifest.get(k) == v for k, v in wanted.items()):
            return manifest
    print(f"Generating the synthetic extract in {out}", file=sys.stderr, flush=True)
    return generate(out, start, end, scale, seed, fmt, changes=changes, drift=drift)


def _changes_digest(path: Path | None) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16] if path else ""


def generate(
    out: Path,
    start: dt.date,
    end: dt.date,
    scale: float = 1.0,
    seed: int = 1,
    fmt: str = "parquet",
    progress=sys.stderr,
    changes: Path | None = None,
    drift: float = 0.0,
) -> dict:
    """Write a synthetic extract for reports recorded from `start` to `end` into `out`; `drift`
    (percentage points) is the sd of a real change of each BCU's withdrawal rate (drift_shifts)."""
    if fmt not in ("csv", "parquet"):
        raise InputError(f"format must be csv or parquet, got {fmt!r}")
    if scale <= 0 or end < start:
        raise InputError("scale must be positive and the period must end after it starts")
    if drift < 0:
        raise InputError(f"drift must be zero or positive (percentage points), got {drift!r}")
    cfg = model()
    period = Period(start, end)
    cohort_share = 1 - sum(cfg["excluded"].values())
    volume = cfg["cohort_reports"] * period.months / 12
    total = int(round(volume * scale / cohort_share))
    # The period is part of the seed: another year's extract is another draw, not this one re-dated.
    sizes = _chunk_sizes(total, cfg["chunk_reports"])
    seeds = np.random.SeedSequence([seed, start.toordinal(), end.toordinal()]).spawn(len(sizes))
    planted = load_changes(changes)
    shifts = drift_shifts(seed, period, drift)
    offsets = model_offsets()
    metadata = {
        "synthetic": True,
        "generator": "helpers.synth",
        "seed": seed,
        "scale": scale,
        "format": fmt,
        "period_start": start.isoformat(),
        "period_end": end.isoformat(),
        "contract_version": 1,
        "model_version": model_version(),
        "changes": _changes_digest(changes),
        "planted_changes": [c["description"] for c in planted],
        "drift_sd_pp": drift,
        "drift_pp": shifts,
    }
    partial = out.with_name(f".{out.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    writer = _Writer(partial, fmt, metadata)
    counts = dict.fromkeys(["offences", "victims", "suspects", "flags", "knife_crime_features"], 0)
    done = 0
    for chunk_seed, n in zip(seeds, sizes, strict=True):
        rng = np.random.default_rng(chunk_seed)
        reports = draw_reports(rng, n, cfg, period)
        assign_outcomes(rng, reports, cfg, offsets, shifts)
        frames = tables(reports, cfg, period, done + 1, rng)
        plant(frames, planted, rng)
        for name, frame in frames.items():
            writer.write(name, frame)
            counts[name] += len(frame)
        truth = reports.loc[reports["kind"] == "cohort", TRUTH_COLUMNS]
        writer.write("cohort", truth, subfolder="truth", fmt="parquet")
        done += n
        print(f"  synthetic extract: {done:,} of {total:,} reports", file=progress, flush=True)
    writer.close()
    manifest = {
        **metadata,
        "reports": total,
        "rows": counts,
        "note": "SYNTHETIC DATA generated by this project; not police records.",
    }
    (partial / "extract.json").write_text(json.dumps(manifest, indent=2) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    partial.rename(out)
    return manifest
