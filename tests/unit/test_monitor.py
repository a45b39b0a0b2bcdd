"""Chapter 11's tests of change: each comparison's error rate from both sides (nulls flagged
about 1 in 100, a change at z = 3.5 found), and the run's family under Benjamini-Hochberg."""

import numpy as np
import pandas as pd
import pytest

from helpers import monitor


def test_two_proportion_known_answer():
    # 400/1000 then 460/1000: pooled 0.43, se = sqrt(0.43 * 0.57 * 0.002) = 0.0221405; z = 0.06 / 0.0221405 = 2.70997.
    change, z, p = monitor.two_proportion([400], [1000], [460], [1000])
    assert change[0] == pytest.approx(6.0)
    assert z[0] == pytest.approx(2.70997, abs=1e-5)
    assert p[0] == pytest.approx(0.006729, abs=1e-6)
    assert monitor.flag(change, p, [1000], [1000], 100).tolist() == ["up"]
    assert monitor.flag(change, p, [1000], [99], 100).tolist() == [""]  # too small to test


def test_each_comparison_flags_about_one_null_in_a_hundred():
    """2,400 unchanged rates (5,000 reports at 40% in both periods): the per-comparison test at
    99% flags between 0.3% and 2.5% of them. A standard error too large (the test too timid)
    would flag almost none; one too small, many more."""
    rng = np.random.default_rng(4)
    n, k = 5_000, 2_400
    nulls = monitor.compare_counts(
        pd.DataFrame({"k": range(k), "n": n, "events": rng.binomial(n, 0.4, k)}),
        pd.DataFrame({"k": range(k), "n": n, "events": rng.binomial(n, 0.4, k)}),
        ["k"],
        threshold=100,
    )
    assert 0.003 <= (nulls["flag"] != "").mean() <= 0.025


def test_a_change_of_three_and_a_half_standard_errors_is_found_four_times_in_five():
    """A planted change whose expected z is 3.5 (40% to 43.5% on 5,000 reports each; se 0.98 points):
    at 99% the test finds it with probability 1 - Phi(2.576 - 3.5) = 82%. Found in at least 80% of
    4,000 redraws (a test with a doubled standard error would find it 18% of the time)."""
    rng = np.random.default_rng(5)
    n, k = 5_000, 4_000
    se = np.sqrt(0.4175 * 0.5825 * 2 / n)
    shift = 3.5 * se
    change, z, p = monitor.two_proportion(rng.binomial(n, 0.4, k), n, rng.binomial(n, 0.4 + shift, k), n)
    assert np.mean(z) == pytest.approx(3.5, abs=0.1)
    assert 0.80 <= np.mean(p < 0.01) <= 0.86


def test_benjamini_hochberg_q_values_across_the_family():
    # p = 0.01, 0.04, 0.03, 0.005 (m = 4): sorted 0.005, 0.01, 0.03, 0.04 give p m / rank = 0.02, 0.02,
    # 0.04, 0.04 (each the minimum over higher ranks): q = 0.02, 0.04, 0.04, 0.02 in the original order.
    tables = {
        "a": pd.DataFrame({"p": [0.01, 0.04], "change_pp": [5.0, -5.0], "flag": ["", ""], "tested": True}),
        "b": pd.DataFrame(
            {"p": [0.03, 0.005, np.nan], "change_pp": [1.0, 5.0, 9.0], "flag": "", "tested": [True, True, False]}
        ),
    }
    out, summary = monitor.flag_family(tables)
    assert out["a"]["q"].tolist() == pytest.approx([0.02, 0.04])
    assert out["b"]["q"].tolist()[:2] == pytest.approx([0.04, 0.02]) and np.isnan(out["b"]["q"].iloc[2])
    # q <= 5% everywhere, but a 1-point change does not matter (2 points declared): not flagged.
    assert out["a"]["flag_fdr"].tolist() == ["up", "down"] and out["b"]["flag_fdr"].tolist() == ["", "up", ""]
    assert summary["size"] == 4 and summary["flagged"] == 3 and summary["family"] == {"a": 2, "b": 2}
    assert summary["expected_false"] == pytest.approx(0.05 * 3)
    assert summary["expected_false_if_none_changed"] == pytest.approx(0.01 * 4)


