"""Chapter 06's generated findings follow the numbers: the same code states a difference one
way, the reverse way, or says it is not significant, on data built to each case."""

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportions_ztest

from helpers import findings

LABELS = {"all": "All crime", "da": "Domestic abuse", "stalking": "Stalking"}


def suspects(recorded, none, known, area="All crime") -> pd.DataFrame:
    """suspect_rates' long form for one area from (withdrawn, reports) pairs."""
    rows = {"Suspect recorded": recorded, "No suspect recorded": none, "Victim knows the suspect": known}
    return pd.DataFrame(
        [{"area": area, "group": g, "withdrawn": x, "reports": n, "rate": 100 * x / n} for g, (x, n) in rows.items()]
    )


def test_two_rates_is_the_pooled_z_test():
    r1, r2, p = findings.two_rates(470, 1000, 180, 1000)
    assert (r1, r2) == (47.0, 18.0)
    assert p == pytest.approx(proportions_ztest([470, 180], [1000, 1000])[1])
    assert np.isnan(findings.two_rates(0, 0, 5, 10)[2]) and np.isnan(findings.two_rates(0, 10, 0, 10)[2])


def test_suspect_sentence_default_direction():
    results = findings.suspect_results(suspects((470, 1000), (180, 1000), (300, 550)), "All crime", 100, 0.99)
    assert results["recorded"]["direction"] == findings.HIGHER
    # known 300/550 against recorded-but-not-known 170/450
    assert results["known"]["rate"] == pytest.approx(100 * 300 / 550)
    assert results["known"]["other"] == pytest.approx(100 * 170 / 450)
    text = findings.suspect_sentence(results, 0.99)
    assert "withdrawal was higher with a suspect recorded (47%) than with no suspect recorded (18%)" in text
    assert "two-proportion z-test, p < 0.001" in text


def test_suspect_sentence_reversed():
    results = findings.suspect_results(suspects((180, 1000), (470, 1000), (90, 500)), "All crime", 100, 0.99)
    text = findings.suspect_sentence(results, 0.99)
    assert results["recorded"]["direction"] == findings.LOWER
    assert "withdrawal was lower with a suspect recorded (18%) than with no suspect recorded (47%)" in text
    assert "higher with a suspect" not in text


def test_suspect_sentence_null_and_too_small():
    results = findings.suspect_results(suspects((400, 1000), (395, 1000), (200, 500)), "All crime", 100, 0.99)
    text = findings.suspect_sentence(results, 0.99)
    assert results["recorded"]["direction"] == findings.SAME
    assert "did not differ significantly at 99% confidence with a suspect recorded (40%)" in text
    assert "higher" not in text and "lower" not in text
    small = findings.suspect_results(suspects((40, 90), (10, 90), (20, 40)), "All crime", 100, 0.99)
    assert small["recorded"]["direction"] == findings.UNTESTED
    assert "too few reports to compare" in findings.suspect_sentence(small, 0.99)


def test_suspect_by_area_holm_and_reversal():
    frame = pd.concat(
        [
            suspects((470, 1000), (180, 1000), (300, 500), "Domestic abuse"),
            suspects((180, 1000), (470, 1000), (90, 500), "Stalking"),
            suspects((420, 1000), (400, 1000), (210, 500), "All crime"),
        ]
    )
    table, text = findings.suspect_by_area(frame, LABELS, 100, 0.99)
    assert table.set_index("area")["direction"].to_dict() == {
        "all": findings.SAME,
        "da": findings.HIGHER,
        "stalking": findings.LOWER,
    }
    assert "higher in domestic abuse, lower in stalking and not significantly different in all crime" in text
    assert (table["p_holm"] >= table["p"]).all()


def victims(rows) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"area": a, "dimension": d, "group": g, "reports": n, "withdrawn": x, "rate": 100 * x / n if n else np.nan}
            for a, d, g, x, n in rows
        ]
    )


def test_group_findings_leave_out_unknown_and_follow_the_data():
    rows = [
        ("all", "Sex", "Male", 3700, 10000),
        ("all", "Sex", "Female", 4300, 10000),
        ("all", "Sex", "Unknown", 10, 1000),  # would make males look higher than 'the rest'
        ("da", "Sex", "Male", 620, 1000),
        ("da", "Sex", "Female", 580, 1000),
        ("stalking", "Sex", "Male", 50, 100),
        ("stalking", "Sex", "Female", 50, 100),
    ]
    tests = findings.group_tests(victims(rows), "Sex", 100, 0.99)
    assert "Unknown" not in set(tests["group"])
    male = tests[tests["group"] == "Male"].set_index("area")
    assert male.loc["all", "direction"] == findings.LOWER
    assert male.loc["da", "direction"] == findings.SAME  # 62% against 58% is not significant at 99%
    assert male.loc["stalking", "direction"] == findings.SAME
    text = findings.group_sentence(tests, "Male", "male victims", LABELS, 0.99)
    assert text.startswith(
        "Against other victims whose sex was recorded, the withdrawal rate of male victims was lower in all crime "
        "and not significantly different in domestic abuse and stalking"
    )
    reversed_rows = [(a, d, g, n - x if g != "Unknown" else x, n) for a, d, g, x, n in rows]
    flipped = findings.group_tests(victims(reversed_rows), "Sex", 100, 0.99)
    assert flipped.set_index(["area", "group"]).loc[("all", "Male"), "direction"] == findings.HIGHER


