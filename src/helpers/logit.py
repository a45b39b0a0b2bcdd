"""Binary logistic regression with the statistics SPSS's LOGISTIC REGRESSION prints.

Maximum likelihood by Newton-Raphson from SPSS's start (constant at the log-odds of the
outcome, other coefficients 0), iterated to full convergence. Everything is computed in
log space, so it is safe at any n: log(1 + e^x) by logaddexp, R-squares by expm1.

- Coefficients: B, S.E., Wald = (B / S.E.)^2 on 1 df, Sig., Exp(B) and its 95% interval.
- Omnibus test: chi-square = 2 (LL_model - LL_null) on the number of coefficients.
- Cox & Snell R^2 = 1 - exp(2 (LL_null - LL_model) / n); Nagelkerke R^2 divides it by
  its maximum, 1 - exp(2 LL_null / n).
- Classification table: predicted 1 where the probability exceeds the cut value 0.5.
- Area under the ROC curve (not printed by LOGISTIC REGRESSION; SPSS's ROC procedure
  gives the same Mann-Whitney value).
"""
from dataclasses import dataclass, field

import numpy as np
from scipy import linalg, stats

Z95 = stats.norm.ppf(0.975)
MAX_ITER = 50
TOLERANCE = 1e-10   # largest change in any coefficient at convergence
HUGE_B = 15.0       # |B| beyond this (odds ratio over 3 million) signals separation


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
    probability: np.ndarray = field(repr=False)

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


def log_likelihood(y: np.ndarray, eta: np.ndarray) -> float:
    """sum of y eta - log(1 + e^eta): the Bernoulli log-likelihood on the logit scale."""
    return float(np.sum(y * eta - np.logaddexp(0, eta)))


def expit(eta: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0, -eta))


def fit(x: np.ndarray, y: np.ndarray) -> Fit:
    """Fit y (0/1) on x, whose first column is the constant (all ones)."""
    y = np.asarray(y, dtype=float)
    n, events = len(y), int(y.sum())
    if events in (0, n):
        raise ValueError("the outcome does not vary")
    base = np.log(events / (n - events))
    b = np.zeros(x.shape[1])
    b[0] = base
    ll_null = log_likelihood(y, np.full(n, base))
    converged, iterations, ll = False, 0, ll_null
    for iterations in range(1, MAX_ITER + 1):
        p = expit(x @ b)
        w = p * (1 - p)
        step = linalg.solve((x * w[:, None]).T @ x, x.T @ (y - p), assume_a="pos")
        # Halve a step that lowers the likelihood: a full Newton step can overshoot far from the optimum.
        for _ in range(30):
            trial = log_likelihood(y, x @ (b + step))
            if trial >= ll - 1e-9 * abs(ll):
                break
            step = step / 2
        b, ll = b + step, trial
        if np.max(np.abs(step)) < TOLERANCE:
            converged = True
            break
    eta = x @ b
    p = expit(eta)
    cov = linalg.inv((x * (p * (1 - p))[:, None]).T @ x)
    return Fit(b=b, cov=cov, ll_null=ll_null, ll_model=log_likelihood(y, eta), n=n, events=events,
               iterations=iterations, converged=converged, probability=p)


def classification(y: np.ndarray, probability: np.ndarray, cut: float = 0.5) -> tuple[float, float, float]:
    """Percentage correct among 0s, among 1s and overall (SPSS's classification table)."""
    y = np.asarray(y, dtype=bool)
    predicted = probability > cut
    return (100 * np.mean(~predicted[~y]), 100 * np.mean(predicted[y]), 100 * np.mean(predicted == y))


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve: the Mann-Whitney probability that a 1 scores above a 0, ties half."""
    y = np.asarray(y, dtype=bool)
    ranks = stats.rankdata(score)
    ones, zeros = y.sum(), (~y).sum()
    return float((ranks[y].sum() - ones * (ones + 1) / 2) / (ones * zeros))


def joint_wald(fit_: Fit, columns: list[int]) -> tuple[float, int, float]:
    """Wald test that several coefficients are all 0 (SPSS's row for a categorical variable)."""
    b = fit_.b[columns]
    statistic = float(b @ linalg.solve(fit_.cov[np.ix_(columns, columns)], b, assume_a="pos"))
    return statistic, len(columns), float(stats.chi2.sf(statistic, len(columns)))