def test_a_run_family_keeps_false_discoveries_near_the_declared_rate_and_finds_planted_changes():
    """Runs of 43 comparisons (about a monitoring run: 9 areas, 12 BCUs, 15 quality measures, 7
    odds ratios), three with a planted change of 5 points, 40 unchanged. Over 300 runs the share
    of false flags among the flags (the false discovery proportion) averages at most 5% of 40/43,
    with room for chance; the planted changes are found nearly always."""
    rng = np.random.default_rng(6)
    n, false_share, found = 20_000, [], []
    shift = np.r_[np.full(3, 0.05), np.zeros(40)]
    for _ in range(300):
        table = monitor.compare_counts(
            pd.DataFrame({"k": range(43), "n": n, "events": rng.binomial(n, 0.4, 43)}),
            pd.DataFrame({"k": range(43), "n": n, "events": rng.binomial(n, 0.4 + shift)}),
            ["k"],
            threshold=100,
        )
        flagged = monitor.flag_family({"rates": table})[0]["rates"]["flag_fdr"].to_numpy() != ""
        false_share.append(flagged[3:].sum() / max(flagged.sum(), 1))
        found.append(flagged[:3].all())
    assert 0 < np.mean(false_share) <= 0.06
    assert np.mean(found) >= 0.99


def test_a_sure_change_too_small_to_matter_is_not_flagged():
    # 40.0% to 41.0% on a million reports each: z = 14, but 1 point is under the declared 2.
    table = monitor.compare_counts(
        pd.DataFrame({"k": [1], "n": 1_000_000, "events": 400_000}),
        pd.DataFrame({"k": [1], "n": 1_000_000, "events": 410_000}),
        ["k"],
        threshold=100,
    )
    out = monitor.flag_family({"t": table})[0]["t"]
    assert out["flag"].iloc[0] == "up" and out["q"].iloc[0] < 1e-10 and out["flag_fdr"].iloc[0] == ""


def test_odds_ratio_change():
    before = pd.DataFrame(
        {
            "term": ["a", "b"],
            "label": ["A", "B"],
            "b": [np.log(2.0), 0.1],
            "se": [0.05, 0.05],
            "odds_ratio": [2.0, np.exp(0.1)],
        }
    )
    after = before.assign(b=[np.log(3.0), 0.12], odds_ratio=[3.0, np.exp(0.12)])
    result = monitor.compare_odds_ratios(before, after).set_index("term")
    assert result.loc["a", "ratio"] == pytest.approx(1.5) and result.loc["a", "flag"] == "up"
    assert result.loc["b", "flag"] == ""
    # log(1.5) / sqrt(2 * 0.05^2) = 0.405465 / 0.070711 = 5.734
    assert result.loc["a", "z"] == pytest.approx(5.7341, abs=1e-4)
    # A driver not estimated in one period (its category absent) keeps its row, untested.
    gone = monitor.compare_odds_ratios(before, after[after["term"] == "a"]).set_index("term")
    assert list(gone.index) == ["a", "b"] and gone.loc["b", "label"] == "B"
    assert np.isnan(gone.loc["b", "ratio"]) and gone.loc["b", "flag"] == ""


def test_changes_as_shown_suppress_small_cells_and_dash_absent_ones():
    before = pd.DataFrame({"k": ["big", "small", "gone"], "events": [40, 5, 30], "n": [100, 10, 90]})
    after = pd.DataFrame({"k": ["big", "small", "gone"], "events": [60, 6, 0], "n": [100, 12, 0]})
    table = monitor.compare_counts(before, after, ["k"], threshold=100).set_index("k")
    shown = monitor.shown_changes(table, 100)
    assert shown.loc["big", ["rate_before", "rate_after", "change_pp"]].tolist() == pytest.approx([40, 60, 20])
    assert shown.loc["big", "flag"] == "▲ up"
    assert shown.loc["small", ["n_before", "rate_after", "change_pp", "flag"]].tolist() == ["N<100"] * 3 + ["-"]
    assert shown.loc["gone", ["n_before", "n_after", "rate_before", "change_pp"]].tolist() == ["N<100", "-", "-", "-"]
    assert list(monitor.both_shown(table, 100).index) == ["big"]
    assert list(table.index) == ["big", "small", "gone"]  # the tables' order, not sorted


def test_counts_by_area_bcu_and_quality(tmp_path):
    cohort = pd.DataFrame(
        {
            "bcu": ["Central East", "Central East", "Unknown"],
            "da": [True, False, True],
            "victim_withdrawal": [True, False, True],
        }
    )
    areas = monitor.area_counts(cohort, ["da"])
    assert areas.values.tolist() == [["All crime", 2, 3], ["Domestic abuse", 2, 2]]
    # Every BCU has a row (none: 0 of 0); reports with no borough are their own, named row, last.
    bcus = monitor.bcu_counts(cohort)
    assert len(bcus) == 13 and bcus.iloc[-1].tolist() == ["Borough not recorded", 1, 1]
    assert bcus.set_index("bcu").loc["Central East"].tolist() == [1, 2]
    assert bcus.set_index("bcu").loc["West Area"].tolist() == [0, 0]
    (tmp_path / "data_quality.csv").write_text("measure,description,count,base,share\nm,Missing thing,5,20,0.25\n")
    assert monitor.quality_counts(tmp_path).values.tolist() == [["Missing thing", 5, 20]]
