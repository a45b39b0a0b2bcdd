"""Chapter 07's reading of the fitted driver models (helpers.models): the models table
beside the pack's, the pack's published odds ratios beside the fitted ones, and each
crime area's key findings written from the fitted terms.

A term describing fewer than `threshold` reports is never shown (the suppression rule);
a finding is a term significant at 95%, as in the pack.

A driver is specific to a crime area when its effect there differs from its effect in the
all-crime model (model 3), by a test of the difference, not by one being significant and
the other not (Gelman & Stern 2006, Am. Stat. 60:328). The area's reports are among model
3's, so the all-crime coefficient pools the area's with the rest's, and the difference of
the two has variance se_area^2 - se_all^2 (Hausman 1978, Econometrica 46:1251): the Wald
test of the area x driver interaction in a pooled model. Only terms that mean the same in
both models are compared (same name and reference category). The tests of every area
model are one family, controlled by the Benjamini-Hochberg procedure (Benjamini &
Hochberg 1995, J. R. Stat. Soc. B 57:289; statsmodels `multipletests`).
"""

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from . import published
from .calibration import OR_TOLERANCE
from .models import load_spec, predictors

SPECIFIC_FDR = 0.05  # the pack's 95%, as a false discovery rate across every driver compared


def coefficients(terms: pd.DataFrame, model_id: str) -> pd.DataFrame:
    """A model's single-coefficient rows (no constant, no joint Wald rows), by term."""
    rows = terms[(terms["model_id"] == model_id) & (terms["df"] == 1) & (terms["term"] != "Constant")]
    return rows.set_index("term")


def models_table(fits: pd.DataFrame) -> pd.DataFrame:
    """The pack's "Regression models" table: this run's sample, R-square and % correct beside the pack's."""
    pack = published.load("regression_models").reset_index()
    pack = pack.pivot(index="model_id", columns="statistic", values="value")
    table = fits[
        [
            "model_id",
            "description",
            "status",
            "n",
            "r2_nagelkerke",
            "pct_correct_0",
            "pct_correct_1",
            "pct_correct",
            "auc",
        ]
    ].copy()
    table["r2_nagelkerke"] = 100 * table["r2_nagelkerke"]
    for statistic in ("n", "r2_nagelkerke", "pct_correct"):
        table[f"pack_{statistic}"] = table["model_id"].map(pack[statistic])
    return table


def pack_odds_ratios(terms: pd.DataFrame, spec: dict | None = None) -> pd.DataFrame:
    """Every odds ratio the pack publishes for a driver these models estimate, beside the fitted one:
    the all-crime model's headline drivers and the crime-area models' key findings."""
    spec = spec or load_spec()
    drivers = spec["pack_drivers"]
    model_of = {m["area"]: str(m["id"]) for m in spec["models"] if m.get("area")}
    headlines = published.load("withdrawal_headlines")
    wanted = [
        ("all", key.removeprefix("or_"), row["measure"], row["value"])
        for key, row in headlines.iterrows()
        if key.startswith("or_")
    ]
    by_area = published.load("driver_odds_ratios_by_area")
    wanted += [(row["crime_area"], row["term"], row["measure"], row["value"]) for _, row in by_area.iterrows()]
    rows = []
    for area, driver, measure, target in wanted:
        model_id = model_of.get(area)
        fitted = coefficients(terms, model_id) if model_id else pd.DataFrame()
        term = drivers.get(driver)
        row = {
            "area": area,
            "model_id": model_id,
            "driver": driver,
            "term": term,
            "measure": measure,
            "published": target,
            "odds_ratio": np.nan,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "n": np.nan,
            "p": np.nan,
            "within": pd.NA,
        }
        if term in fitted.index:
            hit = fitted.loc[term]
            row.update(
                odds_ratio=hit["odds_ratio"],
                ci_low=hit["ci_low"],
                ci_high=hit["ci_high"],
                n=hit["n"],
                p=hit["p"],
                within=bool(abs(hit["odds_ratio"] / target - 1) <= OR_TOLERANCE),
            )
        rows.append(row)
    table = pd.DataFrame(rows)
    table["within"] = table["within"].astype("boolean")
    return table


def findings(terms: pd.DataFrame, model_id: str, threshold: int, top: int = 3) -> dict:
    """The key findings of one model: its `top` strongest significant drivers each way."""
    rows = coefficients(terms, model_id)
    rows = rows[rows["significant"] & (rows["n"] >= threshold)]
    more = rows[rows["direction"] == "more"].sort_values("times", ascending=False).head(top)
    less = rows[rows["direction"] == "less"].sort_values("times", ascending=False).head(top)
    return {"more": more, "less": less}


