"""Chapter 10's methods on data with known answers: cumulative incidence under competing
risks with reports censored at the as-of date, and BCU effects net of case mix."""

import numpy as np
import pandas as pd
import pytest
from lifelines import AalenJohansenFitter
from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM

from helpers import beyond
from helpers.errors import InputError

SPEC = {"predictor_sets": {}, "labels": {}}
MODEL = {"id": "m", "outcome": "withdrawn", "predictors": [{"name": "partner"}]}


def curve_of(curves: pd.DataFrame, cause: str) -> pd.DataFrame:
    return curves[curves["outcome_group"] == cause].set_index("day")


def test_cumulative_incidence_without_censoring_is_the_share_ended_each_way():
    curves = beyond.cumulative_incidence([1, 2, 2, 3], ["a", "b", "a", "a"], ["a", "b"])
    assert curve_of(curves, "a")["cif"].to_dict() == {1.0: 0.25, 2.0: 0.5, 3.0: 0.75}
    assert curve_of(curves, "b")["cif"].to_dict() == {1.0: 0.0, 2.0: 0.25, 3.0: 0.25}
    assert beyond.incidence_at(curves, [0, 2, 10])["a"].tolist() == [0.0, 0.5, 0.75]
    assert beyond.final_incidence(curves).to_dict() == {"a": 0.75, "b": 0.25}


def test_tied_days_with_censoring_against_a_calculation_by_hand():
    # Ten reports in whole days; ties of both kinds at day 2, a censored report at day 5 still
    # at risk that day. At risk n, all events d, cause-A events d_A, survival just before S:
    #   day 2: n 10, d 3, d_A 2, S 1       -> F_A = 2/10                     = 0.2
    #   day 5: n 6,  d 1, d_A 1, S 7/10    -> F_A = 0.2 + 0.7 / 6            = 0.316667
    #   day 7: n 4,  d 2, d_A 0, S 7/12    -> F_A unchanged (F_B = 0.1 + 7/12 * 2/4 = 0.391667)
    #   day 9: n 2,  d 1, d_A 1, S 7/24    -> F_A = 0.316667 + 7/24 / 2      = 0.4625
    # Collett's delta-method variance at day 9,
    #   sum (F - F_j)^2 d/(n(n-d)) + S^2 d_A (n-d_A)/n^3 - 2 (F - F_j) S d_A/n^2 = 11821/384000,
    # and the log(-log) interval F^exp(+-1.96 se/(F log F)) = (0.132331, 0.745273).
    days = [2, 2, 2, 3, 5, 5, 7, 7, 9, 10]
    cause = ["A", "A", "B", None, "A", None, "B", "B", "A", None]
    curves = beyond.cumulative_incidence(days, cause, ["A", "B"], [c is None for c in cause])
    a, b = curve_of(curves, "A"), curve_of(curves, "B")
    assert a["cif"].tolist() == pytest.approx([0.2, 0.2 + 0.7 / 6, 0.2 + 0.7 / 6, 0.4625], abs=1e-12)
    assert b.loc[9.0, "cif"] == pytest.approx(0.1 + 7 / 12 / 2, abs=1e-12)
    se = np.sqrt(11821 / 384000)
    z = 1.959963984540054
    expected = [0.4625 ** np.exp(s * z * se / (0.4625 * np.log(0.4625))) for s in (-1, 1)]
    assert a.loc[9.0, ["ci_low", "ci_high"]].tolist() == pytest.approx(expected, abs=1e-9)
    assert a.loc[9.0, ["ci_low", "ci_high"]].tolist() == pytest.approx([0.132331, 0.745273], abs=1e-6)


