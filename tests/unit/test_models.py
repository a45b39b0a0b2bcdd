"""The driver models: SPSS's printed statistics on a textbook example, agreement with
statsmodels, recovery of planted effects, the declared models file, and fault cases."""
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

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
    rows = ([("No treatment", True)] * 24 + [("No treatment", False)] * 32 + [("Intervention", True)] * 41
            + [("Intervention", False)] * 16)
    data = pd.DataFrame(rows, columns=["intervention", "cured"])
    model = {"id": "eel", "outcome": "cured", "predictors": [{"name": "intervention", "reference": "No treatment"}]}
    fits, terms = models.fit_all(data, spec_for(model))
    return fits.iloc[0], terms.set_index("term")


def test_spss_textbook_output_to_three_decimals(eel):
    fit, terms = eel
    # SPSS "Variables in the Equation": B, S.E., Wald, df, Sig., Exp(B), 95% C.I. for Exp(B).
    spss = {"intervention=Intervention": (1.229, 0.400, 9.447, 0.002, 3.417, 1.561, 7.480),
            "Constant": (-0.288, 0.270, 1.135, 0.287, 0.750, None, None)}
    for term, (b, se, wald, p, odds, low, high) in spss.items():
        row = terms.loc[term]
        assert (round(row["b"], 3), round(row["se"], 3), round(row["wald"], 3), round(row["p"], 3),
                round(row["odds_ratio"], 3)) == (b, se, wald, p, odds)
        if low is not None:
            assert (round(row["ci_low"], 3), round(row["ci_high"], 3)) == (low, high)
    # Block 0 and Block 1: -2 log likelihood 154.084 -> 144.158; omnibus chi-square 9.926 (1 df, Sig. .002);
    # Cox & Snell R Square .084, Nagelkerke R Square .113.
    assert round(-2 * fit["ll_null"], 3) == 154.084 and round(-2 * fit["ll_model"], 3) == 144.158
    assert (round(fit["chi2"], 3), fit["df"], round(fit["p"], 3)) == (9.926, 1, 0.002)
    assert (round(fit["r2_cox_snell"], 3), round(fit["r2_nagelkerke"], 3)) == (0.084, 0.113)
    # Classification table (cut value .500): 66.7% of not cured, 63.1% of cured, 64.6% overall.
    assert (round(fit["pct_correct_0"], 1), round(fit["pct_correct_1"], 1), round(fit["pct_correct"], 1)) == (
        66.7, 63.1, 64.6)
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
    data = pd.DataFrame({
        "venue": rng.choice(["Street", "Home", "Shop"], n, p=[0.5, 0.3, 0.2]),
        "arrested": rng.random(n) < 0.3,
        "age": rng.choice(["25-64", "1-17", "18-24", "65+"], n, p=[0.6, 0.15, 0.15, 0.1]),
    })
    eta = effects["Constant"] + sum(effects[f"venue={v}"] * (data["venue"] == v) for v in ("Home", "Shop"))
    eta = eta + effects["arrested"] * data["arrested"]
    eta = eta + sum(effects[f"age={a}"] * (data["age"] == a) for a in ("1-17", "18-24", "65+"))
    data["withdrawn"] = rng.random(n) < 1 / (1 + np.exp(-eta))
    return data


PLANTED = {"Constant": -0.4, "venue=Home": np.log(2.5), "venue=Shop": 0.0, "arrested": np.log(0.35),
           "age=1-17": np.log(0.6), "age=18-24": np.log(1.3), "age=65+": 0.0}
MODEL = {"id": "planted", "outcome": "withdrawn", "predictors": [
    {"name": "venue", "reference": "Street"}, {"name": "arrested"}, {"name": "age", "reference": "25-64"}]}


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


