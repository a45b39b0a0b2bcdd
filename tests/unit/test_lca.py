"""Latent class analysis (helpers.lca) on planted structures: the EM against StepMix, the
criteria against their formulas, the number of classes stable across seeds, and the
withdrawal rates of planted classes recovered."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning
from stepmix.stepmix import StepMix

from helpers import lca
from helpers.errors import InputError

SEARCH = {
    "seed": 1,
    "starts": 20,
    "screen_iterations": 30,
    "keep": 10,
    "max_starts": 80,
    "replications": 2,
    "same_within": 0.5,
    "tolerance": 1e-6,
    "max_iterations": 5000,
}


def planted(seed: int, n: int, shares, profiles, rates=None):
    """Reports drawn from planted classes: their yes/no indicators and, with `rates`, a 0/1 outcome."""
    rng = np.random.default_rng(seed)
    member = rng.choice(len(shares), size=n, p=shares)
    profiles = np.asarray(profiles)
    x = pd.DataFrame(
        (rng.random((n, profiles.shape[1])) < profiles[member]).astype(int),
        columns=[f"i{j}" for j in range(profiles.shape[1])],
    )
    y = None if rates is None else pd.Series((rng.random(n) < np.asarray(rates)[member]).astype(int))
    return x, y


THREE = [
    [0.9, 0.8, 0.9, 0.2, 0.1, 0.2, 0.7, 0.1],
    [0.2, 0.1, 0.3, 0.9, 0.8, 0.8, 0.6, 0.2],
    [0.1, 0.2, 0.1, 0.2, 0.1, 0.3, 0.1, 0.9],
]


def test_the_em_reaches_stepmix_maximum_and_its_three_step_rates():
    x, y = planted(2, 3_000, [0.5, 0.3, 0.2], [p[:6] for p in THREE], rates=[0.6, 0.3, 0.1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = StepMix(
            n_components=3,
            measurement="binary",
            structural="binary",
            n_steps=3,
            correction="BCH",
            n_init=10,
            random_state=3,
            rel_tol=1e-12,
            abs_tol=0,
            max_iter=20_000,
            progress_bar=0,
            verbose=0,
        ).fit(x, y.to_frame())
    table, fits = lca.search(x, range(3, 4), SEARCH)
    assert table["log_likelihood"].item() == pytest.approx(theirs.score(x) * len(x), abs=0.01)
    ours = lca.describe(fits[3], x, y)
    their_rates = 100 * theirs.get_sm_df().droplevel([0, 1]).T.iloc[:, 0].to_numpy()
    order = np.argsort(-their_rates)  # classes numbered from the highest rate, as describe numbers them
    their_profiles = theirs.get_mm_df().droplevel([0, 1]).T[list(x.columns)].to_numpy()[order]
    assert ours["profiles"].to_numpy() == pytest.approx(their_profiles, abs=1e-3)
    assert ours["summary"]["withdrawal_bch"].to_numpy() == pytest.approx(their_rates[order], abs=0.05)
    assert ours["summary"]["withdrawal_bch"].tolist() == pytest.approx([60, 30, 10], abs=5)


def test_the_criteria_follow_their_formulas():
    # Sclove (1987): n* = (n + 2) / 24 in place of n. n = 998, p = 10, log-likelihood -1000:
    # BIC = 2000 + 10 log 998 = 2069.0575; SABIC = 2000 + 10 log(1000 / 24) = 2037.2970.
    assert lca.criteria(-1000, 10, 998) == pytest.approx({"bic": 2069.0575, "sabic": 2037.2970}, abs=1e-4)
    w = np.array([3.0, 1.0])
    assert lca.relative_entropy(np.array([[1.0, 0.0], [0.0, 1.0]]), w) == pytest.approx(1)
    assert lca.relative_entropy(np.full((2, 4), 0.25), w) == pytest.approx(0, abs=1e-12)
    assert np.isnan(lca.relative_entropy(np.ones((2, 1)), w))


def test_the_number_of_classes_is_stable_across_seeds_and_every_best_is_replicated():
    x, _ = planted(4, 4_000, [0.45, 0.35, 0.2], THREE)
    chosen = []
    for seed in (11, 12):
        table, _ = lca.search(x, range(1, 6), {**SEARCH, "seed": seed})
        assert (table["replicated"] >= 2).all(), table
        assert table["converged"].all()
        chosen.append(int(table.loc[table["bic"].idxmin(), "classes"]))
        assert table.loc[table["classes"] == 3, "relative_entropy"].item() > 0.7
    assert chosen == [3, 3]


def test_a_best_that_is_not_replicated_is_reported_after_the_last_start():
    x, _ = planted(4, 1_000, [0.45, 0.35, 0.2], THREE)
    table, _ = lca.search(x, range(2, 3), {**SEARCH, "same_within": -1.0})  # no start can match: never replicated
    assert table[["starts", "replicated"]].values.tolist() == [[80, 0]]


def test_a_planted_class_structure_and_its_withdrawal_rates_are_recovered():
    x, y = planted(5, 6_000, [0.35, 0.65], [[0.85, 0.75, 0.15, 0.9], [0.15, 0.25, 0.7, 0.1]], rates=[0.65, 0.30])
    table, fits = lca.search(x, range(1, 4), SEARCH)
    assert table.loc[table["bic"].idxmin(), "classes"] == 2
    result = lca.describe(fits[2], x, y)
    summary = result["summary"]
    assert summary["withdrawal_bch"].tolist() == pytest.approx([65, 30], abs=4)
    assert summary["share"].tolist() == pytest.approx([35, 65], abs=3)
    assert result["profiles"].loc[1, "i3"] == pytest.approx(0.9, abs=0.05)
    assert result["relative_entropy"] > 0.6


def test_lca_indicator_and_configuration_errors_name_the_file():
    data = pd.DataFrame({"suspect_recorded": [True, True], "victim_withdrawal": [True, False], "age": [3, 40]})
    spec = {
        "population": "suspect_recorded",
        "outcome": "victim_withdrawal",
        "sample_size": 0,
        "seed": 1,
        "indicators": {"Young": "age", "Old": "age > 30"},
    }
    with pytest.raises(InputError, match=r"lca.yml: indicator 'Young': 'age' is not a yes/no condition"):
        lca.indicators(data, spec)
    x, y = lca.indicators(data, {**spec, "indicators": {"Old": "age > 30"}})
    assert x["Old"].tolist() == [0, 1] and y.tolist() == [1, 0]
    assert lca.config()["classes"] == [2, 7]


def test_a_configuration_with_a_missing_or_unknown_key_is_refused(tmp_path):
    path = tmp_path / "lca.yml"
    path.write_text(lca.SOURCE.read_text().replace("keep: 20", "kept: 20"))
    with pytest.raises(InputError, match=r"lca.yml: missing key\(s\) keep"):
        lca.config(path)


def test_a_pattern_improbable_in_every_class_does_not_underflow():
    # 80 yes answers against two classes that give each a probability of 1e-10: log P(answers)
    # = 80 log(1e-10) = -1842 in both, which exp alone turns into 0 and the log-likelihood into -inf.
    u1 = np.column_stack([np.ones((2, 80)) * [[1], [0]], np.ones(2)])
    theta = np.full((1, 2, 80), 1e-10)
    pi = np.full((1, 2), 0.5)
    _, _, ll, _ = lca._em(u1, np.array([1.0, 1.0]), theta, pi, np.inf, 1)
    assert ll[0] == pytest.approx(80 * np.log(1e-10) + np.log1p(-1e-10) * 80, rel=1e-9)
