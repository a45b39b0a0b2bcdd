"""Latent class analysis (chapter 10): groups of reports that share victim, suspect and
offence characteristics, and the withdrawal rate of each group. Declared in config/lca.yml.

The model. The latent class model for yes/no indicators (Goodman 1974, Biometrika 61:215;
Linzer & Lewis 2011, poLCA, Journal of Statistical Software 42(10)): each report belongs to
one of k classes, and within a class its indicators are independent. It is fitted by
maximum likelihood with the EM algorithm (Dempster, Laird & Rubin 1977) from random starts.

Local maxima. EM climbs to the nearest maximum, and the more classes, the more of them
there are: a best start found once may be a local maximum, and the number of classes
chosen can turn on it. Starts are run in batches until the best log-likelihood has been
reached by at least `replications` of them (to within `same_within`), the check Mplus
prints as "the best loglikelihood value has been replicated" (Nylund, Asparouhov & Muthen
2007, Structural Equation Modeling 14:535), up to `max_starts`; a class count whose best
is not replicated by then is reported as such.

Why EM by hand. StepMix fits the same model (the tests check this EM against it: same
log-likelihood, same profiles, same three-step rates), but one start at a time with a
per-iteration overhead that makes tens of starts per class count take minutes. Here EM
runs on the distinct answer patterns weighted by their counts, all of a batch's starts
at once.

How many classes. BIC (Schwarz 1978; lower is better) chooses; beside it are the
sample-size-adjusted BIC (Sclove 1987, Psychometrika 52:333: log((n + 2) / 24) in place of
log n, which penalises classes less; StepMix's own `sabic` takes log(n (n + 2) / 24)) and
the relative entropy (Ramaswamy et al. 1993: 0-1, 1 = every report clearly in one class).
The number of classes is itself uncertain: criteria that differ, or BICs close together,
say so.

Withdrawal per class: the bias-corrected three-step method (BCH; Bolck, Croon & Hagenaars
2004, Political Analysis 12:3; Vermunt 2010, Political Analysis 18:450), with StepMix's
correction matrix. Unlike assigning each report to its most likely class and averaging
(shown beside it), it allows for the uncertainty of class membership.
"""

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import special
from stepmix.corrections import compute_bch_matrix
from stepmix.utils import modal

from .errors import InputError, condition
from .io import read_yaml
from .paths import CONFIG

SOURCE = CONFIG / "lca.yml"
EDGE = 1e-10  # probabilities kept this far inside (0, 1): a class whose answer is always "no" stays finite
SEARCH_COLUMNS = [
    "classes",
    "log_likelihood",
    "parameters",
    "bic",
    "sabic",
    "relative_entropy",
    "starts",
    "replicated",
    "converged",
]


KEYS = {
    "population",
    "outcome",
    "sample_size",
    "seed",
    "classes",
    "starts",
    "screen_iterations",
    "keep",
    "max_starts",
    "replications",
    "same_within",
    "tolerance",
    "max_iterations",
    "indicators",
}


def config(path: Path = SOURCE) -> dict:
    """config/lca.yml, its keys checked: none missing, none unknown."""
    spec = read_yaml(path)
    for problem, keys in (("missing", KEYS - set(spec)), ("unknown", set(spec) - KEYS)):
        if keys:
            raise InputError(f"{path}: {problem} key(s) {', '.join(sorted(keys))} (see the comments in config/lca.yml)")
    return spec


def indicators(data: pd.DataFrame, spec: dict) -> tuple[pd.DataFrame, pd.Series]:
    """The 0/1 indicator matrix and the 0/1 outcome, for the declared population and sample."""
    subset = data[condition(data, spec["population"], f"{SOURCE}: population")] if spec.get("population") else data
    if spec.get("sample_size") and len(subset) > spec["sample_size"]:
        subset = subset.sample(spec["sample_size"], random_state=spec["seed"])
    columns = {}
    for name, expression in spec["indicators"].items():
        columns[name] = condition(subset, expression, f"{SOURCE}: indicator {name!r}").astype(int).to_numpy()
    return pd.DataFrame(columns), subset[spec["outcome"]].astype(int).reset_index(drop=True)


