"""Chapter 06's statistics against hand-computed cases: the significance test behind the
BCU markers, funnel limits, the suppression rule at its boundary, breakdowns and speed."""
import numpy as np
import pandas as pd
import pytest

from helpers import withdrawal
from helpers.errors import InputError


def reports(n: int, withdrawn: int, **columns) -> pd.DataFrame:
    """n reports of which the first `withdrawn` were withdrawn, with the given column values."""
    base = {"victim_withdrawal": [i < withdrawn for i in range(n)], "da": True, "bcu": "A",
            "outcome_group": "Evidential difficulties", "crime_type": "Violence with injury",
            "major_crime": "Violence Against the Person", "minor_crime": "Violence with Injury",
            "offence_description": "Common assault", "suspect_recorded": True, "suspect_known": False,
            "victim_sex": "Male", "victim_ethnicity": "White", "victim_age_group": "25-64",
            "victim_age_detail": "25-64", "days_to_complete": 10, "knife_crime_feature": False}
    frame = pd.DataFrame({k: v for k, v in {**base, **columns}.items()}, index=range(n))
    frame.loc[frame["victim_withdrawal"], "outcome_group"] = "Victim withdrawal"
    return frame


def test_z_test_known_answer():
    # 63 of 100 against 50%: z = 0.13 / sqrt(0.25 / 100) = 2.6; two-sided p = 2 (1 - Phi(2.6)) = 0.009322.
    z, p = withdrawal.z_test([63], [100], 0.5)
    assert z[0] == pytest.approx(2.6)
    assert p[0] == pytest.approx(0.0093224, abs=1e-7)


def test_significance_at_99_percent_and_where_the_sample_permits():
    marks = withdrawal.significance([63, 62, 37, 38, 99, 70], [100, 100, 100, 100, 99, 100],
                                    [0.5, 0.5, 0.5, 0.5, 0.5, 0.04], threshold=100, confidence=0.99, min_expected=5)
    # z = 2.6 and -2.6 pass |z| > 2.576; 2.4 does not; 99 reports are under the threshold (not tested
    # however extreme); n p0 = 4 is under min_expected, so 70% against 4% is not tested either.
    assert marks.tolist() == ["higher", "", "lower", "", "", ""]


def test_funnel_limits_known_answer():
    # 99.8%: z = 3.090232; p0 = 0.4, n = 400: se = sqrt(0.24 / 400) = 0.0244949, half-width 0.075695.
    low, high = withdrawal.funnel_limits(0.4, [400], 0.998)
    assert (low[0], high[0]) == pytest.approx((0.324305, 0.475695), abs=1e-6)
    low, high = withdrawal.funnel_limits(0.02, [10], 0.95)
    assert low[0] == 0.0  # kept within 0-1


@pytest.mark.parametrize("rate, n, marker, shown", [
    (47.4, 100, "", "47%"),        # exactly at the threshold: shown
    (47.4, 99, "higher", "N<100"),  # one under: suppressed, marker and all
    (47.6, 5000, "higher", "48% ↑"),
    (12.0, 5000, "lower", "12% ↓"),
    (np.nan, 0, "", "-"),            # no reports: not applicable, as the pack prints it
])
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
    assert cells.xs("da")["marker"].tolist() == ["higher", ""]
    table = withdrawal.bcu_table(cells.reset_index(), threshold=100).set_index("BCU")
    assert table.loc["A", "Domestic abuse"] == "70% ↑"
    assert table.loc["B", "Domestic abuse"] == "43%"
    assert table.loc["All BCUs", "Domestic abuse"] == "50%"
    assert withdrawal.bcu_ranges(cells.reset_index(), 100)["da"] == pytest.approx(70 - 130 / 3)
    # With a threshold above A's 100 reports, A is suppressed and out of the range.
    assert withdrawal.bcu_table(cells.reset_index(), threshold=101).set_index("BCU").loc["A", "Domestic abuse"] == "N<101"
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
    cohort = pd.concat([reports(10, 5, offence_description="COMMON ASSAULT"),
                        reports(10, 2, offence_description="Threats to kill", knife_crime_feature=True)],
                       ignore_index=True)
    spec = {"id": "t", "area": "da", "groups": {"Assault": {"offences": ["Common assault"]},
                                               "Knife": {"any_of": ["knife_crime_feature"]},
                                               "Both": {"offences": ["Common assault"], "any_of": ["knife_crime_feature"]}}}
    rates = withdrawal.breakdown_rates(cohort, spec).set_index("group")
    assert rates["reports"].tolist() == [10, 10, 0]
    assert rates.loc["Assault", "rate"] == 50 and rates.loc["Knife", "rate"] == 20
    with pytest.raises(InputError, match=r"withdrawal.yml: breakdown t, group 'X': unknown key 'offence'"):
        withdrawal.breakdown_rates(cohort, {**spec, "groups": {"X": {"offence": ["Common assault"]}}})
    with pytest.raises(InputError, match="any_of names 'bcu', not a yes/no column"):
        withdrawal.breakdown_rates(cohort, {**spec, "groups": {"X": {"any_of": ["bcu"]}}})


def test_speed_bands_hand_computed(monkeypatch):
    cohort = pd.concat([reports(1, 1, days_to_complete=d) for d in (0, 5, 90, 400)] + [reports(1, 0)],
                       ignore_index=True)
    shares, summary = withdrawal.speed(cohort, ["da"])
    assert shares.loc["Domestic abuse"].dropna().to_dict() == {
        "Same day": 25.0, "1-7 days": 25.0, "1-4 weeks": 0.0, "4-12 weeks": 0.0, "12-26 weeks": 25.0,
        "26-52 weeks": 0.0, "Over a year": 25.0}
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
        50.0, 37.5, 12.5, 0.0]
    assert mix.loc["Robbery", "reports"] == 0
