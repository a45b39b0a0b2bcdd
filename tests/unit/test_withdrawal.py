"""Chapter 06's statistics against hand-computed cases: the significance test behind the
BCU markers, funnel limits, the suppression rule at its boundary, breakdowns and speed."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportions_ztest

from helpers import withdrawal
from helpers.errors import InputError


def reports(n: int, withdrawn: int, **columns) -> pd.DataFrame:
    """n reports of which the first `withdrawn` were withdrawn, with the given column values."""
    base = {
        "victim_withdrawal": [i < withdrawn for i in range(n)],
        "da": True,
        "bcu": "A",
        "outcome_group": "Evidential difficulties",
        "crime_type": "Violence with injury",
        "major_crime": "Violence Against the Person",
        "minor_crime": "Violence with Injury",
        "offence_description": "Common assault",
        "suspect_recorded": True,
        "suspect_known": False,
        "victim_sex": "Male",
        "victim_ethnicity": "White",
        "victim_age_group": "25-64",
        "victim_age_detail": "25-64",
        "days_to_complete": 10,
        "knife_crime_feature": False,
    }
    frame = pd.DataFrame({k: v for k, v in {**base, **columns}.items()}, index=range(n))
    frame.loc[frame["victim_withdrawal"], "outcome_group"] = "Victim withdrawal"
    return frame


def test_z_test_known_answer():
    # 63 of 100 against 50%: z = 0.13 / sqrt(0.25 / 100) = 2.6; two-sided p = 2 (1 - Phi(2.6)) = 0.009322.
    z, p = withdrawal.z_test([63], [100], 0.5)
    assert z[0] == pytest.approx(2.6)
    assert p[0] == pytest.approx(0.0093224, abs=1e-7)


def test_significance_at_99_percent_and_where_the_sample_permits():
    marks = withdrawal.significance(
        [63, 62, 37, 38, 99, 70],
        [100, 100, 100, 100, 99, 100],
        [0.5, 0.5, 0.5, 0.5, 0.5, 0.04],
        threshold=100,
        confidence=0.99,
        min_expected=5,
    )
    # z = 2.6 and -2.6 pass |z| > 2.576; 2.4 does not; 99 reports are under the threshold (not tested
    # however extreme); n p0 = 4 is under min_expected, so 70% against 4% is not tested either.
    assert marks.tolist() == ["higher", "", "lower", "", "", ""]


@pytest.mark.parametrize(
    "rate, n, marker, shown",
    [
        (47.4, 100, "", "47%"),  # exactly at the threshold: shown
        (47.4, 99, "higher", "N<100"),  # one under: suppressed, marker and all
        (47.6, 5000, "higher", "48% ↑"),
        (12.0, 5000, "lower", "12% ↓"),
        (np.nan, 0, "", "-"),  # no reports: not applicable, as the pack prints it
    ],
)
def test_shown_rate_suppresses_under_the_threshold(rate, n, marker, shown):
    assert withdrawal.shown_rate(rate, n, 100, marker) == shown


def test_bcu_rates_hand_computed():
    # Area rate p0 = 200 / 400 = 0.5. A: 70/100, z = 0.2 / 0.05 = 4 (higher).
    # B: 130/300, z = (0.4333 - 0.5) / 0.028868 = -2.309, p = 0.021: not significant at 99%.
    cohort = pd.concat([reports(100, 70, bcu="A"), reports(300, 130, bcu="B")], ignore_index=True)
    cells = withdrawal.bcu_rates(cohort, ["da"], threshold=100).set_index(["area", "bcu"])
    assert cells.loc[("da", "A"), "z"] == pytest.approx(4.0)
    assert cells.loc[("da", "B"), "z"] == pytest.approx(-2.3094011)
    assert cells.loc[("da", "B"), "p"] == pytest.approx(0.020921, abs=1e-6)
    assert cells.xs("da").loc[["A", "B"], "marker"].tolist() == ["higher", ""]
    table = withdrawal.bcu_table(cells.reset_index(), threshold=100).set_index("BCU")
    assert table.loc["A", "Domestic abuse"] == "70% ↑"
    assert table.loc["B", "Domestic abuse"] == "43%"
    assert table.loc["All BCUs", "Domestic abuse"] == "50%"
    assert withdrawal.bcu_ranges(cells.reset_index(), 100)["da"] == pytest.approx(70 - 130 / 3)
    # With a threshold above A's 100 reports, A is suppressed and out of the range.
    assert (
        withdrawal.bcu_table(cells.reset_index(), threshold=101).set_index("BCU").loc["A", "Domestic abuse"] == "N<101"
    )
    assert withdrawal.bcu_ranges(cells.reset_index(), 101)["da"] == 0


def test_victim_table_suppresses_exactly_below_the_threshold():
    cohort = pd.concat([reports(100, 40, victim_sex="Male"), reports(99, 60, victim_sex="Female")], ignore_index=True)
    long = withdrawal.victim_rates(cohort, ["da"])
    table = withdrawal.victim_table(long, 100, ["Sex"]).set_index("Victim")
    assert table.loc["Sex: Male", "Domestic abuse"] == "40%"
    assert table.loc["Sex: Female", "Domestic abuse"] == "N<100"
    assert withdrawal.victim_table(long, 99, ["Sex"]).set_index("Victim").loc["Sex: Female", "All crime"] == "61%"
    total = long[(long["area"] == "da") & (long["dimension"] == "Total")].iloc[0]
    assert (total["reports"], total["withdrawn"]) == (199, 100)


def test_breakdown_groups_and_bad_rules():
    cohort = pd.concat(
        [
            reports(10, 5, offence_description="COMMON ASSAULT"),
            reports(10, 2, offence_description="Threats to kill", knife_crime_feature=True),
        ],
        ignore_index=True,
    )
    spec = {
        "id": "t",
        "area": "da",
        "groups": {
            "Assault": {"offences": ["Common assault"]},
            "Knife": {"any_of": ["knife_crime_feature"]},
            "Both": {"offences": ["Common assault"], "any_of": ["knife_crime_feature"]},
        },
    }
    rates = withdrawal.breakdown_rates(cohort, spec).set_index("group")
    assert rates["reports"].tolist() == [10, 10, 0]
    assert rates.loc["Assault", "rate"] == 50 and rates.loc["Knife", "rate"] == 20
    with pytest.raises(InputError, match=r"withdrawal.yml: breakdown t, group 'X': unknown key 'offence'"):
        withdrawal.breakdown_rates(cohort, {**spec, "groups": {"X": {"offence": ["Common assault"]}}})
    with pytest.raises(InputError, match="any_of names 'bcu', not a yes/no column"):
        withdrawal.breakdown_rates(cohort, {**spec, "groups": {"X": {"any_of": ["bcu"]}}})


def test_speed_bands_hand_computed(monkeypatch):
    cohort = pd.concat(
        [reports(1, 1, days_to_complete=d) for d in (0, 5, 90, 400)] + [reports(1, 0)], ignore_index=True
    )
    shares, summary = withdrawal.speed(cohort, ["da"])
    assert shares.loc["Domestic abuse"].dropna().to_dict() == {
        "Same day": 25.0,
        "1-7 days": 25.0,
        "1-4 weeks": 0.0,
        "4-12 weeks": 0.0,
        "12-26 weeks": 25.0,
        "26-52 weeks": 0.0,
        "Over a year": 25.0,
    }
    row = summary.set_index("area").loc["Domestic abuse"]
    assert (row["withdrawals"], row["median_days"], row["after_12_weeks"]) == (4, 47.5, 50.0)
    broken = {**withdrawal.config(), "speed_bands": {"Early": [0, 7], "Late": [9, 100]}}
    monkeypatch.setattr(withdrawal, "config", lambda: broken)
    with pytest.raises(InputError, match="the band after 'Early' must start at day 8"):
        withdrawal.speed(cohort, ["da"])


def test_outcome_mix_shares_sum_to_100():
    cohort = pd.concat([reports(4, 1), reports(4, 0, outcome_group="Judicial")], ignore_index=True)
    mix = withdrawal.outcome_mix(cohort, ["da"]).set_index("group")
    assert mix.loc["All crime", ["Judicial", "Evidential difficulties", "Victim withdrawal", "Other"]].tolist() == [
        50.0,
        37.5,
        12.5,
        0.0,
    ]
    assert mix.loc["Robbery", "reports"] == 0
    assert mix.loc["Robbery", ["Judicial", "Victim withdrawal"]].isna().all()  # no reports: no shares, not 0%


def test_a_withdrawal_with_no_completion_date_has_no_time():
    cohort = pd.concat(
        [reports(1, 1, days_to_complete=d) for d in (5, 90)] + [reports(2, 2, days_to_complete=np.nan)],
        ignore_index=True,
    )
    shares, summary = withdrawal.speed(cohort, ["da"])
    row = summary.set_index("area").loc["Domestic abuse"]
    assert (row["withdrawals"], row["timed"], row["median_days"], row["after_12_weeks"]) == (4, 2, 47.5, 50.0)
    assert shares.loc["Domestic abuse"].sum() == pytest.approx(100)


def test_reports_with_no_borough_are_their_own_row_never_tested_or_ranked():
    # London 500 reports at 50%; 'Unknown' (no borough) 200 at 80% would be marked higher if it were a BCU.
    cohort = pd.concat(
        [reports(150, 60, bcu="Central East"), reports(150, 60, bcu="West Area"), reports(200, 160, bcu="Unknown")],
        ignore_index=True,
    )
    cells = withdrawal.bcu_rates(cohort, ["da"], threshold=100)
    unknown = cells[cells["bcu"] == "Unknown"]
    assert (unknown["marker"] == "").all() and unknown["rate"].iloc[0] == 80
    assert cells["bcu"].iloc[-1] == "Unknown" and (cells["area"] == "da").sum() == 13  # every BCU, then Unknown
    table = withdrawal.bcu_table(cells, 100).set_index("BCU")
    assert table.loc["Borough not recorded", "Domestic abuse"] == "80%"
    assert table.loc["South East", "Domestic abuse"] == "-" and table.loc["All BCUs", "Domestic abuse"] == "56%"
    assert withdrawal.bcu_ranges(cells, 100)["da"] == 0  # the two BCUs at 40%: Unknown is not a BCU
    assert set(withdrawal.bcu_cells(cells, 100)["bcu"]) == {"Central East", "West Area"}
    assert withdrawal.not_recorded_note(cohort, 100).startswith("200 reports have no borough recorded")
    assert withdrawal.not_recorded(cohort, 201) == "fewer than 201" and withdrawal.not_recorded(cohort[:300], 100) == ""


def test_cells_as_shown_suppressed_or_dashed():
    frame = pd.DataFrame({"rate": [40.0, 50.0, np.nan], "reports": [100, 99, 0]})
    shown = withdrawal.shown_cells(frame, ["rate", "reports"], frame["reports"], 100)
    assert shown.values.tolist() == [[40.0, 100], ["N<100", "N<100"], ["-", "-"]]
    assert [withdrawal.shown_count(n, 100) for n in (0, 99, 1234)] == ["-", "N<100", "1,234"]
    assert withdrawal.percent(np.nan) == "not shown" and withdrawal.percent(47.4) == "47%"


def test_key_figures_quote_and_rank_only_cells_that_are_shown():
    # Domestic abuse: 300 reports at 60%; stalking: 20 reports, all withdrawn (a small cell);
    # robbery: none. The all-crime rate is 200 / 320.
    cohort = pd.concat(
        [
            reports(150, 90, bcu="Central East", stalking=False),
            reports(150, 90, bcu="West Area", stalking=False),
            reports(20, 20, da=False, stalking=True, bcu="Unknown", crime_type="Robbery"),
        ],
        ignore_index=True,
    )
    areas = ["da", "stalking"]
    cells = withdrawal.bcu_rates(cohort, areas, 100)
    _, speed_summary = withdrawal.speed(cohort, areas)
    figures = withdrawal.key_figures(
        withdrawal.outcome_mix(cohort, areas),
        withdrawal.suspect_rates(cohort, areas),
        cells,
        withdrawal.bcu_ranges(cells, 100),
        withdrawal.victim_rates(cohort, areas),
        speed_summary,
        areas,
        100,
    )
    assert figures["highest_areas"] == "domestic abuse (60%)"  # not stalking's 100% of 20 reports
    assert np.isnan(figures["rate_stalking"]) and figures["rate_all"] == pytest.approx(62.5)
    assert figures["lowest_type"] == "violence with injury"  # robbery (20 reports) is neither quoted nor ranked
    assert figures["most_higher"] == "No BCU" and figures["most_higher_n"] == 0
    assert np.isnan(figures["rate_female"]) and figures["rate_male"] == pytest.approx(62.5)
    assert figures["widest_range"] == "domestic abuse" and figures["widest_range_pp"] == 0
    assert withdrawal.extreme(pd.Series([np.nan])) == (None, pytest.approx(np.nan, nan_ok=True))


# ---- BCUs against the rest of London, adjusted for overdispersion and multiplicity ----------

# The BCG vaccine trials (Colditz et al. 1994), the standard worked example of a random-effects
# meta-analysis: treated and control cases and non-cases of 13 trials.
BCG = np.array(
    [
        [4, 119, 11, 128],
        [6, 300, 29, 274],
        [3, 228, 11, 209],
        [62, 13536, 248, 12619],
        [33, 5036, 47, 5761],
        [180, 1361, 372, 1079],
        [8, 2537, 10, 619],
        [505, 87886, 499, 87892],
        [29, 7470, 45, 7232],
        [17, 1699, 65, 1600],
        [186, 50448, 141, 27197],
        [5, 2493, 3, 2338],
        [27, 16886, 29, 17825],
    ],
    dtype=float,
)


def test_overdispersion_reproduces_the_published_dersimonian_laird_estimate():
    # Log relative risks and their variances; around the fixed-effect mean, unwinsorised, the
    # additive estimate is DerSimonian & Laird's: tau^2 = 0.3088 and Q = I phi = 152.23
    # (Viechtbauer 2010, J. Stat. Softw. 36(3), the BCG example).
    tpos, tneg, cpos, cneg = BCG.T
    y = np.log(tpos / (tpos + tneg)) - np.log(cpos / (cpos + cneg))
    v = 1 / tpos - 1 / (tpos + tneg) + 1 / cpos - 1 / (cpos + cneg)
    phi, tau2 = withdrawal.overdispersion(y, v, np.sum(y / v) / np.sum(1 / v))
    assert tau2 == pytest.approx(0.3088, abs=1e-4)
    assert 13 * phi == pytest.approx(152.23, abs=0.01)


def test_overdispersion_winsorises_the_extreme_z_scores():
    # Ten units of variance 1 around 0. Winsorising 10% at each end pulls -3 up to -1 and 10 down
    # to 2: phi = (1 + 1 + 1 + 4 + 4) / 10 = 1.1 and tau^2 = (10 x 1.1 - 9) / (10 - 100 / 10) = 2 / 9.
    z = np.array([-3, -1, 0, 1, 2, 10, 0, 0, 0, 0], dtype=float)
    assert withdrawal.overdispersion(z, np.ones(10), 0, 0.1) == pytest.approx((1.1, 2 / 9))
    assert withdrawal.overdispersion(z, np.ones(10), 0) == pytest.approx((11.5, 106 / 9))
    assert withdrawal.overdispersion(-z / 10, np.ones(10), 0) == pytest.approx((0.115, 0.0))  # underdispersed: 0
    assert np.isnan(withdrawal.overdispersion([1.0], [1.0], 0)[1])


def test_funnel_limits_exact_and_interpolated_between_counts():
    # Binomial(2, 0.5) at 95%: upper quantile r = 2 (F(1) = 0.75 < 0.975), interpolated down by
    # (1 - 0.975) / (1 - 0.75) = 0.1 count: (2 - 0.1) / 2 = 0.95. The lower one falls below 0: 0.
    low, high = withdrawal.funnel_limits(0.5, [2], 0.95)
    assert (low[0], high[0]) == pytest.approx((0.0, 0.95))
    # Large samples: the normal limits, 0.4 -/+ 3.0902 x sqrt(0.24 / 400) = 0.324305 and 0.475695.
    low, high = withdrawal.funnel_limits(0.4, [400], 0.998)
    assert (low[0], high[0]) == pytest.approx((0.324305, 0.475695), abs=0.003)
    # Overdispersed: the beta-binomial's rate variance p(1-p)/n + tau^2 (n-1)/n.
    counts = withdrawal.count_distribution(100, 0.4, 0.0009)
    assert counts.var() == pytest.approx(100 * 0.24 + 100 * 99 * 0.0009)
    # On 10,000 reports close to Spiegelhalter's normal limits, 0.4 -/+ 3.0902 sqrt(0.24 / 10,000 + 0.0009).
    half = 3.0902 * np.sqrt(0.24e-4 + 0.0009)
    low, high = withdrawal.funnel_limits(0.4, [10_000], 0.998, tau2=0.0009)
    assert (low[0], high[0]) == pytest.approx((0.4 - half, 0.4 + half), abs=0.005)


def test_against_the_rest_known_answer():
    # Units 70/100, then 144/300, 192/400, 144/300 (all 48%). Unit 0 against the rest: 0.7 against
    # 480/1000, pooled 550/1100 = 0.5: se = sqrt(0.25 (1/100 + 1/1000)) = 0.052440, z = 0.22 / 0.052440
    # = 4.1953. The other three do not vary (tau^2 = 0), so this is the two-proportion test.
    x, n = np.array([70, 144, 192, 144]), np.array([100, 300, 400, 300])
    z, p, tau2 = withdrawal.against_rest(x, n, [True, True, True, True], min_expected=5)
    assert tau2[0] == 0 and z[0] == pytest.approx(4.1953, abs=1e-4)
    assert z[0] == pytest.approx(proportions_ztest([70, 480], [100, 1000])[0])
    # With tau^2 from the others, the variance gains tau^2 (1 + (300^2 + 400^2 + 300^2) / 1000^2) = 1.34 tau^2.
    x = np.array([70, 110, 200, 170])
    z, p, tau2 = withdrawal.against_rest(x, n, [True] * 4, min_expected=5)
    rest = 480 / 1000
    assert tau2[0] > 0
    se = np.sqrt(0.25 * (1 / 100 + 1 / 1000) + 1.34 * tau2[0])
    assert z[0] == pytest.approx((0.7 - rest) / se)
    assert p[0] == pytest.approx(2 * stats.t.sf(abs(z[0]), 2))  # t with units - 2 degrees of freedom


def test_against_the_rest_is_exact_for_a_small_cell():
    # 1 withdrawal of 10 against three units at 50%: n p = 10 x 301/1210 < 5, so exact:
    # 2 P(X <= 1) for X ~ Binomial(10, 300/1200 = 0.25)... with the rest unoverdispersed.
    x, n = np.array([1, 100, 100, 100]), np.array([10, 400, 400, 400])
    z, p, tau2 = withdrawal.against_rest(x, n, [True] * 4, min_expected=5)
    assert np.isnan(z[0]) and tau2[0] == 0
    assert p[0] == pytest.approx(min(1, 2 * stats.binom.cdf(1, 10, 0.25)))


def simulated_area(rng, tau, planted=0.0):
    """Twelve BCUs of London's sizes, true rates 55% plus a real BCU effect (sd tau); BCU 0
    moved by `planted`."""
    sizes = np.array([2200, 1700, 2200, 2700, 2400, 2100, 2000, 2500, 2600, 2600, 2200, 2900])
    rates = 0.55 + rng.normal(0, tau, 12)
    rates[0] += planted
    return rng.binomial(sizes, rates), sizes


def test_the_adjusted_test_flags_about_one_in_a_hundred_real_bcu_differences_and_finds_an_outlier():
    """BCUs that differ only as BCUs do (sd 3 points): the pack's test flags most of them; the
    adjusted test, per cell at 1%, between 0.3% and 2.5% (not too many, not too few); a BCU
    planted 18 points out is found at least four times in five."""
    rng = np.random.default_rng(7)
    adjusted, pack, found = [], [], []
    for _ in range(250):
        x, n = simulated_area(rng, 0.03)
        adjusted.append(withdrawal.against_rest(x, n, np.ones(12, bool), 5)[1] < 0.01)
        pack.append(withdrawal.z_test(x, n, x.sum() / n.sum())[1] < 0.01)
        x, n = simulated_area(rng, 0.03, planted=0.18)
        found.append(withdrawal.against_rest(x, n, np.ones(12, bool), 5)[1][0] < 0.01)
    assert 0.003 <= np.mean(adjusted) <= 0.025
    assert np.mean(pack) > 0.3
    assert np.mean(found) >= 0.8


def test_bcu_rates_mark_both_ways_and_count_each_method():
    # Twelve BCUs of 400 reports at 50%, except Central East at 80%: both methods mark it.
    names = withdrawal.bcus()
    cohort = pd.concat(
        [reports(400, 320 if b == "Central East" else 200 + 4 * i, bcu=b) for i, b in enumerate(names)],
        ignore_index=True,
    )
    cells = withdrawal.bcu_rates(cohort, ["da"], threshold=100)
    east = cells[(cells["area"] == "da") & (cells["bcu"] == "Central East")].iloc[0]
    assert (east["marker"], east["adjusted"]) == ("higher", "higher")
    assert east["p_holm"] == pytest.approx(min(1, 12 * east["p_rest"]))  # Holm's first step is Bonferroni
    counts = withdrawal.method_counts(cells).set_index("area")
    assert counts.loc["da", ["tested", "adjusted_higher", "adjusted_lower"]].tolist() == [12, 1, 0]
    assert counts.loc["da", "pack_higher"] >= 1
    table = withdrawal.bcu_table(cells, 100).set_index("BCU")
    assert table.loc["Central East", "Domestic abuse"] == "80% ↑ ▲"


def test_an_area_with_too_few_bcus_is_not_adjusted_and_counts_none():
    # Domestic abuse in two BCUs only: no between-BCU variance can be estimated from one other BCU.
    cohort = pd.concat([reports(400, 200, bcu="Central East"), reports(400, 300, bcu="West Area")], ignore_index=True)
    cells = withdrawal.bcu_rates(cohort, ["da"], threshold=100)
    assert (cells["adjusted"] == "").all() and cells["tau2"].isna().all()
    counts = withdrawal.method_counts(cells).set_index("area")
    assert counts.loc["da", ["tested", "adjusted_higher"]].tolist() == [0, 0] and np.isnan(counts.loc["da", "phi"])


def test_the_pack_s_bcu_table_beside_the_run_keeps_every_published_row():
    cells = pd.DataFrame(
        {
            "area": ["da", "da"],
            "bcu": ["Central East", "West Area"],
            "reports": [1000, 50],
            "withdrawn": [400, 30],
            "rate": [40.0, 60.0],
            "marker": ["lower", ""],
            "adjusted": ["lower", ""],
        }
    )
    beside = withdrawal.bcu_beside_pack(cells, 100)
    assert list(beside.index) == list(withdrawal.published.load("withdrawal_by_bcu").index)
    assert beside.loc["da|Central East", "pack"] == "47% ↓"  # as published, with its marker
    assert beside.loc["da|Central East", "run"] == "40% ↓ ▼"
    assert beside.loc["da|West Area", "run"] == "N<100"
    assert beside.loc["da|All BCUs", "run"] == "41%"  # 430 of 1,050
    assert beside.loc["csa|Central East", "run"] == "-"  # no cell in this run


def test_the_pack_s_victim_table_beside_the_run_keeps_every_published_row():
    victims = pd.DataFrame(
        {
            "area": ["all", "all", "all", "csa"],
            "dimension": ["Total", "Sex", "Sex", "Age detail"],
            "group": ["Total", "Male", "Female", "1-9"],
            "reports": [2000, 900, 1100, 80],
            "withdrawn": [800, 300, 500, 20],
            "rate": [40.0, 100 * 300 / 900, 100 * 500 / 1100, 25.0],
        }
    )
    beside = withdrawal.victim_beside_pack(victims, 100)
    assert list(beside.index) == list(withdrawal.published.load("withdrawal_by_victim").index)
    assert beside.loc["all|total|n", ["pack", "run"]].tolist() == ["273,298", "2,000"]
    assert beside.loc["all|total|rate", "run"] == "40%" and beside.loc["all|Sex|Male", "run"] == "33%"
    assert beside.loc["csa|Age detail|1-9", "run"] == "N<100"
    assert beside.loc["csa|Age|65+", "pack"] == "suppressed (N<100)"
    assert withdrawal.victim_shares(victims).round(1).to_dict() == {"Male": 45.0, "Female": 55.0}
