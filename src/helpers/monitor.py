"""Period-on-period monitoring (chapter 11): what changed between two runs of the
pipeline. Rates are compared by a two-sided two-proportion z-test (pooled standard
error), odds ratios by a z-test on the difference of their logs; a change is flagged at
99% confidence, and only where both periods have at least the suppression threshold of
reports.
"""
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from . import withdrawal

CONFIDENCE = 0.99


def two_proportion(x1, n1, x2, n2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Change in percentage points (2 minus 1), z and two-sided p for x/n in two periods."""
    x1, n1, x2, n2 = (np.asarray(v, dtype=float) for v in (x1, n1, x2, n2))
    p1, p2 = x1 / n1, x2 / n2
    pooled = (x1 + x2) / (n1 + n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (p2 - p1) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return 100 * (p2 - p1), z, 2 * stats.norm.sf(np.abs(z))


def flag(change, p, n1, n2, threshold: int) -> np.ndarray:
    """'up' or 'down' where a change is significant at 99% and both cells are large enough."""
    ok = (np.asarray(n1) >= threshold) & (np.asarray(n2) >= threshold) & (np.asarray(p) < 1 - CONFIDENCE)
    return np.where(ok & (np.asarray(change) > 0), "up", np.where(ok & (np.asarray(change) < 0), "down", ""))


def compare_counts(before: pd.DataFrame, after: pd.DataFrame, keys: list[str], threshold: int) -> pd.DataFrame:
    """Two tables of (keys..., events, n) joined, with rates, change, test and flag."""
    both = before.merge(after, on=keys, suffixes=("_before", "_after"), how="outer").fillna(
        {"events_before": 0, "n_before": 0, "events_after": 0, "n_after": 0})
    change, z, p = two_proportion(both["events_before"], both["n_before"], both["events_after"], both["n_after"])
    both["rate_before"] = 100 * both["events_before"] / both["n_before"].where(both["n_before"] > 0)
    both["rate_after"] = 100 * both["events_after"] / both["n_after"].where(both["n_after"] > 0)
    both["change_pp"], both["z"], both["p"] = change, z, p
    both["flag"] = flag(change, p, both["n_before"], both["n_after"], threshold)
    return both


def compare_odds_ratios(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Two models' terms (term, b, se, odds_ratio) joined: ratio of odds ratios and its test."""
    both = before[["term", "label", "b", "se", "odds_ratio"]].merge(
        after[["term", "b", "se", "odds_ratio"]], on="term", suffixes=("_before", "_after"))
    difference = both["b_after"] - both["b_before"]
    z = difference / np.sqrt(both["se_before"] ** 2 + both["se_after"] ** 2)
    both["ratio"], both["z"], both["p"] = np.exp(difference), z, 2 * stats.norm.sf(np.abs(z))
    both["flag"] = np.where(both["p"] < 1 - CONFIDENCE, np.where(difference > 0, "up", "down"), "")
    return both


def area_counts(cohort: pd.DataFrame, areas: list[str]) -> pd.DataFrame:
    """Withdrawals (events) and reports (n) by crime area, all crime first."""
    return pd.DataFrame([{"area": withdrawal.area_label(a), "events": int(withdrawal.in_area(cohort, a)["victim_withdrawal"].sum()),
                          "n": len(withdrawal.in_area(cohort, a))} for a in ["all", *areas]])


def bcu_counts(cohort: pd.DataFrame) -> pd.DataFrame:
    """Withdrawals (events) and reports (n) by BCU, all crime."""
    grouped = cohort.groupby("bcu")["victim_withdrawal"]
    return pd.DataFrame({"bcu": grouped.sum().index, "events": grouped.sum().to_numpy(), "n": grouped.size().to_numpy()})


def quality_counts(dataset_dir: Path) -> pd.DataFrame:
    """A built dataset's data-quality measures as events out of n."""
    table = pd.read_csv(Path(dataset_dir) / "data_quality.csv")
    return table.rename(columns={"count": "events", "base": "n"})[["description", "events", "n"]]
