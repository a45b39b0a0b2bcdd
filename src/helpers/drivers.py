"""Chapter 07's reading of the fitted driver models (helpers.models): the models table
beside the pack's, the pack's published odds ratios beside the fitted ones, and each
crime area's key findings written from the fitted terms.

A term describing fewer than `threshold` reports is never shown (the suppression rule);
a finding is a term significant at 95%, as in the pack.
"""
import numpy as np
import pandas as pd

from . import published
from .calibration import OR_TOLERANCE
from .models import load_spec



def coefficients(terms: pd.DataFrame, model_id: str) -> pd.DataFrame:
    """A model's single-coefficient rows (no constant, no joint Wald rows), by term."""
    rows = terms[(terms["model_id"] == model_id) & (terms["df"] == 1) & (terms["term"] != "Constant")]
    return rows.set_index("term")


def models_table(fits: pd.DataFrame) -> pd.DataFrame:
    """The pack's "Regression models" table: this run's sample, R-square and % correct beside the pack's."""
    pack = published.load("regression_models").reset_index()
    pack = pack.pivot(index="model_id", columns="statistic", values="value")
    table = fits[["model_id", "description", "status", "n", "r2_nagelkerke", "pct_correct_0", "pct_correct_1",
                  "pct_correct", "auc"]].copy()
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
    wanted = [("all", key.removeprefix("or_"), row["measure"], row["value"])
              for key, row in headlines.iterrows() if key.startswith("or_")]
    by_area = published.load("driver_odds_ratios_by_area")
    wanted += [(row["crime_area"], row["term"], row["measure"], row["value"]) for _, row in by_area.iterrows()]
    rows = []
    for area, driver, measure, target in wanted:
        model_id = model_of.get(area)
        fitted = coefficients(terms, model_id) if model_id else pd.DataFrame()
        term = drivers.get(driver)
        row = {"area": area, "model_id": model_id, "driver": driver, "term": term, "measure": measure,
               "published": target, "odds_ratio": np.nan, "ci_low": np.nan, "ci_high": np.nan, "n": np.nan,
               "p": np.nan, "within": pd.NA}
        if term in fitted.index:
            hit = fitted.loc[term]
            row.update(odds_ratio=hit["odds_ratio"], ci_low=hit["ci_low"], ci_high=hit["ci_high"], n=hit["n"],
                       p=hit["p"], within=bool(abs(hit["odds_ratio"] / target - 1) <= OR_TOLERANCE))
        rows.append(row)
    table = pd.DataFrame(rows)
    table["within"] = table["within"].astype("boolean")
    return table


def findings(terms: pd.DataFrame, model_id: str, threshold: int, top: int = 3, baseline: str = "3") -> dict:
    """The key findings of one model: its `top` strongest significant drivers each way, and
    the significant drivers specific to it (not significant in the all-crime model, `baseline`)."""
    rows = coefficients(terms, model_id)
    rows = rows[rows["significant"] & (rows["n"] >= threshold)]
    more = rows[rows["direction"] == "more"].sort_values("times", ascending=False).head(top)
    less = rows[rows["direction"] == "less"].sort_values("times", ascending=False).head(top)
    specific = pd.DataFrame()
    if model_id != baseline:
        general = coefficients(terms, baseline)
        general = set(general.index[general["significant"]])
        specific = rows[~rows.index.isin(general)].sort_values("times", ascending=False)
    return {"more": more, "less": less, "specific": specific}


def phrase(rows: pd.DataFrame) -> str:
    """'Crime type: Rape (3.2x), ...' or 'none'."""
    if rows.empty:
        return "none"
    return "; ".join(f"{r.label} ({r.times:.1f}x {r.direction} likely)" for r in rows.itertuples())
