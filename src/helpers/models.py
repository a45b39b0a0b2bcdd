"""The driver models (chapter 07): logistic regressions declared in config/models.yml,
fitted on the analysis dataset with SPSS's statistics (helpers.logit), each on the
distinct covariate patterns of its reports.

`fit_all` returns two tables, written by `python -m helpers fit-models` as
model_terms.csv (one row per coefficient, plus a joint Wald row per categorical variable)
and model_fit.csv (one row per model: sample, fit, R-squares, classification, AUC). A
model that cannot be fitted as declared says why in model_fit.csv (`status`, `messages`)
instead of stopping the others:
- a model with fewer reports than `min_reports` (models.yml) is not fitted;
- a predictor that does not vary in the model's reports is left out;
- a declared reference category with no reports gives way to the most common category;
- where a category's reports all share one outcome (quasi-complete separation; every
  category is checked, the reference and the "no" of a yes/no predictor included), or the
  maximum-likelihood coefficients run away (separation by a combination of predictors),
  the model is fitted on its whole declared sample by Firth's penalised likelihood
  (helpers.logit.firth): its status says "Firth" and the terms concerned are marked
  `separated`;
- a fit that does not converge or is numerically ill-conditioned is flagged; one that
  breaks down is reported as not fitted.
SPSS's joint Wald rows are shown only for models whose status is "ok".
Messages never quote a count of reports, so that no small cell is shown.
"""

import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import linalg

from . import logit
from .errors import InputError, condition
from .io import read_yaml
from .paths import CONFIG

SOURCE = CONFIG / "models.yml"
MODEL_KEYS = {"id", "description", "filter", "outcome", "predictors", "drop", "area"}
UNKNOWN = "Unknown"
TERM_COLUMNS = [
    "model_id",
    "term",
    "variable",
    "category",
    "group",
    "label",
    "n",
    "b",
    "se",
    "wald",
    "df",
    "p",
    "odds_ratio",
    "ci_low",
    "ci_high",
    "times",
    "direction",
    "significant",
    "separated",
]
FIT_COLUMNS = [
    "model_id",
    "description",
    "area",
    "status",
    "messages",
    "n",
    "events",
    "ll_null",
    "ll_model",
    "chi2",
    "df",
    "p",
    "r2_cox_snell",
    "r2_nagelkerke",
    "pct_correct_0",
    "pct_correct_1",
    "pct_correct",
    "auc",
    "iterations",
    "seconds",
]


def load_spec(path: Path = SOURCE) -> dict:
    """The models file, checked: ids unique, keys known, predictor sets defined."""
    spec = read_yaml(path)
    sets = spec.get("predictor_sets", {})
    seen = set()
    for position, model in enumerate(spec.get("models") or [], start=1):
        where = f"{path}: model {model.get('id', f'number {position}')}"
        unknown = set(model) - MODEL_KEYS
        if unknown:
            raise InputError(f"{where}: unknown key {sorted(unknown)[0]!r} (use {', '.join(sorted(MODEL_KEYS))})")
        for key in ("id", "outcome", "predictors"):
            if key not in model:
                raise InputError(f"{where}: '{key}' is missing")
        if str(model["id"]) in seen:
            raise InputError(f"{where}: id {model['id']!r} is used twice")
        seen.add(str(model["id"]))
        for entry in model["predictors"]:
            if isinstance(entry, str) and entry not in sets:
                raise InputError(f"{where}: predictor set {entry!r} is not defined under predictor_sets")
            if isinstance(entry, dict) and "name" not in entry:
                raise InputError(f"{where}: a predictor has no 'name'")
    if not seen:
        raise InputError(f"{path}: no models declared")
    return spec


def predictors(model: dict, spec: dict) -> list[dict]:
    """A model's predictors in order, each {name, reference, group}, sets expanded."""
    chosen: dict[str, dict] = {}
    for entry in model["predictors"]:
        if isinstance(entry, str):
            for item in spec["predictor_sets"][entry]:
                chosen[item["name"]] = {**item, "group": entry}
        else:
            previous = chosen.get(entry["name"], {})  # a re-declared predictor keeps its place and group
            chosen[entry["name"]] = {"group": previous.get("group", "other"), **entry}
    for name in model.get("drop", []):
        chosen.pop(name, None)
    return list(chosen.values())


