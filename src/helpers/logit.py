"""Binary logistic regression with the statistics SPSS's LOGISTIC REGRESSION prints, fitted
on covariate patterns, and Firth's penalised likelihood where the outcome is separated.

Every predictor of the driver models is categorical, so the reports that share a row of
the 0/1 design (a covariate pattern) share one fitted probability: `patterns` collapses
the design to its distinct rows, each with its reports (trials) and outcomes (successes).
`fit` is a binomial GLM on those patterns (statsmodels GLM, Binomial family, Newton-Raphson
to full convergence): the same estimates, standard errors and information as one row per
report. Its log-likelihood is the per-report (Bernoulli) one, sum s eta - m log(1 + e^eta),
not statsmodels' grouped binomial llf, which adds sum log C(m, s); LL_null is SPSS's
Block 0, the constant alone at the log-odds of the outcome. So, per report, as SPSS:

- Coefficients: B, S.E., Wald = (B / S.E.)^2 on 1 df, Sig., Exp(B) and its 95% interval.
- Omnibus test: chi-square = 2 (LL_model - LL_null) on the number of coefficients.
- Cox & Snell R^2 = 1 - exp(2 (LL_null - LL_model) / n); Nagelkerke R^2 divides it by
  its maximum, 1 - exp(2 LL_null / n).
- Classification table: predicted 1 where the probability exceeds the cut value 0.5, each
  pattern counted once per report.
- Area under the ROC curve (not printed by LOGISTIC REGRESSION; SPSS's ROC procedure
  gives the same Mann-Whitney value), each pattern weighted by its reports.

`firth` is Firth's penalised likelihood (Firth 1993, Biometrika 80:27; for separation,
Heinze & Schemper 2002, Stat. Med. 21:2409) as R's logistf computes it: log L + 1/2 log
det I(b), maximised by Newton-Raphson on the modified score
U*(b) = sum_i x_i (s_i - m_i p_i + h_i (1/2 - p_i)), h_i the leverage of pattern i, steps at
most 5 and halved while the penalised likelihood falls; covariance I(b)^-1, so intervals
and tests are Wald's (logistf's pl=FALSE). Its LL_null is logistf's: the penalised
likelihood maximised over the constant alone, the other coefficients 0 and the penalty
that of the full model; 2 (LL_model - LL_null) is logistf's likelihood ratio test, and the
R-squares above are computed from these penalised log-likelihoods. Checked against
logistf's documented sex2 and endometrial fits in tests/unit/test_firth.py.
"""

import warnings
from dataclasses import dataclass, field

import numpy as np
import statsmodels.api as sm
from scipy import linalg, stats
from statsmodels.tools.sm_exceptions import ModelWarning

Z95 = stats.norm.ppf(0.975)
MAX_ITER = 50
TOLERANCE = 1e-10  # largest change in any coefficient at convergence
HUGE_B = 15.0  # |B| beyond this (odds ratio over 3 million) signals separation
MAX_STEP = 5.0  # logistf's cap on a Firth step
FIRTH_TOLERANCE = 1e-8
FIRTH_MAX_ITER = 200  # Fisher scoring converges linearly, about halving each step, along a separated direction


@dataclass
class Fit:
    b: np.ndarray
    cov: np.ndarray
    ll_null: float
    ll_model: float
    n: int
    events: int
    iterations: int
    converged: bool
    probability: np.ndarray = field(repr=False)  # one per row of the design fitted
    method: str = "ML"

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    @property
    def wald(self) -> np.ndarray:
        return (self.b / self.se) ** 2

    @property
    def p(self) -> np.ndarray:
        return stats.chi2.sf(self.wald, 1)

    @property
    def chi2(self) -> float:
        return 2 * (self.ll_model - self.ll_null)

    @property
    def r2_cox_snell(self) -> float:
        return -np.expm1(2 * (self.ll_null - self.ll_model) / self.n)

    @property
    def r2_nagelkerke(self) -> float:
        return self.r2_cox_snell / -np.expm1(2 * self.ll_null / self.n)

    @property
    def ill_conditioned(self) -> bool:
        """The information matrix is singular to working precision (as scipy's LinAlgWarning)."""
        return bool(np.linalg.cond(self.cov, 1) > 1 / np.finfo(float).eps)


