"""Chapter 07's drivers specific to a crime area: a test of the difference between the area's
coefficient and the all-crime model's (its error rate from both sides, and its agreement
with the area x driver interaction of a pooled model), and Benjamini-Hochberg across them."""

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