def with_columns(data: pd.DataFrame, spec: dict) -> pd.DataFrame:
    """The analysis dataset with the models' derived columns."""
    out = data.copy()
    for name, expression in (spec.get("columns") or {}).items():
        try:
            out[name] = out.eval(expression)
        except Exception as exc:
            raise InputError(f"{SOURCE}: columns: {name}: cannot compute {expression!r} ({exc})") from None
    return out


def select(data: pd.DataFrame, model: dict) -> pd.DataFrame:
    expression = (model.get("filter") or "").strip()
    if not expression:
        return data
    return data[condition(data, expression, f"{SOURCE}: model {model['id']}: filter")]


def label(spec: dict, variable: str, category: str | None = None) -> str:
    name = (spec.get("labels") or {}).get(variable, variable)
    return name if category is None else f"{name}: {category}"


def _term(name: str, category) -> str:
    if isinstance(category, (bool, np.bool_)):
        return f"{name}={'yes' if category else 'no'}"
    return f"{name}={category}"


def outcome(data: pd.DataFrame, model: dict) -> np.ndarray:
    """The model's outcome as 0/1: a yes/no column, or 0/1 numbers (as SPSS and Stata export them)."""
    name = model["outcome"]
    values = data.get(name)
    if values is None or not (
        values.dtype == bool or (pd.api.types.is_numeric_dtype(values) and values.isin([0, 1]).all())
    ):
        raise InputError(
            f"{SOURCE}: model {model['id']}: outcome {name!r} is not a yes/no column "
            "(true/false, or 0/1 with no missing values)"
        )
    return values.to_numpy(dtype=float)