def patterns(x: np.ndarray, y: np.ndarray, trials: np.ndarray | None = None):
    """The distinct rows of a 0/1 design with their successes and trials: (x, successes, trials).
    y is 0/1 per report, or successes out of `trials` per row."""
    bits = np.asarray(x).astype(bool)
    if not np.array_equal(bits, x):
        raise ValueError("covariate patterns need a 0/1 design")
    trials = np.ones(len(bits)) if trials is None else np.asarray(trials, dtype=float)
    packed = np.ascontiguousarray(np.packbits(bits, axis=1))  # one short byte string per row
    _, first, row = np.unique(
        packed.view(np.dtype((np.void, packed.shape[1]))).ravel(), return_index=True, return_inverse=True
    )
    row = row.ravel()
    return bits[first].astype(float), np.bincount(row, weights=y), np.bincount(row, weights=trials)


def log_likelihood(y: np.ndarray, eta: np.ndarray, trials: np.ndarray | float = 1.0) -> float:
    """sum of y eta - m log(1 + e^eta): the Bernoulli log-likelihood of every report, on the logit scale."""
    return float(np.sum(y * eta - trials * np.logaddexp(0, eta)))


def expit(eta: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0, -eta))


def _counts(y, trials):
    y = np.asarray(y, dtype=float)
    trials = np.ones(len(y)) if trials is None else np.asarray(trials, dtype=float)
    n, events = trials.sum(), y.sum()
    if events in (0, n):
        raise ValueError("the outcome does not vary")
    return y, trials, int(round(n)), int(round(events))


def fit(x: np.ndarray, y: np.ndarray, trials: np.ndarray | None = None) -> Fit:
    """Maximum likelihood: y successes of `trials` (default 1: one row per report) on x, whose
    first column is the constant (all ones). Newton-Raphson from 0; should that path not
    converge to finite values, again from statsmodels' start (a few IRLS steps from the data)."""
    y, trials, n, events = _counts(y, trials)
    model = sm.GLM(np.column_stack([y, trials - y]), x, family=sm.families.Binomial())
    with warnings.catch_warnings(), np.errstate(all="ignore"):  # a path that diverges is reported, not warned
        warnings.simplefilter("ignore", ModelWarning)  # non-convergence and separation: reported by the caller
        for start in (np.zeros(x.shape[1]), None):
            result = model.fit(method="newton", start_params=start, maxiter=MAX_ITER, tol=TOLERANCE, disp=0)
            converged = result.mle_retvals["converged"] and np.isfinite(result.params).all()
            if converged:
                break
        if result.normalized_cov_params is None:  # statsmodels could not invert the information
            raise linalg.LinAlgError("singular information matrix")
        eta = x @ result.params
        return Fit(
            b=np.asarray(result.params),
            cov=np.asarray(result.cov_params()),
            ll_null=log_likelihood(y, np.log(events / (n - events)), trials),
            ll_model=log_likelihood(y, eta, trials),
            n=n,
            events=events,
            iterations=result.mle_retvals["iterations"],
            converged=converged,
            probability=expit(eta),
        )


def _penalised(x, y, trials, b):
    """Penalised log-likelihood, fitted probabilities, information and its inverse at b."""
    eta = x @ b
    p = expit(eta)
    info = x.T @ (x * (trials * p * (1 - p))[:, None])
    factor = linalg.cho_factor(info)
    return (
        log_likelihood(y, eta, trials) + np.log(np.diag(factor[0])).sum(),
        p,
        info,
        linalg.cho_solve(factor, np.eye(len(b))),
    )


