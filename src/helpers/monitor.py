"""Period-on-period monitoring (chapter 11): what changed between two runs of the
pipeline, declared in config/monitoring.yml.

Each comparison is tested on its own: a rate by the two-sided two-proportion z-test with
the pooled standard error (statsmodels `proportions_ztest`), an odds ratio by a z-test on
the difference of its logs. A run makes dozens of comparisons, so a change is flagged only
when both
- its Benjamini-Hochberg q-value, across every comparison of the run (one family:
  crime-area rates, BCU rates, data-quality measures and odds ratios), is at most the
  declared false discovery rate (Benjamini & Hochberg 1995, J. R. Stat. Soc. B 57:289;
  statsmodels `multipletests`, method fdr_bh): of the changes flagged, that share at most
  is expected to be false;
- it is at least the declared change that matters (percentage points for a rate, a factor
  for an odds ratio): with tens of thousands of reports a trivial drift is "significant".
Only cells with at least the suppression threshold of reports in both periods are tested.
The per-comparison flag at 99% is kept beside, for reference.
"""

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

from . import withdrawal
from .geography import bcu_label
from .io import read_yaml
from .paths import CONFIG

ARROWS = {"up": "▲ up", "down": "▼ down", "": "-"}


@cache
def config() -> dict:
    return read_yaml(CONFIG / "monitoring.yml")