def _categories(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each report's category (an index into the sorted labels) and the labels; missing is 'Unknown'."""
    codes, uniques = pd.factorize(values)
    labels = np.array([str(u) for u in uniques] + [UNKNOWN])  # code -1 (missing) takes the last label
    names, merged = np.unique(labels, return_inverse=True)  # a recorded 'Unknown' joins the missing
    return merged.ravel()[codes], names


def design(data: pd.DataFrame, model: dict, spec: dict, messages: list[str]):
    """The 0/1 design matrix (constant first), its term descriptions, and the rows kept (all:
    every model is fitted on its declared sample). A term is marked `separated` where a
    category's reports all share one outcome, so that its maximum-likelihood estimate is
    infinite: the category's own term, or, for the reference (or "no"), the constant and
    every term of the predictor, all measured from it."""
    y = outcome(data, model)
    columns = [np.ones(len(data), dtype=bool)]
    terms = [
        {
            "term": "Constant",
            "variable": "Constant",
            "category": None,
            "group": "constant",
            "label": "Constant",
            "separated": False,
        }
    ]
    for predictor in predictors(model, spec):
        name = predictor["name"]
        if name not in data.columns:
            raise InputError(
                f"{SOURCE}: model {model['id']}: predictor {name!r} is not a column of the analysis dataset"
            )
        boolean = data[name].dtype == bool
        if boolean and "reference" in predictor:
            raise InputError(f"{SOURCE}: model {model['id']}: {name} is yes/no and takes no reference")
        if boolean:
            codes, names = data[name].to_numpy().astype(int), np.array([False, True])
        else:
            codes, names = _categories(data[name])
        counts = np.bincount(codes, minlength=len(names))
        if (counts > 0).sum() < 2:
            messages.append(f"{name}: does not vary in this model's reports; left out")
            continue
        events = np.bincount(codes, weights=y, minlength=len(names))
        pure = [names[i] for i in np.flatnonzero((counts > 0) & ((events == 0) | (events == counts)))]
        if boolean:
            reference = False
        else:
            reference = str(predictor.get("reference", ""))
            if reference not in names[counts > 0]:
                fallback = str(names[np.argmax(counts)])
                messages.append(f"{name}: reference {reference!r} has no reports; {fallback!r} used instead")
                reference = fallback
        for category in pure:
            messages.append(f"{_term(name, category)}: every report in this category has the same outcome (separation)")
        from_reference = reference in pure
        if from_reference:
            terms[0]["separated"] = True
        for i in np.flatnonzero(counts > 0):
            if names[i] == reference:
                continue
            columns.append(codes == i)
            term, category = (name, None) if boolean else (f"{name}={names[i]}", names[i])
            terms.append(
                {
                    "term": term,
                    "variable": name,
                    "category": category,
                    "group": predictor["group"],
                    "label": label(spec, name, category),
                    "separated": from_reference or names[i] in pure,
                }
            )
    return np.column_stack(columns), terms, np.ones(len(data), dtype=bool)


def drop_collinear(x: np.ndarray, terms: list[dict], messages: list[str], weights: np.ndarray | None = None):
    """Leave out terms that are exact combinations of earlier ones (SPSS calls them redundant).
    `weights` counts the reports of each row when x holds covariate patterns."""
    x = np.asarray(x, dtype=float)
    gram = x.T @ (x if weights is None else x * weights[:, None])  # x'x has the rank of x

    def independent(columns):
        return np.linalg.matrix_rank(gram[np.ix_(columns, columns)]) == len(columns)

    keep = list(range(x.shape[1]))
    while not independent(keep):
        # The first term in the span of the terms before it, by bisection: leading blocks lose rank from there on.
        low, high = 1, len(keep) - 1
        while low < high:
            middle = (low + high) // 2
            low, high = (middle + 1, high) if independent(keep[: middle + 1]) else (low, middle)
        messages.append(f"{terms[keep[low]]['term']}: redundant (a combination of other terms); left out")
        del keep[low]
    return x[:, keep], [terms[i] for i in keep]


def term_rows(model_id: str, result: logit.Fit, reports: np.ndarray, terms: list[dict], joint: bool) -> list[dict]:
    """One row per coefficient and, if `joint`, SPSS's joint Wald row per categorical variable;
    `reports` counts the reports in each term's category."""
    rows = []
    low, high = (np.exp(result.b + sign * logit.Z95 * result.se) for sign in (-1, 1))
    for i, term in enumerate(terms):
        odds = float(np.exp(result.b[i]))
        rows.append(
            {
                "model_id": model_id,
                **term,
                "n": int(round(reports[i])),
                "b": result.b[i],
                "se": result.se[i],
                "wald": result.wald[i],
                "df": 1,
                "p": result.p[i],
                "odds_ratio": odds,
                "ci_low": low[i],
                "ci_high": high[i],
                "times": odds if odds >= 1 else 1 / odds,
                "direction": "more" if odds >= 1 else "less",
                "significant": bool(result.p[i] < 0.05),
            }
        )
    by_variable: dict[str, list[int]] = {}
    for i, term in enumerate(terms):
        if term["category"] is not None:
            by_variable.setdefault(term["variable"], []).append(i)
    for variable, columns in by_variable.items():
        if joint and len(columns) > 1:
            statistic, df, p = logit.joint_wald(result, columns)
            first = terms[columns[0]]
            rows.append(
                {
                    "model_id": model_id,
                    "term": variable,
                    "variable": variable,
                    "category": None,
                    "group": first["group"],
                    "label": first["label"].split(": ")[0],
                    "n": int(round(reports[columns].sum())),
                    "wald": statistic,
                    "df": df,
                    "p": p,
                    "significant": bool(p < 0.05),
                    "separated": False,
                }
            )
    return rows


def _estimate(x: np.ndarray, successes: np.ndarray, trials: np.ndarray, terms: list[dict], messages: list[str]):
    """Maximum likelihood, or Firth's penalised likelihood where a term is separated: found in
    the design, or by the maximum-likelihood fit itself (coefficients that run away, or an
    information matrix that becomes singular: separation by a combination of predictors)."""
    if not any(t["separated"] for t in terms):
        try:
            result = logit.fit(x, successes, trials)
        except linalg.LinAlgError:
            messages.append("the maximum-likelihood fit broke down (a singular information matrix: separation)")
        else:
            runaway = [i for i, b in enumerate(result.b) if not abs(b) <= logit.HUGE_B]
            if not runaway:
                return result
            for i in runaway:
                terms[i]["separated"] = True
            messages.append(
                "coefficients run away (separation by a combination of predictors): "
                + ", ".join(terms[i]["term"] for i in runaway)
            )
    messages.append(
        "fitted by Firth's penalised likelihood: finite estimates for the separated terms, Wald "
        "intervals, and the chi-square is logistf's penalised likelihood ratio test"
    )
    return logit.firth(x, successes, trials)


def fit_model(data: pd.DataFrame, model: dict, spec: dict) -> tuple[dict, list[dict]]:
    """One model's fit row and term rows; problems go in the fit row's messages."""
    started = time.perf_counter()
    model_id = str(model["id"])
    messages: list[str] = []
    fit_row = {"model_id": model_id, "description": model.get("description", ""), "area": model.get("area", "")}
    subset = select(data, model)
    y = outcome(subset, model)
    least = int(spec.get("min_reports", 0))
    if len(subset) < least:
        fit_row.update(n=len(subset), events=int(y.sum()))
        return {
            **fit_row,
            "status": "too few reports",
            "messages": f"not fitted: fewer than {least} reports in this model (min_reports)",
        }, []
    x, terms, _ = design(subset, model, spec, messages)
    x, terms = drop_collinear(x, terms, messages)
    # Reports sharing a row of the design share a fitted probability: fit the distinct rows, weighted.
    x, successes, trials = logit.patterns(x, y)
    fit_row.update(n=int(trials.sum()), events=int(successes.sum()))
    try:
        result = _estimate(x, successes, trials, terms, messages)
    except linalg.LinAlgError:
        messages.append("not fitted: the fit broke down (a singular information matrix)")
        return {**fit_row, "status": "error", "messages": "; ".join(messages)}, []
    except ValueError as exc:
        messages.append(f"not fitted: {exc}")
        return {**fit_row, "status": "error", "messages": "; ".join(messages)}, []
    status = "ok" if result.method == "ML" else result.method  # "Firth"
    if result.ill_conditioned:
        status = "ill-conditioned"
        messages.append("numerically ill-conditioned (nearly collinear predictors); estimates are not reliable")
    if not result.converged:
        status = "not converged"
        messages.append(f"no convergence after {result.iterations} iterations; estimates are not reliable")
    correct_0, correct_1, correct = logit.classification(successes, result.probability, trials)
    fit_row.update(
        status=status,
        messages="; ".join(messages),
        ll_null=result.ll_null,
        ll_model=result.ll_model,
        chi2=result.chi2,
        df=x.shape[1] - 1,
        p=float(logit.stats.chi2.sf(result.chi2, x.shape[1] - 1)),
        r2_cox_snell=result.r2_cox_snell,
        r2_nagelkerke=result.r2_nagelkerke,
        pct_correct_0=correct_0,
        pct_correct_1=correct_1,
        pct_correct=correct,
        auc=logit.auc(successes, result.probability, trials),
        iterations=result.iterations,
        seconds=round(time.perf_counter() - started, 2),
    )
    return fit_row, term_rows(model_id, result, trials @ x, terms, joint=status == "ok")


def fit_all(data: pd.DataFrame, spec: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every declared model: (model_fit, model_terms)."""
    data = with_columns(data, spec)
    fits, terms = [], []
    for model in spec["models"]:
        fit_row, term_list = fit_model(data, model, spec)
        fits.append(fit_row)
        terms += term_list
    return (pd.DataFrame(fits).reindex(columns=FIT_COLUMNS), pd.DataFrame(terms).reindex(columns=TERM_COLUMNS))


def write(fits: pd.DataFrame, terms: pd.DataFrame, out: Path) -> None:
    """Both tables, written whole or not at all."""
    out.mkdir(parents=True, exist_ok=True)
    staged = {name: out / f".{name}.partial" for name in ("model_fit.csv", "model_terms.csv")}
    fits.drop(columns="seconds").to_csv(staged["model_fit.csv"], index=False, float_format="%.10g")
    terms.to_csv(staged["model_terms.csv"], index=False, float_format="%.10g")
    for name, path in staged.items():
        path.replace(out / name)
