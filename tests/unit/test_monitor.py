"""Chapter 11's tests of change: a planted change is detected, a null one is not."""
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


def test_a_planted_change_is_detected_and_nulls_are_not():
    rng = np.random.default_rng(4)
    n = 5_000
    areas = [f"area{i}" for i in range(20)]
    before = pd.DataFrame({"area": areas, "n": n, "events": rng.binomial(n, 0.4, 20)})
    shift = np.where(np.array(areas) == "area7", 0.06, 0.0)  # one planted change of +6 points
    after = pd.DataFrame({"area": areas, "n": n, "events": rng.binomial(n, 0.4 + shift)})
    result = monitor.compare_counts(before, after, ["area"], threshold=100).set_index("area")
    assert result.loc["area7", "flag"] == "up"
    assert result.drop("area7")["flag"].ne("").sum() <= 1  # 19 null areas: at most a chance flag at 99%
    # Over 500 null comparisons the test flags about 1% (99% confidence), not more.
    nulls = monitor.compare_counts(pd.DataFrame({"k": range(500), "n": n, "events": rng.binomial(n, 0.4, 500)}),
                                   pd.DataFrame({"k": range(500), "n": n, "events": rng.binomial(n, 0.4, 500)}),
                                   ["k"], threshold=100)
    assert (nulls["flag"] != "").mean() <= 0.025


def test_odds_ratio_change():
    before = pd.DataFrame({"term": ["a", "b"], "label": ["A", "B"], "b": [np.log(2.0), 0.1], "se": [0.05, 0.05],
                           "odds_ratio": [2.0, np.exp(0.1)]})
    after = before.assign(b=[np.log(3.0), 0.12], odds_ratio=[3.0, np.exp(0.12)])
    result = monitor.compare_odds_ratios(before, after).set_index("term")
    assert result.loc["a", "ratio"] == pytest.approx(1.5) and result.loc["a", "flag"] == "up"
    assert result.loc["b", "flag"] == ""
    # log(1.5) / sqrt(2 * 0.05^2) = 0.405465 / 0.070711 = 5.734
    assert result.loc["a", "z"] == pytest.approx(5.7341, abs=1e-4)


def test_counts_by_area_bcu_and_quality(tmp_path):
    cohort = pd.DataFrame({"bcu": ["A", "A", "B"], "da": [True, False, True],
                           "victim_withdrawal": [True, False, True]})
    areas = monitor.area_counts(cohort, ["da"])
    assert areas.values.tolist() == [["All crime", 2, 3], ["Domestic abuse", 2, 2]]
    assert monitor.bcu_counts(cohort).values.tolist() == [["A", 1, 2], ["B", 1, 1]]
    (tmp_path / "data_quality.csv").write_text("measure,description,count,base,share\nm,Missing thing,5,20,0.25\n")
    assert monitor.quality_counts(tmp_path).values.tolist() == [["Missing thing", 5, 20]]