def wald_difference(b_area, se_area, b_all, se_all) -> tuple[np.ndarray, np.ndarray]:
    """z and two-sided p of the difference between an area model's coefficient and the
    all-crime model's, the area's reports being among the all-crime model's: variance
    se_area^2 - se_all^2 (Hausman 1978); NaN where that is not positive."""
    b_area, se_area, b_all, se_all = (np.asarray(v, dtype=float) for v in (b_area, se_area, b_all, se_all))
    variance = se_area**2 - se_all**2
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(variance > 0, (b_area - b_all) / np.sqrt(variance), np.nan)
    return z, 2 * stats.norm.sf(np.abs(z))


def _references(model: dict, spec: dict) -> dict[str, str]:
    return {p["name"]: str(p.get("reference", "")) for p in predictors(model, spec)}


def area_differences(
    terms: pd.DataFrame, threshold: int, spec: dict | None = None, baseline: str = "3"
) -> pd.DataFrame:
    """Every driver of every crime-area model that means the same in the all-crime model
    (`baseline`) and describes at least `threshold` reports there: both odds ratios, the
    Wald test of their difference (wald_difference), its Benjamini-Hochberg q-value across
    all of them, and `specific` (q at most SPECIFIC_FDR)."""
    spec = spec or load_spec()
    models = {str(m["id"]): m for m in spec["models"]}
    general = coefficients(terms, baseline)
    reference = _references(models[baseline], spec)
    parts = []
    for model in spec["models"]:
        model_id = str(model["id"])
        if model.get("area") in (None, "all") or model_id == baseline:
            continue
        rows = coefficients(terms, model_id)
        own = _references(model, spec)
        same = [
            t
            for t, v in zip(rows.index, rows["variable"], strict=True)
            if t in general.index and own.get(v) == reference.get(v) and rows.loc[t, "n"] >= threshold
        ]
        rows = rows.loc[same]
        parts.append(
            pd.DataFrame(
                {
                    "model_id": model_id,
                    "area": model["area"],
                    "term": same,
                    "label": rows["label"].to_numpy(),
                    "n": rows["n"].to_numpy(),
                    "b": rows["b"].to_numpy(),
                    "se": rows["se"].to_numpy(),
                    "b_all": general.loc[same, "b"].to_numpy(),
                    "se_all": general.loc[same, "se"].to_numpy(),
                }
            )
        )
    table = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=["model_id", "area", "term", "label", "n", "b", "se", "b_all", "se_all"])
    )
    table["z"], table["p"] = wald_difference(table["b"], table["se"], table["b_all"], table["se_all"])
    table["q"] = np.nan
    tested = table["p"].notna()
    if tested.any():
        table.loc[tested, "q"] = multipletests(table.loc[tested, "p"], alpha=SPECIFIC_FDR, method="fdr_bh")[1]
    table["odds_ratio"], table["odds_ratio_all"] = np.exp(table["b"]), np.exp(table["b_all"])
    table["specific"] = table["q"] <= SPECIFIC_FDR
    return table


def times(odds_ratio: float) -> str:
    """'2.1x more likely' or '1.6x less likely'."""
    return f"{odds_ratio:.1f}x more likely" if odds_ratio >= 1 else f"{1 / odds_ratio:.1f}x less likely"


def phrase_specific(rows: pd.DataFrame) -> str:
    """'Rape (here 3.1x more likely; all crime 2.0x more likely); ...' or 'none'."""
    if rows.empty:
        return "none"
    return "; ".join(
        f"{r.label} (here {times(r.odds_ratio)}; all crime {times(r.odds_ratio_all)})" for r in rows.itertuples()
    )


def phrase(rows: pd.DataFrame) -> str:
    """'Crime type: Rape (3.2x), ...' or 'none'."""
    if rows.empty:
        return "none"
    return "; ".join(f"{r.label} ({r.times:.1f}x {r.direction} likely)" for r in rows.itertuples())


def model_title(fit, threshold: int) -> str:
    """'Model 3: description (39,919 reports, ok)'; a sample under the threshold is not counted."""
    n = f"{fit.n:,.0f} reports" if fit.n >= threshold else f"fewer than {threshold} reports"
    return f"Model {fit.model_id}: {fit.description} ({n}, {fit.status})"