def test_agrees_with_statsmodels_on_a_larger_model():
    data = simulated(20_000, 5, PLANTED)
    fits, terms = models.fit_all(data, spec_for(MODEL))
    x = pd.get_dummies(data[["venue", "age"]]).drop(columns=["venue_Street", "age_25-64"])
    x = sm.add_constant(pd.concat([x, data["arrested"]], axis=1).astype(float))
    reference = sm.Logit(data["withdrawn"].astype(float), x).fit(disp=0)
    ours = terms[terms["df"] == 1].set_index("term")
    names = {"const": "Constant", "venue_Home": "venue=Home", "venue_Shop": "venue=Shop", "arrested": "arrested",
             "age_1-17": "age=1-17", "age_18-24": "age=18-24", "age_65+": "age=65+"}
    for theirs, term in names.items():
        assert ours.loc[term, "b"] == pytest.approx(reference.params[theirs], abs=1e-8)
        assert ours.loc[term, "se"] == pytest.approx(reference.bse[theirs], rel=1e-6)
    fit = fits.iloc[0]
    assert fit["ll_model"] == pytest.approx(reference.llf, rel=1e-10)
    assert fit["ll_null"] == pytest.approx(reference.llnull, rel=1e-10)
    assert fit["r2_cox_snell"] == pytest.approx(1 - np.exp(2 * (reference.llnull - reference.llf) / len(data)))


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
    data["always"] = data["venue"] == "Shop"
    data.loc[data["always"], "withdrawn"] = True  # every Shop report withdrawn: separation
    data["copy"] = data["arrested"]                 # a redundant predictor
    model = {"id": "m", "outcome": "withdrawn", "predictors": [
        {"name": "venue", "reference": "Nowhere"}, {"name": "arrested"}, {"name": "copy"}, {"name": "constant_flag"}]}
    fits, terms = models.fit_all(data, spec_for(model))
    fit = fits.iloc[0]
    assert fit["status"] == "ok"
    assert "venue: reference 'Nowhere' has no reports; 'Street' used instead" in fit["messages"]
    assert f"venue=Shop: all {int(data['always'].sum())} reports have outcome 1 (separation)" in fit["messages"]
    assert "copy: redundant" in fit["messages"] and "constant_flag: does not vary" in fit["messages"]
    assert fit["n"] == len(data) - data["always"].sum()
    assert "venue=Shop" not in set(terms["term"])


def test_non_convergence_and_a_constant_outcome_are_flagged(monkeypatch):
    data = simulated(2_000, 3, PLANTED)
    monkeypatch.setattr(logit, "MAX_ITER", 1)
    fits, _ = models.fit_all(data, spec_for(MODEL))
    assert fits.iloc[0]["status"] == "not converged" and "no convergence after 1 iterations" in fits.iloc[0]["messages"]
    monkeypatch.undo()
    data["withdrawn"] = True
    fits, terms = models.fit_all(data, spec_for(MODEL))
    assert fits.iloc[0]["status"] == "error" and "the outcome does not vary" in fits.iloc[0]["messages"]
    assert terms.empty


@pytest.mark.parametrize("change, message", [
    ({"filter": "no_such_column == 1"}, "model planted: filter: 'no_such_column == 1' cannot be applied"),
    ({"predictors": [{"name": "borough", "reference": "X"}]}, "predictor 'borough' is not a column"),
    ({"predictors": [{"name": "arrested", "reference": "No"}]}, "arrested is yes/no and takes no reference"),
    ({"outcome": "venue"}, "outcome 'venue' is not a yes/no column"),
])
def test_declaration_errors_name_the_file_and_model(change, message):
    with pytest.raises(InputError, match=message) as info:
        models.fit_all(simulated(500, 1, PLANTED), spec_for({**MODEL, **change}))
    assert "models.yml" in str(info.value)


def test_the_declared_models_file(tmp_path):
    spec = models.load_spec()
    ids = [m["id"] for m in spec["models"]]
    assert ids[:6] == ["0", "00", "000", "1", "2", "3"] and ids[-1] == "28" and len(ids) == 31
    three = {p["name"]: p for p in models.predictors(spec["models"][ids.index("3")], spec)}
    assert three["relationship"]["reference"] == "Stranger/not recorded" and three["arrested_on_scene"]["group"] == "suspect"
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
        "  - {id: '3', outcome: withdrawn, filter: arrested, predictors: [{name: venue, reference: Street}]}\n")
    assert main(["fit-models", "--dataset", str(tmp_path / "cohort.parquet"), "--models", str(tmp_path / "models.yml"),
                 "--out", str(tmp_path / "out")]) == 0
    fits = pd.read_csv(tmp_path / "out" / "model_fit.csv", dtype={"model_id": str})
    terms = pd.read_csv(tmp_path / "out" / "model_terms.csv", dtype={"model_id": str})
    assert fits["model_id"].tolist() == ["00", "3"]
    assert set(terms["model_id"]) == {"00", "3"} and list(terms.columns) == models.TERM_COLUMNS
    assert "2 models fitted" in capsys.readouterr().out
    assert not list((tmp_path / "out").glob(".*partial"))