def test_group_sentence_with_nothing_to_compare():
    tests = findings.group_tests(
        victims([("all", "Ethnicity", "Black", 5, 50), ("all", "Ethnicity", "White", 5, 50)]), "Ethnicity", 100, 0.99
    )
    assert findings.group_sentence(tests, "Black", "Black victims", LABELS, 0.99).startswith("There are too few")


def test_majority_late_early_and_null():
    late = pd.Series({"Adult sexual offences": 65.0, "Domestic abuse": 7.0, "Stalking": 52.0, "CSA": 80.0})
    timed = pd.Series({"Adult sexual offences": 1000, "Domestic abuse": 1000, "Stalking": 200, "CSA": 50})
    tests = findings.majority_tests(late, timed, 100, 0.99).set_index("area")
    assert tests["direction"].to_dict() == {
        "Adult sexual offences": findings.HIGHER,
        "Domestic abuse": findings.LOWER,
        "Stalking": findings.SAME,
        "CSA": findings.UNTESTED,
    }
    text = findings.majority_sentence(tests.reset_index(), "12 weeks", 0.99)
    assert text.startswith("Most withdrawals came after 12 weeks for adult sexual offences (65% late)")
    assert "most came within 12 weeks for domestic abuse" in text and "csa" not in text
    reversed_tests = findings.majority_tests(100 - late, timed, 100, 0.99)
    assert "after 12 weeks for domestic abuse" in findings.majority_sentence(reversed_tests, "12 weeks", 0.99)
    none = findings.majority_tests(late, timed * 0, 100, 0.99)
    assert findings.majority_sentence(none, "12 weeks", 0.99).startswith("There are too few")


def test_leader_sentence_significant_or_not():
    counts = pd.Series({"SYV": 5000, "Violence with injury": 50000, "Stalking": 50})
    shares = pd.Series({"SYV": 11.0, "Violence with injury": 8.0, "Stalking": 90.0})
    text = findings.leader_sentence(shares, counts, "judicial outcomes", 100, 0.99, overlap=True)
    assert text.startswith("The share of judicial outcomes is highest for syv (11%), significantly above the next")
    assert "approximate" in text and "stalking" not in text  # too small to rank
    close = findings.leader_sentence(
        pd.Series({"A": 77.0, "B": 76.0}), pd.Series({"A": 500, "B": 500}), "x", 100, 0.99, False
    )
    assert "not significantly above the next" in close
    assert findings.leader_sentence(shares, counts * 0, "x", 100, 0.99, False).startswith("No group")


def test_spread_and_pack_spread():
    rates = pd.DataFrame(
        {
            "group": ["Rape", "Other sexual offences"],
            "reports": [1000, 1000],
            "withdrawn": [690, 390],
            "rate": [69.0, 39.0],
        }
    )
    assert "highest for rape (69%) and lowest for other sexual offences (39%): significantly higher" in (
        findings.spread_sentence(rates, 100, 0.99)
    )
    rates["withdrawn"], rates["rate"] = [390, 385], [39.0, 38.5]
    assert "not significantly different" in findings.spread_sentence(rates, 100, 0.99)
    published = pd.DataFrame(
        {"breakdown": "hate", "group": ["Islamophobic", "Transgender", "Anti-Semitic"], "value": [40.0, 27.0, 27.0]}
    )
    assert findings.pack_spread(published, "hate") == (
        "The pack found withdrawal highest for islamophobic (40%) and lowest for transgender and anti-semitic (27%)."
    )


def test_bcu_and_pack_group_sentences():
    cells = pd.DataFrame(
        {
            "area": ["da", "stalking", "da"],
            "bcu": ["West Area", "West Area", "Central East"],
            "marker": ["higher", "lower", ""],
        }
    )
    assert (
        findings.bcu_sentence(cells, "West Area", LABELS) == "West Area: higher for domestic abuse; lower for stalking"
    )
    assert findings.bcu_sentence(cells, "Central East", LABELS) == "Central East: no crime area marked"
    published = pd.DataFrame(
        {"value": [40.0, 37.0, 59.0, 62.0, 46.0, 46.0], "statistic": "rate"},
        index=[
            "all|total|rate",
            "all|Sex|Male",
            "da|total|rate",
            "da|Sex|Male",
            "stalking|total|rate",
            "stalking|Sex|Male",
        ],
    )
    assert findings.pack_group_sentence(published, "Male", "male victims", LABELS) == (
        "In the pack's table, the rate for male victims is above the total in domestic abuse, below it in all crime "
        "and equal in stalking (no test published)."
    )
