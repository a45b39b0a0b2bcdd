"""Chapter 07's drivers specific to a crime area: a test of the difference between the area's
coefficient and the all-crime model's (its error rate from both sides, and its agreement
with the area x driver interaction of a pooled model), and Benjamini-Hochberg across them."""

import base64

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from helpers import drivers


def test_wald_difference_known_answer():
    # b 1.0 (se 0.3) in the area, 0.5 (se 0.1) in all crime: var = 0.09 - 0.01 = 0.08, z = 0.5 / 0.28284 = 1.7678.
    z, p = drivers.wald_difference([1.0, 0.5], [0.3, 0.1], [0.5, 0.5], [0.1, 0.2])
    assert z[0] == pytest.approx(1.767767) and p[0] == pytest.approx(0.077100, abs=1e-6)
    assert np.isnan(z[1])  # the area's coefficient no less precise than all crime's: no test


def fits(rng, n=6_000, share=0.3, difference=0.0):
    """One sample: a driver x (30% of reports) and a covariate c, an area of `share` of the
    reports with its own baseline; the driver's log odds ratio 0.6, plus `difference` in the
    area. Returns the area model's and the all-crime model's (b, se) for x, and the z of the
    area x driver interaction in a fully interacted pooled model."""
    area = rng.random(n) < share
    x, c = (rng.random(n) < 0.3).astype(float), (rng.random(n) < 0.5).astype(float)
    eta = -0.3 + 0.4 * area + (0.6 + difference * area) * x + 0.5 * c
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    whole = sm.Logit(y, np.column_stack([np.ones(n), x, c, area])).fit(disp=0)
    local = sm.Logit(y[area], np.column_stack([np.ones(area.sum()), x[area], c[area]])).fit(disp=0)
    pooled = sm.Logit(y, np.column_stack([np.ones(n), x, c, area, area * x, area * c])).fit(disp=0)
    return (local.params[1], local.bse[1]), (whole.params[1], whole.bse[1]), pooled.tvalues[4]


def test_the_difference_test_holds_its_level_finds_a_real_difference_and_matches_the_interaction():
    """200 samples with the same effect in the area and elsewhere: flagged at 5% between 2% and
    9% of the time (a test that ignored the shared reports, se_area^2 + se_all^2, would flag far
    fewer); a difference of 0.6 in the log odds ratio is found at least 80% of the time; and the
    z agrees with the pooled model's interaction z."""
    rng = np.random.default_rng(8)
    null, naive, pooled = [], [], []
    for _ in range(200):
        (b, se), (b_all, se_all), z_interaction = fits(rng)
        z, p = drivers.wald_difference(b, se, b_all, se_all)
        null.append(p < 0.05)
        naive.append(abs(b - b_all) / np.hypot(se, se_all) > 1.96)
        pooled.append((float(z), z_interaction))
    assert 0.02 <= np.mean(null) <= 0.09
    assert np.mean(naive) < np.mean(null) / 2
    assert np.corrcoef(np.array(pooled).T)[0, 1] > 0.95
    found = [drivers.wald_difference(*a, *b)[1] < 0.05 for a, b, _ in (fits(rng, difference=0.6) for _ in range(60))]
    assert np.mean(found) >= 0.8


SPEC = {
    "predictor_sets": {},
    "models": [
        {"id": "3", "area": "all", "predictors": [{"name": "venue", "reference": "Street"}, {"name": "arrested"}]},
        {
            "id": "7",
            "area": "adult_sexual",
            "predictors": [{"name": "venue", "reference": "Street"}, {"name": "arrested"}],
        },
        {"id": "4", "area": "da", "predictors": [{"name": "venue", "reference": "Home"}, {"name": "arrested"}]},
        {"id": "5", "predictors": [{"name": "arrested"}]},
    ],
}


def term(model_id, name, variable, b, se, n=500):
    return {"model_id": model_id, "term": name, "variable": variable, "label": name, "df": 1, "n": n, "b": b, "se": se}


