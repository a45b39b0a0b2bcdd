"""The driver models: SPSS's printed statistics on a textbook example, the per-report fit
reproduced on covariate patterns, recovery of planted effects, separation fitted by Firth's
penalised likelihood on the whole sample, the declared models file, and fault cases."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from helpers import logit, models
from helpers.__main__ import main
from helpers.errors import InputError


def spec_for(*model_list, sets=None) -> dict:
    return {"predictor_sets": sets or {}, "labels": {"intervention": "Intervention"}, "models": list(model_list)}


@pytest.fixture(scope="module")
def eel():
    """Field, Discovering Statistics Using SPSS (3rd ed., 2009), logistic regression chapter:
    Eel.sav, Cured predicted by Intervention (113 patients). With one binary predictor the
    data are its 2 x 2 table: no treatment 24 cured of 56, intervention 41 cured of 57."""
    rows = (
        [("No treatment", True)] * 24
        + [("No treatment", False)] * 32
        + [("Intervention", True)] * 41
        + [("Intervention", False)] * 16
    )
    data = pd.DataFrame(rows, columns=["intervention", "cured"])
    model = {"id": "eel", "outcome": "cured", "predictors": [{"name": "intervention", "reference": "No treatment"}]}
    fits, terms = models.fit_all(data, spec_for(model))
    return fits.iloc[0], terms.set_index("term")


def test_spss_textbook_output_to_three_decimals(eel):
    fit, terms = eel
    # SPSS "Variables in the Equation": B, S.E., Wald, df, Sig., Exp(B), 95% C.I. for Exp(B).
    spss = {
        "intervention=Intervention": (1.229, 0.400, 9.447, 0.002, 3.417, 1.561, 7.480),
        "Constant": (-0.288, 0.270, 1.135, 0.287, 0.750, None, None),
    }
    for term, (b, se, wald, p, odds, low, high) in spss.items():
        row = terms.loc[term]
        assert (
            round(row["b"], 3),
            round(row["se"], 3),
            round(row["wald"], 3),
            round(row["p"], 3),
            round(row["odds_ratio"], 3),
        ) == (b, se, wald, p, odds)
        if low is not None:
            assert (round(row["ci_low"], 3), round(row["ci_high"], 3)) == (low, high)
    # Block 0 and Block 1: -2 log likelihood 154.084 -> 144.158; omnibus chi-square 9.926 (1 df, Sig. .002);
    # Cox & Snell R Square .084, Nagelkerke R Square .113.
    assert round(-2 * fit["ll_null"], 3) == 154.084 and round(-2 * fit["ll_model"], 3) == 144.158
    assert (round(fit["chi2"], 3), fit["df"], round(fit["p"], 3)) == (9.926, 1, 0.002)
    assert (round(fit["r2_cox_snell"], 3), round(fit["r2_nagelkerke"], 3)) == (0.084, 0.113)
    # Classification table (cut value .500): 66.7% of not cured, 63.1% of cured, 64.6% overall.
    assert (round(fit["pct_correct_0"], 1), round(fit["pct_correct_1"], 1), round(fit["pct_correct"], 1)) == (
        66.7,
        63.1,
        64.6,
    )
    assert (fit["n"], fit["events"], fit["status"]) == (113, 65, "ok")


def test_times_and_direction_follow_the_pack(eel):
    _, terms = eel
    row = terms.loc["intervention=Intervention"]
    assert (round(row["times"], 3), row["direction"], row["significant"]) == (3.417, "more", True)
    assert terms.loc["Constant", "direction"] == "less" and terms.loc["Constant", "times"] == pytest.approx(1 / 0.75)
    assert row["label"] == "Intervention: Intervention"


def simulated(n: int, seed: int, effects: dict) -> pd.DataFrame:
    """Reports with a three-level venue, a binary arrest and a four-level age, outcome drawn
    from a logistic model with the given log-odds effects."""
    rng = np.random.default_rng(seed)
    data = pd.DataFrame(
        {
            "venue": rng.choice(["Street", "Home", "Shop"], n, p=[0.5, 0.3, 0.2]),
            "arrested": rng.random(n) < 0.3,
            "age": rng.choice(["25-64", "1-17", "18-24", "65+"], n, p=[0.6, 0.15, 0.15, 0.1]),
        }
    )
    eta = effects["Constant"] + sum(effects[f"venue={v}"] * (data["venue"] == v) for v in ("Home", "Shop"))
    eta = eta + effects["arrested"] * data["arrested"]
    eta = eta + sum(effects[f"age={a}"] * (data["age"] == a) for a in ("1-17", "18-24", "65+"))
    data["withdrawn"] = rng.random(n) < 1 / (1 + np.exp(-eta))
    return data


PLANTED = {
    "Constant": -0.4,
    "venue=Home": np.log(2.5),
    "venue=Shop": 0.0,
    "arrested": np.log(0.35),
    "age=1-17": np.log(0.6),
    "age=18-24": np.log(1.3),
    "age=65+": 0.0,
}
MODEL = {
    "id": "planted",
    "outcome": "withdrawn",
    "predictors": [
        {"name": "venue", "reference": "Street"},
        {"name": "arrested"},
        {"name": "age", "reference": "25-64"},
    ],
}


def test_planted_effects_are_recovered_within_their_confidence_intervals():
    # One large sample: every planted odds ratio recovered closely.
    _, terms = models.fit_all(simulated(40_000, 11, PLANTED), spec_for(MODEL))
    coefficients = terms[terms["df"] == 1].set_index("term")
    assert set(coefficients.index) == set(PLANTED)
    for term, truth in PLANTED.items():
        assert coefficients.loc[term, "odds_ratio"] == pytest.approx(np.exp(truth), rel=0.1), term
    # The joint Wald row of a categorical variable (SPSS's "age" row) has k - 1 df.
    assert terms.set_index("term").loc["age", "df"] == 3
    # 200 samples: each 95% interval holds the planted value in 90-99% of them (a correct
    # interval misses that range with probability under 0.3%).
    covered = pd.Series(0, index=list(PLANTED))
    for seed in range(200):
        _, terms = models.fit_all(simulated(2_000, 100 + seed, PLANTED), spec_for(MODEL))
        rows = terms[terms["df"] == 1].set_index("term")
        covered += [rows.loc[t, "ci_low"] <= np.exp(v) <= rows.loc[t, "ci_high"] for t, v in PLANTED.items()]
    assert covered.between(180, 198).all(), covered.to_dict()


def per_report_reference(data: pd.DataFrame):
    """One row per report: statsmodels Logit, and the classification and AUC counted report by report."""
    x = pd.get_dummies(data[["venue", "age"]]).drop(columns=["venue_Street", "age_25-64"])
    x = sm.add_constant(pd.concat([x, data["arrested"]], axis=1).astype(float))
    reference = sm.Logit(data["withdrawn"].astype(float), x).fit(disp=0, tol=1e-12)
    y = data["withdrawn"].to_numpy()
    probability = reference.predict(x).to_numpy()
    predicted = probability > 0.5
    correct = (100 * np.mean(~predicted[~y]), 100 * np.mean(predicted[y]), 100 * np.mean(predicted == y))
    auc = stats.mannwhitneyu(probability[y], probability[~y]).statistic / (y.sum() * (~y).sum())
    return reference, x, correct, auc


def test_covariate_patterns_give_the_per_report_fit_to_1e8():
    data = simulated(20_000, 5, PLANTED)
    fits, terms = models.fit_all(data, spec_for(MODEL))
    reference, x, correct, auc = per_report_reference(data)
    ours = terms[terms["df"] == 1].set_index("term")
    names = {
        "const": "Constant",
        "venue_Home": "venue=Home",
        "venue_Shop": "venue=Shop",
        "arrested": "arrested",
        "age_1-17": "age=1-17",
        "age_18-24": "age=18-24",
        "age_65+": "age=65+",
    }
    for theirs, term in names.items():
        assert ours.loc[term, "b"] == pytest.approx(reference.params[theirs], abs=1e-8)
        assert ours.loc[term, "se"] == pytest.approx(reference.bse[theirs], rel=1e-8)
        assert ours.loc[term, "n"] == x[theirs].sum()
    fit = fits.iloc[0]
    # The per-report (Bernoulli) likelihood, not the grouped binomial one with its log C(m, s) term.
    assert fit["ll_model"] == pytest.approx(reference.llf, rel=1e-12)
    events, n = data["withdrawn"].sum(), len(data)  # Block 0 in closed form (statsmodels iterates its llnull)
    ll_null = events * np.log(events / n) + (n - events) * np.log(1 - events / n)
    assert fit["ll_null"] == pytest.approx(ll_null, rel=1e-12)
    assert fit["chi2"] == pytest.approx(2 * (reference.llf - ll_null), rel=1e-10)
    assert fit["r2_cox_snell"] == pytest.approx(-np.expm1(2 * (ll_null - reference.llf) / n), rel=1e-10)
    assert (fit["pct_correct_0"], fit["pct_correct_1"], fit["pct_correct"]) == pytest.approx(correct, abs=1e-10)
    assert fit["auc"] == pytest.approx(auc, abs=1e-12)
    assert fit["n"] == len(data) and fit["events"] == data["withdrawn"].sum()


def test_patterns_collapse_reports_and_weighted_statistics_equal_the_per_report_ones():
    x = np.array([[1, 0], [1, 1], [1, 0], [1, 1], [1, 0]], dtype=float)
    y = np.array([1, 0, 0, 0, 1.0])
    rows, successes, trials = logit.patterns(x, y)
    assert rows.tolist() == [[1, 0], [1, 1]] and successes.tolist() == [2, 0] and trials.tolist() == [3, 2]
    score = np.array([0.9, 0.4])
    per_report = score[[0, 1, 0, 1, 0]]
    assert logit.auc(successes, score, trials) == logit.auc(y, per_report)
    assert logit.classification(successes, score, trials) == logit.classification(y, per_report)
    with pytest.raises(ValueError, match="0/1 design"):
        logit.patterns(x * 2, y)


def test_log_space_is_safe_where_probabilities_underflow():
    eta = np.array([-800.0, 0.0, 800.0])
    assert logit.log_likelihood(np.array([0.0, 1.0, 1.0]), eta) == pytest.approx(np.log(0.5))
    assert logit.expit(eta).tolist() == [0.0, 0.5, 1.0]


def test_auc_known_answer():
    # Pairs (1 over 0): 0.9>0.1, 0.9>0.4, 0.4=0.4 (half), 0.4>0.1: 3.5 of 4.
    assert logit.auc(np.array([1, 1, 0, 0]), np.array([0.9, 0.4, 0.4, 0.1])) == 0.875


def test_problems_are_reported_per_model_not_raised():
    data = simulated(3_000, 2, PLANTED)
    data["constant_flag"] = False
    data["copy"] = data["arrested"]  # a redundant predictor
    model = {
        "id": "m",
        "outcome": "withdrawn",
        "predictors": [
            {"name": "venue", "reference": "Nowhere"},
            {"name": "arrested"},
            {"name": "copy"},
            {"name": "constant_flag"},
        ],
    }
    fits, terms = models.fit_all(data, spec_for(model))
    fit = fits.iloc[0]
    assert fit["status"] == "ok" and fit["n"] == len(data)
    assert "venue: reference 'Nowhere' has no reports; 'Street' used instead" in fit["messages"]
    assert "copy: redundant" in fit["messages"] and "constant_flag: does not vary" in fit["messages"]
    assert set(terms["term"]) == {"Constant", "venue=Home", "venue=Shop", "arrested", "venue"}


def test_non_convergence_and_a_constant_outcome_are_flagged(monkeypatch):
    data = simulated(2_000, 3, PLANTED)
    monkeypatch.setattr(logit, "MAX_ITER", 1)
    fits, terms = models.fit_all(data, spec_for(MODEL))
    assert fits.iloc[0]["status"] == "not converged" and "no convergence after 1 iterations" in fits.iloc[0]["messages"]
    assert not (terms["df"] > 1).any()  # joint Wald rows only for models whose status is ok
    monkeypatch.undo()
    data["withdrawn"] = True
    fits, terms = models.fit_all(data, spec_for(MODEL))
    assert fits.iloc[0]["status"] == "error" and "the outcome does not vary" in fits.iloc[0]["messages"]
    assert terms.empty


def firth_one_way(counts: dict, reference: str) -> dict:
    """Firth's estimates for one categorical predictor and nothing else (a saturated model): the
    penalty then adds 1/2 to every cell (Firth 1993, section 3), so each category's log-odds is
    log((s + 1/2) / (n - s + 1/2)), and B is its difference from the reference's."""
    log_odds = {c: np.log((s + 0.5) / (n - s + 0.5)) for c, (s, n) in counts.items()}
    return {
        "Constant": log_odds[reference],
        **{f"venue={c}": v - log_odds[reference] for c, v in log_odds.items() if c != reference},
    }