def test_aalen_johansen_and_its_interval_agree_with_lifelines():
    rng = np.random.default_rng(3)
    n = 400
    days = rng.exponential(30, n).round(6)  # continuous: no ties (lifelines jitters tied times)
    cause = rng.choice(["withdrawal", "other"], n)
    censored = rng.random(n) < 0.2
    ours = curve_of(beyond.cumulative_incidence(days, cause, ["withdrawal", "other"], censored), "withdrawal")
    event = np.where(censored, 0, np.where(cause == "withdrawal", 1, 2))
    theirs = AalenJohansenFitter().fit(days, event, event_of_interest=1)
    interval = theirs.confidence_interval_.set_axis(theirs.event_table.index)
    common = ours.index.intersection(interval.dropna().index)
    assert len(common) > 300
    assert ours.loc[common, "cif"].to_numpy() == pytest.approx(
        theirs.cumulative_density_.loc[common].iloc[:, 0], abs=1e-12
    )
    # lifelines' columns are labelled the other way round: take the lower and the higher of the two.
    assert ours.loc[common, "ci_low"].to_numpy() == pytest.approx(interval.loc[common].min(axis=1), abs=1e-12)
    assert ours.loc[common, "ci_high"].to_numpy() == pytest.approx(interval.loc[common].max(axis=1), abs=1e-12)