def _firth(x, y, trials, free):
    """logistf's Newton-Raphson for the coefficients `free` (the others stay 0)."""
    b = np.zeros(x.shape[1])
    ll, p, info, cov = _penalised(x, y, trials, b)
    converged, iterations = False, 0
    while not converged and iterations < FIRTH_MAX_ITER:
        iterations += 1
        w = trials * p * (1 - p)
        leverage = w * np.einsum("ij,jk,ik->i", x, cov, x, optimize=True)
        score = x.T @ (y - trials * p + leverage * (0.5 - p))
        step = np.zeros_like(b)
        step[free] = linalg.solve(info[np.ix_(free, free)], score[free], assume_a="pos")
        step /= max(1.0, np.abs(step).max() / MAX_STEP)
        # logistf stops at 1e-5 on the step and the score; 1e-8 on either keeps six significant
        # figures, while 1e-10 on the step alone can lie below what the penalised likelihood resolves.
        converged = min(np.abs(step).max(), np.abs(score[free]).max()) < FIRTH_TOLERANCE
        # Halve a step that lowers the penalised likelihood: Fisher scoring can overshoot far from the optimum.
        for _ in range(30):
            trial = _penalised(x, y, trials, b + step)
            if trial[0] >= ll - 1e-9 * abs(ll):
                break
            step = step / 2
        # Keep halving while half the step gains more: the Fisher information leaves out the penalty's
        # curvature, so along a category of a few reports a full step can overshoot the optimum and
        # oscillate about it for ever.
        while np.abs(step).max() >= FIRTH_TOLERANCE:
            half = _penalised(x, y, trials, b + step / 2)
            if half[0] <= trial[0]:
                break
            step, trial = step / 2, half
        b = b + step
        ll, p, info, cov = trial
    return b, ll, p, cov, iterations, converged


def firth(x: np.ndarray, y: np.ndarray, trials: np.ndarray | None = None) -> Fit:
    """Firth's penalised likelihood (see the module's docstring), as `fit`."""
    y, trials, n, events = _counts(y, trials)
    b, ll, p, cov, iterations, converged = _firth(x, y, trials, np.arange(x.shape[1]))
    ll_null = _firth(x, y, trials, np.array([0]))[1]
    return Fit(
        b=b,
        cov=cov,
        ll_null=ll_null,
        ll_model=ll,
        n=n,
        events=events,
        iterations=iterations,
        converged=converged,
        probability=p,
        method="Firth",
    )


def classification(
    y: np.ndarray, probability: np.ndarray, trials: np.ndarray | None = None, cut: float = 0.5
) -> tuple[float, float, float]:
    """Percentage correct among 0s, among 1s and overall (SPSS's classification table), from y
    successes of `trials` reports per row (default 1)."""
    y = np.asarray(y, dtype=float)
    trials = np.ones(len(y)) if trials is None else np.asarray(trials, dtype=float)
    predicted = probability > cut
    right_0, right_1 = (trials - y)[~predicted].sum(), y[predicted].sum()
    return (100 * right_0 / (trials - y).sum(), 100 * right_1 / y.sum(), 100 * (right_0 + right_1) / trials.sum())


def auc(y: np.ndarray, score: np.ndarray, trials: np.ndarray | None = None) -> float:
    """Area under the ROC curve: the Mann-Whitney probability that a 1 scores above a 0, ties
    half, from y successes of `trials` reports per row (default 1)."""
    y = np.asarray(y, dtype=float)
    trials = np.ones(len(y)) if trials is None else np.asarray(trials, dtype=float)
    _, level = np.unique(score, return_inverse=True)
    ones, zeros = np.bincount(level, weights=y), np.bincount(level, weights=trials - y)
    below = np.cumsum(zeros) - zeros  # the 0s scoring lower than each score
    return float(np.sum(ones * (below + zeros / 2)) / (ones.sum() * zeros.sum()))


def joint_wald(fit_: Fit, columns: list[int]) -> tuple[float, int, float]:
    """Wald test that several coefficients are all 0 (SPSS's row for a categorical variable)."""
    b = fit_.b[columns]
    statistic = float(b @ linalg.solve(fit_.cov[np.ix_(columns, columns)], b, assume_a="pos"))
    return statistic, len(columns), float(stats.chi2.sf(statistic, len(columns)))