def one_way(counts: dict) -> pd.DataFrame:
    rows = [(c, k < s) for c, (s, n) in counts.items() for k in range(n)]
    return pd.DataFrame(rows, columns=["venue", "withdrawn"])


def test_a_separated_category_is_fitted_on_the_whole_sample_by_firth():
    # The review's case: 2,000 reports, one category of 19 all withdrawn.
    counts = {"Street": (400, 1_000), "Home": (300, 600), "Shop": (150, 381), "Park": (19, 19)}
    data = one_way(counts)
    model = {"id": "s", "outcome": "withdrawn", "predictors": [{"name": "venue", "reference": "Street"}]}
    fits, terms = models.fit_all(data, spec_for(model))
    fit, rows = fits.iloc[0], terms.set_index("term")
    assert (fit["status"], fit["n"], fit["events"]) == ("Firth", 2_000, 869)
    assert "venue=Park: every report in this category has the same outcome (separation)" in fit["messages"]
    assert "19" not in fit["messages"]  # no count quoted: no small cell shown
    for term, b in firth_one_way(counts, "Street").items():
        assert rows.loc[term, "b"] == pytest.approx(b, abs=1e-8), term
    assert (
        rows.loc["venue=Park", "n"] == 19 and np.isfinite(rows.loc["venue=Park", ["se", "ci_high"]].astype(float)).all()
    )
    assert rows["separated"].to_dict() == {
        "Constant": False,
        "venue=Home": False,
        "venue=Park": True,
        "venue=Shop": False,
    }  # no joint Wald row for a Firth model
    # With other predictors too: still the whole sample, and no coefficient runs away.
    data["arrested"] = np.arange(len(data)) % 3 == 0
    model["predictors"].append({"name": "arrested"})
    fits, terms = models.fit_all(data, spec_for(model))
    assert (fits.iloc[0]["status"], fits.iloc[0]["n"]) == ("Firth", 2_000)
    assert terms["b"].abs().max() < 5 and terms.set_index("term").loc["venue=Park", "separated"]