def two_proportion(x1, n1, x2, n2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Change in percentage points (2 minus 1), z and two-sided p for x/n in two periods
    (pooled two-proportion z-test, statsmodels `proportions_ztest`), of scalars or arrays; NaN
    where a period has no reports or the pooled rate is 0 or 1."""
    x1, n1, x2, n2 = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x1, n1, x2, n2)))
    with np.errstate(divide="ignore", invalid="ignore"):  # a period with no reports: NaN, not a warning
        change = 100 * (x2 / n2 - x1 / n1)
    z, p = np.full(change.shape, np.nan), np.full(change.shape, np.nan)
    pooled_inside = (x1 + x2 > 0) & (x1 + x2 < n1 + n2)
    for i in np.flatnonzero((n1 > 0) & (n2 > 0) & pooled_inside):
        z.flat[i], p.flat[i] = proportions_ztest([x2.flat[i], x1.flat[i]], [n2.flat[i], n1.flat[i]])
    return change, z, p


def direction(change, significant) -> np.ndarray:
    """'up' or 'down' where `significant`, '' elsewhere."""
    change, significant = np.asarray(change, dtype=float), np.asarray(significant, dtype=bool)
    return np.where(significant & (change > 0), "up", np.where(significant & (change < 0), "down", ""))


def flag(change, p, n1, n2, threshold: int) -> np.ndarray:
    """The per-comparison flag: 'up' or 'down' where a change is significant on its own at the
    declared per-test confidence and both cells are large enough."""
    level = 1 - config()["per_test_confidence"]
    ok = (np.asarray(n1) >= threshold) & (np.asarray(n2) >= threshold) & (np.asarray(p) < level)
    return direction(change, ok)


def compare_counts(before: pd.DataFrame, after: pd.DataFrame, keys: list[str], threshold: int) -> pd.DataFrame:
    """Two tables of (keys..., events, n) joined, with rates, change (pp), test, the
    per-comparison flag and `tested` (both periods at least the threshold)."""
    both = before.merge(after, on=keys, suffixes=("_before", "_after"), how="outer").fillna(
        {"events_before": 0, "n_before": 0, "events_after": 0, "n_after": 0}
    )
    # An outer merge sorts its keys; keep the tables' own order (all crime first, BCUs as declared).
    order = pd.concat([before[keys], after[keys]]).drop_duplicates().reset_index(drop=True)
    both = order.merge(both, on=keys, how="left")
    change, z, p = two_proportion(both["events_before"], both["n_before"], both["events_after"], both["n_after"])
    both["rate_before"] = 100 * both["events_before"] / both["n_before"].where(both["n_before"] > 0)
    both["rate_after"] = 100 * both["events_after"] / both["n_after"].where(both["n_after"] > 0)
    both["change_pp"], both["z"], both["p"] = change, z, p
    both["flag"] = flag(change, p, both["n_before"], both["n_after"], threshold)
    both["tested"] = (both["n_before"] >= threshold) & (both["n_after"] >= threshold) & both["p"].notna()
    return both


def compare_odds_ratios(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Two models' terms (term, label, b, se, odds_ratio) joined: ratio of odds ratios and its
    z-test on the difference of the logs, the per-comparison flag and `tested`. A term
    estimated in one period only keeps its row, with nothing to compare."""
    both = before[["term", "label", "b", "se", "odds_ratio"]].merge(
        after[["term", "label", "b", "se", "odds_ratio"]], on="term", suffixes=("_before", "_after"), how="outer"
    )
    both.insert(1, "label", both.pop("label_before").fillna(both.pop("label_after")))
    difference = both["b_after"] - both["b_before"]
    z = difference / np.sqrt(both["se_before"] ** 2 + both["se_after"] ** 2)
    both["ratio"], both["z"], both["p"] = np.exp(difference), z, 2 * stats.norm.sf(np.abs(z))
    both["flag"] = direction(difference, both["p"] < 1 - config()["per_test_confidence"])
    both["tested"] = both["p"].notna()
    return both.sort_values("term", key=lambda t: t.map({term: i for i, term in enumerate(before["term"])}))


def matters(table: pd.DataFrame) -> pd.Series:
    """Whether each change is at least the declared change that matters: a rate's change in
    percentage points, or an odds ratio's factor either way."""
    spec = config()
    if "ratio" in table:
        return np.abs(np.log(table["ratio"])) >= np.log(spec["min_odds_ratio_change"])
    return table["change_pp"].abs() >= spec["min_change_pp"]


def flag_family(tables: dict[str, pd.DataFrame]) -> tuple[dict[str, pd.DataFrame], dict]:
    """Every tested comparison of a run as one family: each table gains its Benjamini-Hochberg
    q-value (`q`) and the chapter's flag (`flag_fdr`: q at most the false discovery rate and a
    change that matters). Also returns a summary: the family's size by table, the flags of
    each kind, and the expected number of false flags (the false discovery rate times the
    flags; had nothing changed, the per-test level times the family's size)."""
    spec = config()
    tested = {name: table[table["tested"]] for name, table in tables.items()}
    p = np.concatenate([t["p"].to_numpy(float) for t in tested.values()])
    q = multipletests(p, alpha=spec["false_discovery_rate"], method="fdr_bh")[1] if len(p) else p
    out, start = {}, 0
    for name, table in tables.items():
        rows = tested[name].index
        table = table.assign(q=np.nan)
        table.loc[rows, "q"] = q[start : start + len(rows)]
        start += len(rows)
        change = table["ratio"].map(np.log) if "ratio" in table else table["change_pp"]
        table["flag_fdr"] = direction(change, (table["q"] <= spec["false_discovery_rate"]) & matters(table))
        out[name] = table
    flagged = sum(int((t["flag_fdr"] != "").sum()) for t in out.values())
    summary = {
        "family": {name: len(t) for name, t in tested.items()},
        "size": len(p),
        "per_test": sum(int((t["flag"] != "").sum()) for t in out.values()),
        "flagged": flagged,
        "expected_false": spec["false_discovery_rate"] * flagged,
        "expected_false_if_none_changed": (1 - spec["per_test_confidence"]) * len(p),
    }
    return out, summary


def shown_changes(table: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """A comparison (compare_counts) as its table shows it: rates and change suppressed where
    either period has fewer than `threshold` reports ('-' where either has none), report
    counts under the threshold suppressed, flags (both kinds) as arrows."""
    shown = table.assign(**{f: table[f].map(ARROWS).fillna("-") for f in ("flag", "flag_fdr") if f in table})
    shown = withdrawal.shown_cells(
        shown,
        [c for c in ("rate_before", "rate_after", "change_pp", "q") if c in table],
        np.minimum(table["n_before"], table["n_after"]),
        threshold,
    )
    for count in ("n_before", "n_after"):
        shown = withdrawal.shown_cells(shown, [count], table[count], threshold)
    return shown


def both_shown(table: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """The rows with at least `threshold` reports in both periods: what a chart may draw."""
    return table[(table["n_before"] >= threshold) & (table["n_after"] >= threshold)]


def area_counts(cohort: pd.DataFrame, areas: list[str]) -> pd.DataFrame:
    """Withdrawals (events) and reports (n) by crime area, all crime first."""
    return pd.DataFrame(
        [
            {
                "area": withdrawal.area_label(a),
                "events": int(withdrawal.in_area(cohort, a)["victim_withdrawal"].sum()),
                "n": len(withdrawal.in_area(cohort, a)),
            }
            for a in ["all", *areas]
        ]
    )


def bcu_counts(cohort: pd.DataFrame) -> pd.DataFrame:
    """Withdrawals (events) and reports (n) by BCU, all crime; reports with no borough are
    their own row, labelled as such."""
    grouped = cohort.groupby("bcu")["victim_withdrawal"]
    counts = pd.DataFrame({"events": grouped.sum(), "n": grouped.size()})
    counts = counts.reindex(withdrawal.bcu_order(counts.index), fill_value=0).astype(int)
    return counts.rename(index=bcu_label).rename_axis("bcu").reset_index()


def quality_counts(dataset_dir: Path) -> pd.DataFrame:
    """A built dataset's data-quality measures as events out of n."""
    table = pd.read_csv(Path(dataset_dir) / "data_quality.csv")
    return table.rename(columns={"count": "events", "base": "n"})[["description", "events", "n"]]
