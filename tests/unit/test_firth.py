"""Firth's penalised likelihood (helpers.logit.firth), the project's only estimator of its own,
against R's logistf on the two examples of Heinze & Schemper (2002, Stat. Med. 21:2409):

- sex2 (urinary tract infection, 239 women; logistf's example data). logistf's printed
  summary of `logistf(case ~ age + oc + vic + vicl + vis + dia, data = sex2)` (as rendered
  in the documentation of biostatUtil's logistfPrint, with alpha = 0.1, which changes only
  the intervals): coefficients 0.12025405 -1.10598131 -0.06881673 2.26887464 -2.11140817
  -0.78831694 3.09601166 and "Likelihood ratio test=49.09064 on 6 df, p=7.15089e-09,
  n=239". Standard errors and the penalised log-likelihood as logistf's Newton-Raphson fit
  gives them (I(b)^-1, as Heinze & Schemper), reproduced in the firthlogist package's
  README: 0.485542 0.42366 0.443793 0.548416 0.543082 0.417368 1.67501 and -132.5394. (That
  printed summary shows other standard errors, 0.4763429 0.4149021 ..., from an IRLS fit
  whose information matrix includes the leverages.)
- endometrial (79 patients; NV separates: every case with neovasculation is high grade),
  coefficients from logistf as firthlogist's tests record them: 3.77455951 2.92927330
  -0.03475175 -2.60416387.

logistf stops iterating when no coefficient moves by 1e-5, so its 7th and 8th decimals vary
between versions (dia is 3.09601166 or 3.09601263); the fit here, iterated to 1e-10, is held
to them within 1e-6. The data are firthlogist 0.5.0's copies (tests/data/firth/).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from helpers import logit

DATA = Path(__file__).parents[1] / "data" / "firth"


def design(name: str, outcome: str, predictors: list[str]):
    data = pd.read_csv(DATA / f"{name}.csv")
    return np.column_stack([np.ones(len(data)), data[predictors].to_numpy(float)]), data[outcome].to_numpy(float)


def test_sex2_against_logistf():
    x, y = design("sex2", "case", ["age", "oc", "vic", "vicl", "vis", "dia"])
    fit = logit.firth(x, y)
    assert fit.converged and fit.method == "Firth"
    printed = [0.12025405, -1.10598131, -0.06881673, 2.26887464, -2.11140817, -0.78831694, 3.09601166]
    assert fit.b == pytest.approx(printed, abs=1e-6)
    assert [float(f"{se:.6g}") for se in fit.se] == [0.485542, 0.42366, 0.443793, 0.548416, 0.543082, 0.417368, 1.67501]
    assert round(fit.ll_model, 4) == -132.5394
    # logistf's likelihood ratio test: against the penalised fit of the constant alone.
    assert (round(fit.chi2, 5), float(f"{stats.chi2.sf(fit.chi2, 6):.6g}")) == (49.09064, 7.15089e-09)
    assert (fit.n, fit.events) == (239, 130)


def test_endometrial_against_logistf_where_maximum_likelihood_runs_away():
    x, y = design("endometrial", "HG", ["NV", "PI", "EH"])
    fit = logit.firth(x, y)
    assert fit.b == pytest.approx([3.77455951, 2.92927330, -0.03475175, -2.60416387], abs=1e-6)
    assert fit.converged and np.isfinite(fit.se).all()
    ml = logit.fit(x, y)
    assert abs(ml.b[1]) > logit.HUGE_B or not ml.converged  # NV's maximum-likelihood estimate is infinite


def test_covariate_patterns_give_the_per_report_firth_fit():
    x, y = design("sex2", "case", ["age", "oc", "vic", "vicl", "vis", "dia"])
    rows, successes, trials = logit.patterns(x, y)
    assert len(rows) < len(x) / 5
    grouped, per_report = logit.firth(rows, successes, trials), logit.firth(x, y)
    # Both stop within logit.FIRTH_TOLERANCE of the optimum, from different rounding.
    assert grouped.b == pytest.approx(per_report.b, abs=1e-8)
    assert grouped.se == pytest.approx(per_report.se, rel=1e-8)
    assert (grouped.ll_model, grouped.ll_null) == pytest.approx((per_report.ll_model, per_report.ll_null), rel=1e-12)


def test_firth_converges_when_a_category_has_a_single_report():
    """A category of one report made Fisher scoring overshoot and circle the optimum for ever
    (chapter 07's model 22 on a synthetic extract); each such draw must now converge."""
    unconverged = []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        n = 5000
        a, b = rng.integers(0, 2, n), rng.integers(0, 3, n)
        single = np.zeros(n)
        single[0] = 1
        x = np.column_stack([np.ones(n), a, b == 1, b == 2, single]).astype(float)
        y = (rng.random(n) < 1 / (1 + np.exp(0.3 - 0.5 * a - 0.3 * (b == 1) + 0.4 * (b == 2)))).astype(float)
        y[0] = 0
        fit = logit.firth(x, y)
        if not fit.converged:
            unconverged.append(seed)
    assert unconverged == []