def test_separation_in_the_reference_or_the_no_of_a_yes_no_predictor_is_fitted_by_firth():
    # Every Street report (the declared reference) withdrawn: every contrast with it, and the constant, separated.
    counts = {"Street": (50, 50), "Home": (300, 600), "Shop": (150, 400)}
    model = {"id": "r", "outcome": "withdrawn", "predictors": [{"name": "venue", "reference": "Street"}]}
    fits, terms = models.fit_all(one_way(counts), spec_for(model))
    rows = terms.set_index("term")
    assert (fits.iloc[0]["status"], fits.iloc[0]["n"]) == ("Firth", 1_050)
    assert "venue=Street: every report in this category has the same outcome (separation)" in fits.iloc[0]["messages"]
    for term, b in firth_one_way(counts, "Street").items():
        assert rows.loc[term, "b"] == pytest.approx(b, abs=1e-8), term
    assert rows["separated"].all()
    # Only 20 reports not arrested, all withdrawn: the "no" group of a yes/no predictor (it used to stop
    # the model with "singular matrix").
    data = simulated(3_000, 6, PLANTED)
    data["arrested"] = True
    data.loc[:19, ["arrested", "withdrawn"]] = [False, True]
    fits, terms = models.fit_all(data, spec_for(MODEL))
    fit, rows = fits.iloc[0], terms.set_index("term")
    assert (fit["status"], fit["n"]) == ("Firth", 3_000), fit["messages"]
    assert "arrested=no: every report in this category has the same outcome (separation)" in fit["messages"]
    assert rows.loc["arrested", "separated"] and rows.loc["Constant", "separated"]
    assert not rows.loc["venue=Home", "separated"] and rows["b"].abs().max() < 10
    assert rows.loc["venue=Home", "odds_ratio"] == pytest.approx(np.exp(PLANTED["venue=Home"]), rel=0.25)
    assert not (terms["df"] > 1).any()