def patterns(x: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct answer patterns with a column of ones (u1), their counts, and each report's pattern."""
    u, inverse, w = np.unique(x.to_numpy(dtype=float), axis=0, return_inverse=True, return_counts=True)
    return np.column_stack([u, np.ones(len(u))]), w.astype(float), inverse.ravel()


def _log_joint(u1: np.ndarray, theta: np.ndarray, pi: np.ndarray) -> np.ndarray:
    """log P(class, answers) for each start, pattern and class (starts x patterns x classes);
    u1 is the patterns with a column of ones, which carries each class's constant."""
    no = np.log1p(-theta)
    return u1 @ np.concatenate([(np.log(theta) - no).transpose(0, 2, 1), (no.sum(2) + np.log(pi))[:, None]], axis=1)


def _m_step(u1: np.ndarray, weighted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Class shares and answer probabilities from count-weighted memberships (starts x patterns
    x classes): one product gives both, through u1's column of ones."""
    sums = weighted.transpose(0, 2, 1) @ u1
    size = sums[..., -1]
    return size / size.sum(axis=1, keepdims=True), np.clip(sums[..., :-1] / size[..., None], EDGE, 1 - EDGE)


def _em(u1, w, theta, pi, tolerance: float, max_iterations: int):
    """EM for every start at once, each until an iteration gains less than `tolerance` in
    log-likelihood (a start that has stopped is no longer updated). Returns the parameters,
    each start's log-likelihood and whether it stopped by the tolerance."""
    ll = np.full(len(pi), -np.inf)
    active = np.arange(len(pi))
    ones = np.ones((pi.shape[1], 1))
    for _ in range(max_iterations):
        # Sums over classes are products (faster), with no shift before exp: the shift is needed
        # only where a pattern's probability is below e^-745 in every class (dozens of answers
        # each near-impossible in every class), and then only for that iteration.
        logs = _log_joint(u1, theta[active], pi[active])
        joint = np.exp(logs)
        total = joint @ ones
        shift = 0.0
        if not total.all():
            shift = logs.max(axis=2, keepdims=True)
            joint = np.exp(logs - shift)
            total = joint @ ones
        new = (np.log(total) + shift)[..., 0] @ w
        gained, ll[active] = new - ll[active], new
        pi[active], theta[active] = _m_step(u1, joint * (w[:, None] / total))
        active = active[gained >= tolerance]
        if not len(active):
            break
    converged = np.ones(len(pi), dtype=bool)
    converged[active] = False
    return theta, pi, ll, converged


def fit_classes(u1: np.ndarray, w: np.ndarray, k: int, rng: np.random.Generator, spec: dict) -> dict:
    """The best k-class model from random starts, in batches until the best log-likelihood is
    replicated (module docstring) or `max_starts` have been drawn. As Mplus does, each batch
    screens `starts` random starts with `screen_iterations` EM iterations and runs the best
    `keep` of them on to convergence; replication counts those."""
    lls, best, drawn = np.empty(0), None, 0
    while True:
        # A random start (as poLCA's): answer probabilities drawn at random, classes of equal size.
        theta = rng.uniform(0.05, 0.95, size=(spec["starts"], k, u1.shape[1] - 1))
        pi = np.full((spec["starts"], k), 1 / k)
        theta, pi, ll, _ = _em(u1, w, theta, pi, np.inf, spec["screen_iterations"])
        keep = np.argsort(-ll)[: spec["keep"]]
        theta, pi, ll, converged = _em(u1, w, theta[keep], pi[keep], spec["tolerance"], spec["max_iterations"])
        drawn += spec["starts"]
        top = int(np.argmax(ll))
        if best is None or ll[top] > best["log_likelihood"]:
            best = {
                "classes": k,
                "log_likelihood": float(ll[top]),
                "theta": theta[top],
                "pi": pi[top],
                "converged": bool(converged[top]),
            }
        lls = np.concatenate([lls, ll])
        replicated = int((lls >= best["log_likelihood"] - spec["same_within"]).sum())
        if replicated >= spec["replications"] or drawn >= spec["max_starts"]:
            return {**best, "starts": drawn, "replicated": replicated}


def posterior(fit: dict, u1: np.ndarray) -> np.ndarray:
    """P(class | answers) for each pattern (u1: the patterns with a column of ones)."""
    joint = _log_joint(u1, fit["theta"][None], fit["pi"][None])[0]
    return np.exp(joint - special.logsumexp(joint, axis=1, keepdims=True))


def criteria(log_likelihood: float, parameters: int, n: float) -> dict:
    """BIC (Schwarz 1978) and sample-size-adjusted BIC (Sclove 1987)."""
    return {
        "bic": -2 * log_likelihood + parameters * np.log(n),
        "sabic": -2 * log_likelihood + parameters * np.log((n + 2) / 24),
    }


def relative_entropy(membership: np.ndarray, w: np.ndarray) -> float:
    """1 - E / (n log k), E the entropy of the memberships summed over reports (Ramaswamy et al. 1993)."""
    k = membership.shape[1]
    if k == 1:
        return np.nan
    p = np.clip(membership, 1e-15, 1)
    return float(1 + w @ np.sum(p * np.log(p), axis=1) / (w.sum() * np.log(k)))


def search(x: pd.DataFrame, classes: range, spec: dict) -> tuple[pd.DataFrame, dict]:
    """Every class count's best model: the table (SEARCH_COLUMNS) and the fits by class count."""
    u1, w, _ = patterns(x)
    rng = np.random.default_rng(spec["seed"])
    rows, fits = [], {}
    for k in classes:
        fit = fit_classes(u1, w, k, rng, spec)
        parameters = (k - 1) + k * x.shape[1]
        rows.append(
            {
                **{c: fit[c] for c in ("classes", "log_likelihood", "starts", "replicated", "converged")},
                "parameters": parameters,
                **criteria(fit["log_likelihood"], parameters, w.sum()),
                "relative_entropy": relative_entropy(posterior(fit, u1), w),
            }
        )
        fits[k] = fit
    return pd.DataFrame(rows).reindex(columns=SEARCH_COLUMNS), fits


def describe(fit: dict, x: pd.DataFrame, y: pd.Series) -> dict:
    """A fitted model's classes, numbered from the highest withdrawal rate: sizes, indicator
    profiles, and per class the BCH three-step rate beside the naive (modal assignment) one."""
    u1, _, inverse = patterns(x)
    membership = posterior(fit, u1)[inverse]  # one row per report
    _, correction = compute_bch_matrix(membership, "modal")
    assigned = modal(membership)
    corrected = assigned @ correction
    outcome = y.to_numpy(dtype=float)
    bch = corrected.T @ outcome / corrected.sum(axis=0)
    counts = assigned.sum(axis=0)
    naive = np.divide(assigned.T @ outcome, counts, out=np.full(len(counts), np.nan), where=counts > 0)
    order = np.argsort(-bch)
    summary = pd.DataFrame(
        {
            "class": np.arange(1, len(order) + 1),
            "share": 100 * membership.mean(axis=0)[order],
            "withdrawal_bch": 100 * bch[order],
            "withdrawal_modal": 100 * naive[order],
        }
    )
    profiles = pd.DataFrame(fit["theta"][order], index=summary["class"], columns=x.columns)
    return {
        "summary": summary,
        "profiles": profiles,
        "relative_entropy": relative_entropy(membership, np.ones(len(membership))),
    }