def open_extract(seed: int, n: int = 20_000):
    """Reports made over a year, the extract taken 120 days after it ends. Constant
    cause-specific hazards a day: withdrawal 0.0024, other 0.0036 (total 0.006), so about a
    fifth are still open, and CIF_withdrawal(84) = 0.4 (1 - exp(-0.006 * 84)) = 0.158365."""
    rng = np.random.default_rng(seed)
    reported = pd.Timestamp("2021-04-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    as_of = pd.Timestamp("2022-07-29")
    days = np.ceil(rng.exponential(1 / 0.006, n)).astype(int)  # by the end of day d: t <= d
    cause = np.where(rng.random(n) < 0.4, "Victim withdrawal", "Other")
    complete = reported + pd.to_timedelta(days, unit="D")
    frame = pd.DataFrame(
        {
            "crime_ref": [f"CR{i:06d}" for i in range(n)],
            "reported_date": reported,
            "investigation_complete_date": complete,
            "outcome_group": cause,
        }
    )
    closed = frame[complete <= as_of].assign(days_to_complete=lambda f: days[f.index])
    return closed.reset_index(drop=True), frame.loc[complete > as_of, ["crime_ref", "reported_date"]], as_of


TRUE_84 = 0.4 * (1 - np.exp(-0.006 * 84))


def test_open_reports_censored_at_the_as_of_date_recover_a_planted_incidence():
    closed, still_open, as_of = open_extract(8)
    frame, untimed = beyond.timed(closed, still_open, as_of)
    curves, counts = beyond.competing_risks(frame, [], ["Victim withdrawal", "Other"])
    assert untimed == 0 and counts.loc["all", "censored"] == len(still_open)
    assert 0.15 < len(still_open) / len(frame) < 0.25
    at_84 = beyond.incidence_at(curves[curves["area"] == "all"], [84], "cif")["Victim withdrawal"].item()
    low, high = (
        beyond.incidence_at(curves[curves["area"] == "all"], [84], c)["Victim withdrawal"].item()
        for c in ("ci_low", "ci_high")
    )
    se = (high - low) / (2 * 1.96)
    assert abs(at_84 - TRUE_84) < 3 * se  # within sampling error...
    assert se < 0.005
    assert low < TRUE_84 < high  # ...and inside its own 95% interval


def test_the_closed_reports_alone_overstate_the_incidence():
    closed, _, _ = open_extract(8)
    alone = beyond.cumulative_incidence(
        closed["days_to_complete"], closed["outcome_group"], ["Victim withdrawal", "Other"]
    )
    at_84 = beyond.incidence_at(alone, [84])["Victim withdrawal"].item()
    assert at_84 - TRUE_84 > 0.02  # biased upwards, far beyond its sampling error (about 0.003)


def test_a_report_closed_after_the_as_of_date_counts_as_open_then():
    cohort = pd.DataFrame(
        {
            "crime_ref": ["A", "B", "C"],
            "reported_date": pd.to_datetime(["2022-01-01"] * 3),
            "investigation_complete_date": pd.to_datetime(["2022-01-11", "2022-03-01", None]),
            "outcome_group": ["Judicial", "Judicial", "Judicial"],
        }
    )
    still_open = pd.DataFrame({"crime_ref": ["D"], "reported_date": pd.to_datetime(["2022-01-21"])})
    frame, untimed = beyond.timed(cohort, still_open, "2022-01-31")
    assert untimed == 1  # C: an outcome but no date to place it
    assert frame.set_index("crime_ref")[["day", "censored"]].to_dict("index") == {
        "A": {"day": 10, "censored": False},
        "B": {"day": 30, "censored": True},
        "D": {"day": 10, "censored": True},
    }


def test_a_missing_or_negative_time_or_an_unknown_outcome_names_the_report():
    with pytest.raises(InputError, match=r"report CR2: time to outcome is missing; 1 report"):
        beyond.cumulative_incidence([3, 4, np.nan], ["a", "a", "a"], ["a"], reports=["CR0", "CR1", "CR2"])
    with pytest.raises(InputError, match=r"report CR1: time to outcome is negative \(-2 days\)"):
        beyond.cumulative_incidence([3, -2, 1], ["a", "a", "a"], ["a"], reports=["CR0", "CR1", "CR2"])
    with pytest.raises(InputError, match=r"report CR1: outcome group 'Unknown' is not one of a, b"):
        beyond.cumulative_incidence([3, 2], ["a", "Unknown"], ["a", "b"], reports=["CR0", "CR1"])
    # A censored report needs no outcome group.
    assert len(beyond.cumulative_incidence([3, 2], ["a", None], ["a"], censored=[False, True])) == 1


def planted_bcus(seed: int, bcus: list[str], effects: np.ndarray, n: int, partner_share=None):
    """Reports in BCUs with planted log-odds effects, and a case-mix predictor (partner abuse,
    +1.0 log-odds) whose share may differ by BCU."""
    rng = np.random.default_rng(seed)
    index = rng.integers(0, len(bcus), n)
    share = np.full(len(bcus), 0.2) if partner_share is None else np.asarray(partner_share)
    partner = rng.random(n) < share[index]
    eta = -0.5 + 1.0 * partner + np.asarray(effects)[index]
    return pd.DataFrame(
        {"bcu": np.asarray(bcus)[index], "partner": partner, "withdrawn": rng.random(n) < 1 / (1 + np.exp(-eta))}
    )


def test_planted_bcu_effects_survive_case_mix_and_a_case_mix_difference_does_not():
    # Case mix: BCU A has far more partner-abuse reports, which withdraw more. Only E and F have
    # effects of their own, -0.4 and +0.4 log-odds (so the average BCU effect stays 0).
    data = planted_bcus(21, list("ABCDEF"), [0, 0, 0, 0, -0.4, 0.4], 30_000, [0.6, 0.2, 0.2, 0.2, 0.2, 0.2])
    effects = beyond.bcu_effects(data, MODEL, SPEC, confidence=0.99).set_index("bcu").dropna(subset=["effect"])
    assert effects.loc["A", "raw_rate"] == effects["raw_rate"].max()  # A looks highest before case mix...
    outside = effects[(effects["shrunk_low"] > 0) | (effects["shrunk_high"] < 0)].index.tolist()
    assert outside == ["E", "F"]  # ...but net of it only the planted BCUs stand out
    assert effects.loc["F", "effect"] == pytest.approx(0.4, abs=0.1)
    assert effects.loc["E", "effect"] == pytest.approx(-0.4, abs=0.1)
    assert abs(effects.loc["A", "effect"]) < 0.1
    assert effects["effect"].sum() == pytest.approx(0, abs=1e-9)  # deviation coding
    # Both intervals at the confidence asked for: 99% is 2.576 standard errors.
    half = (effects["high"] - effects["low"]) / 2
    assert half.to_numpy() == pytest.approx(2.5758293 * effects["se"].to_numpy(), rel=1e-6)
    assert effects.loc["A", "tau_low"] < 0.4 / np.sqrt(3) < effects.loc["A", "tau_high"]  # sd of 0,0,0,0,-0.4,0.4


def test_bcu_effects_are_found_by_name_whatever_the_order_of_the_design():
    data = planted_bcus(5, list("ABCD"), [0.3, 0, 0, -0.3], 12_000)
    data["also_partner"] = data["partner"]  # a redundant predictor: drop_collinear removes a column
    model = {**MODEL, "predictors": [{"name": "also_partner"}, {"name": "partner"}]}
    effects = beyond.bcu_effects(data, model, SPEC, confidence=0.95).set_index("bcu").dropna(subset=["effect"])
    plain = beyond.bcu_effects(data, MODEL, SPEC, confidence=0.95).set_index("bcu").dropna(subset=["effect"])
    assert list(effects.index) == list("ABCD")
    assert effects["effect"].to_numpy() == pytest.approx(plain["effect"].to_numpy(), abs=1e-9)
    assert effects.loc["A", "effect"] == pytest.approx(0.3, abs=0.1)
    # A BCU that is a combination of predictors has no effect of its own: none is estimated.
    data["in_a"] = data["bcu"] == "A"
    confounded = beyond.bcu_effects(data, {**MODEL, "predictors": [{"name": "in_a"}]}, SPEC, confidence=0.95)
    assert confounded["effect"].isna().all() and confounded["reports"].sum() == len(data)


def test_bcu_effects_leave_out_reports_with_no_borough_and_keep_a_row_for_a_bcu_without_reports():
    rng = np.random.default_rng(4)
    n = 6_000
    bcu = rng.choice(["Central East", "West Area", "North Area", "Unknown"], n)
    partner = rng.random(n) < 0.3
    withdrawn = rng.random(n) < np.where(bcu == "Unknown", 0.9, 0.3 + 0.3 * partner)
    data = pd.DataFrame({"bcu": bcu, "partner": partner, "withdrawn": withdrawn})
    effects = beyond.bcu_effects(data, MODEL, SPEC, confidence=0.99).set_index("bcu")
    assert "Unknown" not in effects.index  # not a BCU: its 90% withdrawal moves no BCU's effect
    assert len(effects) == 12 and effects.loc["South East", "reports"] == 0
    assert effects.loc["South East", ["effect", "shrunk", "raw_rate"]].isna().all()
    estimated = effects.dropna(subset=["effect"])
    assert sorted(estimated.index) == ["Central East", "North Area", "West Area"]
    assert estimated["effect"].sum() == pytest.approx(0, abs=1e-9)
    assert estimated["reports"].sum() == (bcu != "Unknown").sum()
    assert estimated["shrunk"].notna().all()
    # Two BCUs: stage one only (tau's posterior would be improper); one BCU: nothing, nothing raised.
    two = beyond.bcu_effects(data[data["bcu"].isin(["West Area", "North Area"])], MODEL, SPEC, 0.99).dropna(
        subset=["effect"]
    )
    assert len(two) == 2 and two["shrunk"].isna().all()
    alone = beyond.bcu_effects(data[data["bcu"].isin(["West Area", "Unknown"])], MODEL, SPEC, 0.99)
    assert alone["effect"].isna().all() and alone.set_index("bcu").loc["West Area", "reports"] > 0
    assert beyond.final_incidence(beyond.cumulative_incidence([], [], ["a"])).isna().all()


def test_the_hierarchical_model_reproduces_bda3s_eight_schools():
    # Gelman et al., BDA3, section 5.5, Table 5.3 (quantiles of 200 simulation draws, so good
    # to about +-1 in the middle and +-2 in the tails): tau 0.3, 2.3, 5.1, 8.8, 21 at 2.5%,
    # 25%, 50%, 75%, 97.5%; school A -2, 7, 10, 16, 31. The moment estimate of tau^2 is 0 here.
    y = np.array([28, 8, -3, 7, -1, 1, 18, 12.0])
    sigma = np.array([15, 10, 16, 11, 9, 11, 10, 18.0])
    assert beyond.moments_tau2(y, sigma**2) == 0
    wide, middle = beyond.hierarchical(y, sigma**2, 0.95), beyond.hierarchical(y, sigma**2, 0.5)
    assert [
        wide["tau"]["tau_low"],
        middle["tau"]["tau_low"],
        middle["tau"]["tau"],
        middle["tau"]["tau_high"],
        wide["tau"]["tau_high"],
    ] == pytest.approx([0.3, 2.3, 5.1, 8.8, 21], abs=0.6)
    assert [wide["low"][0], middle["low"][0], middle["high"][0], wide["high"][0]] == pytest.approx(
        [-2, 7, 16, 31], abs=2
    )
    assert (wide["high"] - wide["low"] > 15).all()  # no collapse although the moment estimate of tau^2 is 0


def test_with_no_bcu_effect_the_intervals_keep_their_width_and_their_level():
    # tau = 0 planted, 12 BCUs: empirical Bayes with the moment estimate would give zero-width
    # intervals whenever that estimate is 0; here no interval collapses, and a BCU is marked
    # (its 99% interval excludes 0) no more often than 1 time in 100.
    rng = np.random.default_rng(11)
    variance = rng.uniform(0.002, 0.006, 12)
    marked, zero_moments, narrowest = 0, 0, np.inf
    for _ in range(200):
        effect = rng.normal(0, np.sqrt(variance))
        pooled = beyond.hierarchical(effect - effect.mean(), variance, 0.99)
        marked += int(((pooled["low"] > 0) | (pooled["high"] < 0)).sum())
        zero_moments += beyond.moments_tau2(effect, variance) == 0
        narrowest = min(narrowest, float((pooled["high"] - pooled["low"]).min()))
    assert zero_moments > 50  # the case that used to collapse is common...
    assert narrowest > 0.05  # ...and no interval collapses
    assert marked / (200 * 12) < 0.01


def test_a_planted_tau_is_recovered_and_the_one_stage_model_agrees():
    rng = np.random.default_rng(7)
    bcus = [f"BCU {i:02d}" for i in range(24)]
    planted = rng.normal(0, 0.3, len(bcus))
    planted -= planted.mean()
    data = planted_bcus(7, bcus, planted, 48_000)
    effects = beyond.bcu_effects(data, MODEL, SPEC, confidence=0.95).set_index("bcu").loc[bcus]
    realised = float(np.std(planted, ddof=1))
    tau = effects.iloc[0]
    assert tau["tau_low"] < realised < tau["tau_high"]  # recovered within its sampling error
    assert tau["tau_high"] - tau["tau_low"] < 0.3
    # One stage: a random-intercept logistic model fitted at once (variational Bayes).
    one = BinomialBayesMixedGLM.from_formula(
        "withdrawn ~ partner",
        {"bcu": "0 + C(bcu)"},
        data.assign(withdrawn=data["withdrawn"].astype(float), partner=data["partner"].astype(float)),
    ).fit_vb(minim_opts={"maxiter": 2000})
    random = one.random_effects()["Mean"].to_numpy()
    assert np.exp(one.vcp_mean[0]) == pytest.approx(tau["tau"], abs=0.05)
    shrunk = effects["shrunk"].to_numpy()
    assert random - random.mean() == pytest.approx(shrunk - shrunk.mean(), abs=0.03)
    assert np.corrcoef(shrunk, planted)[0, 1] > 0.95