def test_separation_by_a_combination_of_predictors_is_found_by_the_runaway_fit():
    # Withdrawn exactly when at least two of three flags are set: no category is pure on its own,
    # but a + b + c - 1.5 separates the outcome.
    rng = np.random.default_rng(8)
    data = pd.DataFrame(rng.random((600, 3)) < 0.5, columns=["a", "b", "c"])
    data["withdrawn"] = data.sum(axis=1) >= 2
    model = {"id": "c", "outcome": "withdrawn", "predictors": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}
    fits, terms = models.fit_all(data, spec_for(model))
    fit = fits.iloc[0]
    assert fit["status"] == "Firth" and "coefficients run away (separation by a combination" in fit["messages"]
    assert "every report in this category" not in fit["messages"]
    # Firth's estimates are finite, and lie along the separating direction (1, 1, 1, -1.5).
    b = terms.set_index("term")["b"]
    assert terms["separated"].all() and fit["status"] == "Firth" and np.isfinite(b).all()
    assert b[["a", "b", "c"]].to_numpy() == pytest.approx(b["a"], rel=0.05)
    assert b["Constant"] / b[["a", "b", "c"]].mean() == pytest.approx(-1.5, rel=0.05)


def test_too_few_reports_are_not_fitted():
    few = {**spec_for(MODEL), "min_reports": 5_000}
    fits, terms = models.fit_all(simulated(3_000, 6, PLANTED), few)
    assert fits.iloc[0]["status"] == "too few reports" and terms.empty
    assert fits.iloc[0]["messages"] == "not fitted: fewer than 5000 reports in this model (min_reports)"


