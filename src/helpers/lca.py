"""Latent class analysis (chapter 10): groups of reports that share victim, suspect and
offence characteristics, found by StepMix, and the withdrawal rate of each group.

The number of classes is chosen by BIC on the measurement model alone; entropy (relative,
0-1, higher = classes better separated) is reported beside it. The withdrawal rate per
class is then estimated by the bias-corrected three-step method (BCH), which, unlike
assigning each report to its most likely class and averaging, allows for the uncertainty
of class membership. Declared in config/lca.yml; seeded, with several random starts.
"""
import warnings

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from stepmix.stepmix import StepMix

from .errors import condition
from .io import read_yaml
from .paths import CONFIG

SOURCE = CONFIG / "lca.yml"


def config() -> dict:
    return read_yaml(SOURCE)


def indicators(data: pd.DataFrame, spec: dict) -> tuple[pd.DataFrame, pd.Series]:
    """The 0/1 indicator matrix and the 0/1 outcome, for the declared population and sample."""
    subset = data[condition(data, spec["population"], f"{SOURCE}: population")] if spec.get("population") else data
    if spec.get("sample_size") and len(subset) > spec["sample_size"]:
        subset = subset.sample(spec["sample_size"], random_state=spec["seed"])
    columns = {}
    for name, expression in spec["indicators"].items():
        columns[name] = condition(subset, expression, f"{SOURCE}: indicator {name!r}").astype(int).to_numpy()
    return pd.DataFrame(columns), subset[spec["outcome"]].astype(int).reset_index(drop=True)


def _model(k: int, seed: int, starts: int, structural: bool) -> StepMix:
    options = dict(n_components=k, measurement="binary", n_init=starts, random_state=seed, progress_bar=0, verbose=0,
                   rel_tol=1e-6, max_iter=500)
    if structural:
        options.update(structural="binary", n_steps=3, correction="BCH")
    return StepMix(**options)


def search(x: pd.DataFrame, classes: range, seed: int, starts: int) -> pd.DataFrame:
    """BIC and relative entropy of the measurement model for each number of classes."""
    rows = []
    for k in classes:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # reported below as a column instead
            model = _model(k, seed, starts, structural=False).fit(x)
        rows.append({"classes": k, "bic": model.bic(x), "relative_entropy": model.relative_entropy(x),
                     "converged": bool(model.converged_)})
    return pd.DataFrame(rows)


def fit(x: pd.DataFrame, y: pd.Series, k: int, seed: int, starts: int) -> dict:
    """The k-class model with its three-step withdrawal rates: class sizes, indicator
    profiles, and per class the BCH rate beside the naive (modal assignment) rate."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = _model(k, seed, starts, structural=True).fit(x, y.to_frame())
    posterior = model.predict_proba(x)
    profiles = model.get_mm_df().droplevel([0, 1]).T  # classes x indicators: P(indicator = 1)
    profiles.index = range(k)
    rates = model.get_sm_df().droplevel([0, 1]).T.iloc[:, 0].to_numpy()
    modal = posterior.argmax(axis=1)
    naive = np.array([y[modal == c].mean() if (modal == c).any() else np.nan for c in range(k)])
    order = np.argsort(-rates)  # classes numbered from the highest withdrawal rate
    summary = pd.DataFrame({"class": np.arange(1, k + 1), "share": 100 * posterior.mean(axis=0)[order],
                            "withdrawal_bch": 100 * rates[order], "withdrawal_modal": 100 * naive[order]})
    return {"summary": summary, "profiles": profiles.iloc[order][list(x.columns)].set_axis(summary["class"]),
            "relative_entropy": model.relative_entropy(x)}