def test_area_differences_compare_like_with_like_and_control_false_discoveries():
    terms = pd.DataFrame(
        [
            term("3", "venue=Home", "venue", 0.5, 0.05),
            term("3", "arrested", "arrested", -1.0, 0.05),
            term("7", "venue=Home", "venue", 1.5, 0.2),
            term("7", "arrested", "arrested", -1.1, 0.2),
            term("4", "venue=Street", "venue", -0.5, 0.2),
            term("4", "arrested", "arrested", -1.0, 0.2, n=50),
            term("5", "arrested", "arrested", 3.0, 0.2),
        ]
    )
    table = drivers.area_differences(terms, threshold=100, spec=SPEC).set_index(["model_id", "term"])
    # Model 4 measures venue against another reference and its arrest term has 50 reports; model 5 is
    # no crime area's: only model 7's two terms are compared.
    assert list(table.index) == [("7", "venue=Home"), ("7", "arrested")]
    z = (1.5 - 0.5) / np.sqrt(0.2**2 - 0.05**2)  # 5.164
    assert table.loc[("7", "venue=Home"), "z"] == pytest.approx(z)
    # Benjamini-Hochberg over the two: the larger p-value (arrest, z = -0.516) keeps its own, the smaller doubles.
    p = table["p"].to_numpy()
    assert table["q"].tolist() == pytest.approx([2 * p[0], p[1]])
    assert table["specific"].tolist() == [True, False]
    assert (
        drivers.phrase_specific(table[table["specific"]])
        == "venue=Home (here 4.5x more likely; all crime 1.6x more likely)"
    )


# The sentences and comparisons of chapter 07: written from the run's numbers, reversed when
# the numbers are reversed, and saying so when a difference is not significant.

KEY_SPEC = {
    "predictor_sets": {},
    "key_findings": {"non_substantive": ["Unknown", "Not recorded"], "include_non_substantive": False},
    "models": [
        {
            "id": "3",
            "area": "all",
            "predictors": [{"name": "venue", "reference": "Street"}, {"name": "arrested"}],
        },
        {"id": "15", "predictors": [{"name": "venue", "reference": "Street"}, {"name": "arrested"}]},
        {"id": "16", "predictors": [{"name": "venue", "reference": "Street"}, {"name": "arrested"}]},
    ],
}


def fitted(model_id, name, b, se=0.1, n=500, variable=None, category=None):
    """One fitted term as helpers.models writes it."""
    variable = variable or name.partition("=")[0]
    category = category if category is not None else (name.partition("=")[2] or None)
    odds = float(np.exp(b))
    p = float(2 * drivers.stats.norm.sf(abs(b / se)))
    return {
        "model_id": model_id,
        "term": name,
        "variable": variable,
        "category": category,
        "label": name,
        "df": 1,
        "n": n,
        "b": b,
        "se": se,
        "p": p,
        "odds_ratio": odds,
        "ci_low": odds * np.exp(-1.96 * se),
        "ci_high": odds * np.exp(1.96 * se),
        "times": max(odds, 1 / odds),
        "direction": "more" if odds >= 1 else "less",
        "significant": p < 0.05,
    }


def test_key_findings_leave_out_unknown_unless_asked_and_say_when_none_is_significant():
    terms = pd.DataFrame(
        [
            fitted("3", "venue=Unknown", 2.0),
            fitted("3", "venue=Home", 0.7),
            fitted("3", "arrested", -1.0),
            fitted("3", "venue=Shop", 0.05),  # not significant
        ]
    )
    key = drivers.findings(terms, "3", 100, spec=KEY_SPEC)
    assert list(key["more"].index) == ["venue=Home"] and list(key["less"].index) == ["arrested"]
    asked = {**KEY_SPEC, "key_findings": {**KEY_SPEC["key_findings"], "include_non_substantive": True}}
    assert list(drivers.findings(terms, "3", 100, spec=asked)["more"].index) == ["venue=Unknown", "venue=Home"]
    null = pd.DataFrame([fitted("3", "venue=Home", 0.01), fitted("3", "arrested", -0.01)])
    key = drivers.findings(null, "3", 100, spec=KEY_SPEC)
    assert drivers.phrase(key["more"]) == drivers.phrase(key["less"]) == "none significant at 95%"


def pack_rows(*rows):
    return pd.DataFrame(
        [{"key": k, "model_id": m, "term": t, "direction": d, "measure": k} for k, m, t, d in rows]
    ).set_index("key")