@pytest.mark.parametrize("coding", ["int64", "float64"])
def test_a_0_1_outcome_is_yes_no(coding):
    data = simulated(2_000, 7, PLANTED)
    expected = models.fit_all(data, spec_for(MODEL))
    coded = data.assign(withdrawn=data["withdrawn"].astype(coding))
    fits, terms = models.fit_all(coded, spec_for(MODEL))
    pd.testing.assert_frame_equal(fits.drop(columns="seconds"), expected[0].drop(columns="seconds"))
    pd.testing.assert_frame_equal(terms, expected[1])


@pytest.mark.parametrize("values", [[0, 1, 2], [0.0, 1.0, np.nan], ["0", "1", "1"]])
def test_any_other_outcome_coding_is_an_error_naming_the_column(values):
    data = simulated(300, 7, PLANTED)
    data["withdrawn"] = np.resize(values, len(data))
    with pytest.raises(InputError, match="model planted: outcome 'withdrawn' is not a yes/no column"):
        models.fit_all(data, spec_for(MODEL))


def test_an_ill_conditioned_or_broken_fit_is_reported_not_raised(monkeypatch):
    real = logit.fit

    def ill_conditioned(x, y, trials=None):
        result = real(x, y, trials)
        result.cov = np.outer(result.se, result.se) + 1e-17 * np.diag(result.se**2)  # singular to working precision
        return result

    monkeypatch.setattr(logit, "fit", ill_conditioned)
    fits, terms = models.fit_all(simulated(500, 1, PLANTED), spec_for(MODEL))
    assert fits.iloc[0]["status"] == "ill-conditioned" and "estimates are not reliable" in fits.iloc[0]["messages"]
    assert not terms.empty

    def singular(x, y, trials=None):
        raise models.linalg.LinAlgError("Singular matrix")

    monkeypatch.setattr(logit, "fit", singular)
    monkeypatch.setattr(logit, "firth", singular)
    fits, terms = models.fit_all(simulated(500, 1, PLANTED), spec_for(MODEL))
    assert fits.iloc[0]["status"] == "error" and "the fit broke down" in fits.iloc[0]["messages"] and terms.empty


