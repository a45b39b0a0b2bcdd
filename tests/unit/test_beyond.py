"""Chapter 10's methods on data with known answers: cumulative incidence under competing
risks, and BCU effects net of case mix."""
import numpy as np
import pandas as pd
import pytest
from lifelines import AalenJohansenFitter

from helpers import beyond


def test_cumulative_incidence_without_censoring_is_the_share_ended_each_way():
    curve = beyond.cumulative_incidence([1, 2, 2, 3], ["a", "b", "a", "a"], ["a", "b"])
    assert curve.to_dict("index") == {1.0: {"a": 0.25, "b": 0.0}, 2.0: {"a": 0.5, "b": 0.25},
                                      3.0: {"a": 0.75, "b": 0.25}}
    assert beyond.incidence_at(curve, [0, 2, 10])["a"].tolist() == [0.0, 0.5, 0.75]


def test_aalen_johansen_with_censoring_agrees_with_lifelines():
    rng = np.random.default_rng(3)
    n = 400
    days = rng.exponential(30, n).round(6)  # continuous: no ties (lifelines jitters tied times)
    cause = rng.choice(["withdrawal", "other"], n)
    censored = rng.random(n) < 0.2
    ours = beyond.cumulative_incidence(days, cause, ["withdrawal", "other"], censored)
    event = np.where(censored, 0, np.where(cause == "withdrawal", 1, 2))
    theirs = AalenJohansenFitter(calculate_variance=False).fit(days, event, event_of_interest=1).cumulative_density_
    at = [5.0, 20.0, 60.0]
    expected = theirs.reindex(theirs.index.union(at)).ffill().loc[at].iloc[:, 0].to_numpy()
    assert beyond.incidence_at(ours, at)["withdrawal"].to_numpy() == pytest.approx(expected, abs=1e-9)


def test_a_planted_cumulative_incidence_is_recovered():
    # Constant cause-specific hazards 0.02 (withdrawal) and 0.03 (other) a day:
    # CIF_withdrawal(t) = 0.02 / 0.05 * (1 - exp(-0.05 t)); at 20 days 0.4 * (1 - e^-1) = 0.2528.
    rng = np.random.default_rng(8)
    n = 40_000
    days = rng.exponential(1 / 0.05, n)
    cause = np.where(rng.random(n) < 0.4, "withdrawal", "other")
    curve = beyond.cumulative_incidence(np.ceil(days), cause, ["withdrawal", "other"])
    # Whole days: by the end of day 20, t < 20 in continuous time.
    assert beyond.incidence_at(curve, [20])["withdrawal"].item() == pytest.approx(0.4 * (1 - np.exp(-1)), abs=0.01)


def test_planted_bcu_effects_survive_case_mix_and_a_case_mix_difference_does_not():
    rng = np.random.default_rng(21)
    bcus = np.array(list("ABCDEF"))
    n = 30_000
    bcu = rng.choice(bcus, n)
    # Case mix: BCU A has far more partner-abuse reports, which withdraw more. Only E and F have
    # effects of their own, -0.4 and +0.4 log-odds (so the average BCU effect stays 0).
    partner = rng.random(n) < np.where(bcu == "A", 0.6, 0.2)
    eta = -0.5 + 1.0 * partner + 0.4 * (bcu == "F") - 0.4 * (bcu == "E")
    data = pd.DataFrame({"bcu": bcu, "partner": partner, "withdrawn": rng.random(n) < 1 / (1 + np.exp(-eta))})
    model = {"id": "m", "outcome": "withdrawn", "predictors": [{"name": "partner"}]}
    effects = beyond.bcu_effects(data, model, {"predictor_sets": {}, "labels": {}}).set_index("bcu")
    assert effects.loc["A", "raw_rate"] == effects["raw_rate"].max()  # A looks highest before case mix...
    outside = effects[(effects["shrunk_low"] > 0) | (effects["shrunk_high"] < 0)].index.tolist()
    assert outside == ["E", "F"]  # ...but net of it only the planted BCUs stand out
    assert effects.loc["F", "effect"] == pytest.approx(0.4, abs=0.1)
    assert effects.loc["E", "effect"] == pytest.approx(-0.4, abs=0.1)
    assert abs(effects.loc["A", "effect"]) < 0.1
    assert effects["effect"].sum() == pytest.approx(0, abs=1e-9)  # deviation coding
    assert effects["tau2"].iloc[0] > 0


def test_a_planted_class_structure_and_its_withdrawal_rates_are_recovered():
    from helpers import lca

    rng = np.random.default_rng(5)
    n = 6_000
    member = rng.random(n) < 0.35  # class "partner abuse": 35% of reports
    p = np.where(member[:, None], [0.85, 0.75, 0.15, 0.9], [0.15, 0.25, 0.7, 0.1])
    x = pd.DataFrame((rng.random((n, 4)) < p).astype(int), columns=["known", "private", "street", "flag"])
    y = pd.Series((rng.random(n) < np.where(member, 0.65, 0.30)).astype(int))
    search = lca.search(x, range(1, 4), seed=1, starts=2)
    assert search.loc[search["bic"].idxmin(), "classes"] == 2
    result = lca.fit(x, y, 2, seed=1, starts=2)
    summary = result["summary"]
    assert summary["withdrawal_bch"].tolist() == pytest.approx([65, 30], abs=4)
    assert summary["share"].tolist() == pytest.approx([35, 65], abs=3)
    assert result["profiles"].loc[1, "flag"] == pytest.approx(0.9, abs=0.05)
    assert result["relative_entropy"] > 0.6


def test_lca_indicator_errors_name_the_file_and_indicator():
    from helpers import lca
    from helpers.errors import InputError

    data = pd.DataFrame({"suspect_recorded": [True, True], "victim_withdrawal": [True, False], "age": [3, 40]})
    spec = {"population": "suspect_recorded", "outcome": "victim_withdrawal", "sample_size": 0, "seed": 1,
            "indicators": {"Young": "age", "Old": "age > 30"}}
    with pytest.raises(InputError, match=r"lca.yml: indicator 'Young': 'age' is not a yes/no condition"):
        lca.indicators(data, spec)
    x, y = lca.indicators(data, {**spec, "indicators": {"Old": "age > 30"}})
    assert x["Old"].tolist() == [0, 1] and y.tolist() == [1, 0]