def test_the_pack_beside_the_run_follows_the_run_and_says_why_there_is_no_estimate():
    pack = pack_rows(
        ("home", "3", "venue=Home", "more"),
        ("arrest", "3", "arrested", "less"),
        ("shop", "3", "venue=Shop", "more"),
        ("street", "3", "venue=Street", "more"),
        ("pub", "3", "venue=Pub", "more"),
        ("small", "3", "venue=Small", "more"),
        ("photos", "3", "", "less"),
        ("age", "3", "victim_age=1-9", "less"),
    )
    terms = pd.DataFrame(
        [
            fitted("3", "venue=Home", 0.7),
            fitted("3", "arrested", -1.0),
            fitted("3", "venue=Shop", 0.01),
            fitted("3", "venue=Small", 0.7, n=50),
        ]
    )
    here = drivers.beside(pack, terms, 100, KEY_SPEC)["here"]
    assert here.to_dict() == {
        "home": drivers.SAME,
        "arrest": drivers.SAME,
        "shop": drivers.NOT_SIGNIFICANT,
        "street": "the reference category of this book's model 3",
        "pub": "not estimated on this run",
        "small": "fewer than 100 reports",
        "photos": drivers.NOT_MODELLED,
        "age": "not in this book's model 3",
    }
    reversed_terms = terms.assign(b=-terms["b"], odds_ratio=1 / terms["odds_ratio"])
    reversed_terms["direction"] = np.where(reversed_terms["odds_ratio"] >= 1, "more", "less")
    table = drivers.beside(pack, reversed_terms, 100, KEY_SPEC)
    assert table.loc[["home", "arrest"], "here"].tolist() == [drivers.OPPOSITE, drivers.OPPOSITE]
    assert drivers.agreement_sentence(table, "for all crime") == (
        "Of the pack's 8 published drivers for all crime, this run estimates 3: 0 significant at 95% in the "
        "same direction as the pack's, 2 significant in the opposite direction and 1 not significant; "
        "5 have no estimate here (the table says why)."
    )
    assert (
        drivers.agreement_sentence(table.iloc[5:], "x")
        == "This run estimates none of the pack's 3 published drivers x."
    )


def test_contrasts_test_the_difference_on_independent_samples_and_the_sentence_follows_it():
    terms = pd.DataFrame(
        [
            fitted("15", "venue=Home", 1.8, se=0.1),
            fitted("16", "venue=Home", 0.9, se=0.05),
            fitted("15", "arrested", -1.0, se=0.2),
            fitted("16", "arrested", -1.1, se=0.2),
            fitted("15", "venue=Shop", 0.5, n=50),
            fitted("16", "venue=Shop", 0.5),
        ]
    )
    table = drivers.contrasts(terms, [("15", "16")], 100, KEY_SPEC).set_index("term")
    assert list(table.index) == ["venue=Home", "arrested"]  # the shop has too few reports in model 15
    assert table.loc["venue=Home", "z"] == pytest.approx(0.9 / np.hypot(0.1, 0.05))
    p = table["p"].to_numpy()
    assert table["q"].tolist() == pytest.approx([2 * p[0], p[1]])
    assert table["differs"].tolist() == [True, False]
    home = table.loc["venue=Home"]
    a, b = "when no suspect is recorded", "when one is"
    stronger = drivers.contrast_sentence("Home", a, home["odds_ratio_a"], b, home["odds_ratio_b"], home["q"])
    assert stronger.startswith("Home is a stronger driver when no suspect is recorded (6.0x more likely, against")
    assert stronger.endswith("the difference is significant (q = 1.7e-15).")
    swapped = drivers.contrast_sentence("Home", a, home["odds_ratio_b"], b, home["odds_ratio_a"], home["q"])
    assert swapped.startswith("Home is a stronger driver when one is (6.0x more likely")
    opposite = drivers.contrast_sentence("Home", a, 2.0, b, 0.5, 0.001)
    assert opposite == (
        "Home makes withdrawal 2.0x more likely when no suspect is recorded but 2.0x less likely when one is; "
        "the difference is significant (q = 0.001)."
    )
    arrest = table.loc["arrested"]
    null = drivers.contrast_sentence("Arrest", a, arrest["odds_ratio_a"], b, arrest["odds_ratio_b"], arrest["q"])
    assert "the difference is not significant (q = 0.72)" in null and "stronger" not in null
    assert (
        drivers.contrast_sentence("Shop", a, np.nan, b, 1.2, np.nan)
        == "Shop: not estimated in both models on this run."
    )


def test_likeness_counts_agreement_and_its_sentence_turns_with_the_data():
    model_3 = [fitted("3", "venue=Home", 0.7), fitted("3", "arrested", -1.0), fitted("3", "venue=Shop", 0.5)]
    same = [fitted("19", t["term"], t["b"] / 2) for t in model_3[:2]] + [fitted("19", "venue=Shop", 0.01)]
    counts = drivers.likeness(pd.DataFrame(model_3 + same), "3", "19", 100)
    assert counts == {"compared": 3, "both": 2, "same": 2, "opposite": 0, "only_a": 1, "only_b": 0}
    assert drivers.likeness_sentence(counts, "model 3", "model 19") == (
        "Of the 3 drivers in both models, 2 are significant in both: all point the same way; "
        "1 are significant only in model 3 and 0 only in model 19."
    )
    flipped = [fitted("19", t["term"], -t["b"]) for t in model_3]
    counts = drivers.likeness(pd.DataFrame(model_3 + flipped), "3", "19", 100)
    assert counts["opposite"] == 3 and "none points the same way" in drivers.likeness_sentence(counts, "a", "b")
    null = [fitted("19", t["term"], 0.0) for t in model_3]
    sentence = drivers.likeness_sentence(drivers.likeness(pd.DataFrame(model_3 + null), "3", "19", 100), "a", "b")
    assert sentence.startswith("Of the 3 drivers in both models, none is significant in both")