@pytest.mark.parametrize(
    "change, message",
    [
        ({"filter": "no_such_column == 1"}, "model planted: filter: 'no_such_column == 1' cannot be applied"),
        ({"predictors": [{"name": "borough", "reference": "X"}]}, "predictor 'borough' is not a column"),
        ({"predictors": [{"name": "arrested", "reference": "No"}]}, "arrested is yes/no and takes no reference"),
        ({"outcome": "venue"}, "outcome 'venue' is not a yes/no column"),
    ],
)
def test_declaration_errors_name_the_file_and_model(change, message):
    with pytest.raises(InputError, match=message) as info:
        models.fit_all(simulated(500, 1, PLANTED), spec_for({**MODEL, **change}))
    assert "models.yml" in str(info.value)


def test_the_declared_models_file(tmp_path):
    spec = models.load_spec()
    ids = [m["id"] for m in spec["models"]]
    assert ids[:6] == ["0", "00", "000", "1", "2", "3"] and ids[-1] == "28" and len(ids) == 31
    three = {p["name"]: p for p in models.predictors(spec["models"][ids.index("3")], spec)}
    assert (
        three["relationship"]["reference"] == "Stranger/not recorded"
        and three["arrested_on_scene"]["group"] == "suspect"
    )
    four = {p["name"]: p for p in models.predictors(spec["models"][ids.index("4")], spec)}
    assert four["relationship"]["reference"] == "Current/ex-partner" and four["relationship"]["group"] == "suspect"
    nine = [p["name"] for p in models.predictors(spec["models"][ids.index("9")], spec)]
    assert "victim_age_detail" in nine and "victim_age_group" not in nine
    bad = tmp_path / "models.yml"
    bad.write_text("predictor_sets: {}\nmodels:\n  - {id: '1', outcome: y, predictors: [offence]}\n")
    with pytest.raises(InputError, match="model 1: predictor set 'offence' is not defined"):
        models.load_spec(bad)
    bad.write_text("models:\n  - {id: '1', outcome: y, predictors: [], filters: x}\n")
    with pytest.raises(InputError, match="unknown key 'filters'"):
        models.load_spec(bad)


def test_cli_writes_both_tables_with_model_ids_as_text(tmp_path, capsys):
    data = simulated(2_000, 4, PLANTED)
    data.to_parquet(tmp_path / "cohort.parquet")
    (tmp_path / "models.yml").write_text(
        "models:\n  - {id: '00', outcome: withdrawn, predictors: [{name: arrested}]}\n"
        "  - {id: '3', outcome: withdrawn, filter: arrested, predictors: [{name: venue, reference: Street}]}\n"
    )
    assert (
        main(
            [
                "fit-models",
                "--dataset",
                str(tmp_path / "cohort.parquet"),
                "--models",
                str(tmp_path / "models.yml"),
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    fits = pd.read_csv(tmp_path / "out" / "model_fit.csv", dtype={"model_id": str})
    terms = pd.read_csv(tmp_path / "out" / "model_terms.csv", dtype={"model_id": str})
    assert fits["model_id"].tolist() == ["00", "3"]
    assert set(terms["model_id"]) == {"00", "3"} and list(terms.columns) == models.TERM_COLUMNS
    assert "2 models fitted" in capsys.readouterr().out
    assert not list((tmp_path / "out").glob(".*partial"))