def test_reach_says_where_a_driver_is_significant_and_which_way():
    terms = pd.DataFrame([fitted("4", "arrested", -1.0), fitted("7", "arrested", -0.8), fitted("9", "arrested", 0.01)])
    assert drivers.reach_sentence(terms, "arrested", "Arrest", ["4", "7", "9"], 100) == (
        "Arrest: significant in 2 of the 3 models on this run (less likely in each)."
    )
    flipped = terms.assign(direction=["more", "less", "less"])
    assert "(less likely in 1, more likely in 1)" in drivers.reach_sentence(
        flipped, "arrested", "Arrest", ["4", "7", "9"], 100
    )
    assert drivers.reach_sentence(terms.iloc[2:], "arrested", "Arrest", ["9"], 100) == (
        "Arrest: significant in none of the 1 models on this run."
    )


def test_the_pack_lists_are_shortened_with_their_figures():
    rows = pd.DataFrame(
        {
            "measure": [f"Driver {i}: early withdrawal {1 + i / 10:g}x more likely" for i in range(5)],
            "times": [1 + i / 10 for i in range(5)],
        }
    )
    assert drivers.listed(rows) == "Driver 0 (1x); Driver 1 (1.1x); Driver 2 (1.2x); and 2 more"
    words = pd.DataFrame({"measure": ["Venue: Hotel/hostel: early withdrawal more likely"], "times": [""]})
    assert drivers.listed(words) == "Venue: Hotel/hostel" and drivers.listed(words.iloc[:0]) == "none"


def test_a_download_carries_the_whole_table():
    frame = pd.DataFrame({"model_id": ["3"], "b": [0.123456789]})
    link = drivers.download(frame, "all.csv", "Every coefficient")
    data = link.data.split("base64,")[1].split('"')[0]
    assert base64.b64decode(data).decode() == "model_id,b\n3,0.123457\n" and 'download="all.csv"' in link.data


PUBLISHED_DRIVERS = ["drivers_key_findings", "drivers_area_findings", "drivers_early_late", "drivers_contrasts"]


@pytest.mark.parametrize("name", PUBLISHED_DRIVERS)
def test_the_pack_drivers_name_terms_of_declared_models_with_consistent_odds_ratios(name):
    from helpers import published
    from helpers.models import load_spec

    spec = load_spec()
    variables = set(spec["labels"])
    ids = {str(m["id"]) for m in spec["models"]}
    table = published.load(name)
    assert set(table["model_id"].astype(str)) <= ids
    assert set(table["term"].str.partition("=")[0]) <= variables
    assert set(table["direction"]) <= {"more", "less"}
    figures = table[table["value"].notna()]
    times = figures["times"].astype(float)
    expected = np.where(figures["direction"] == "more", times, 1 / times)
    assert figures["value"].to_numpy() == pytest.approx(expected, abs=1e-4)
    assert table.loc[table["value"].isna(), "note"].str.len().gt(0).all()


def test_specific_findings_leave_out_unknown_and_put_the_largest_difference_first():
    differences = pd.DataFrame(
        {
            "model_id": ["7", "7", "7", "4"],
            "term": ["venue=Unknown", "venue=Home", "arrested", "arrested"],
            "b": [3.0, 1.0, -2.0, 1.0],
            "b_all": [0.0, 0.5, -0.5, 0.0],
            "specific": [True, True, True, True],
        }
    )
    assert drivers.specific_findings(differences, "7", KEY_SPEC)["term"].tolist() == ["arrested", "venue=Home"]
    assert drivers.specific_findings(differences.iloc[:0], "7", KEY_SPEC).empty


def test_the_named_contrasts_are_written_from_the_tests_or_say_there_is_no_estimate():
    terms = pd.DataFrame([fitted("15", "venue=Home", 1.8, se=0.1), fitted("16", "venue=Home", 0.9, se=0.05)])
    table = drivers.contrasts(terms, [("15", "16")], 100, KEY_SPEC)
    pack = pd.DataFrame({"contrast": ["15_16", "15_16", "15_16"], "term": ["venue=Home", "venue=Home", "arrested"]})
    when = {"15": "when no suspect is recorded", "16": "when one is"}
    spec = {**KEY_SPEC, "labels": {"venue": "Venue", "arrested": "Arrested"}}
    assert drivers.named_contrasts(pack, table, when, spec) == (
        "Venue: Home is a stronger driver when no suspect is recorded (6.0x more likely, against 2.5x more likely "
        "when one is); the difference is significant (q = 8.3e-16). "
        "Arrested: not estimated in both models on this run."
    )
