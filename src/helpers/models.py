"""The driver models (chapter 07): logistic regressions declared in config/models.yml,
fitted on the analysis dataset with SPSS's statistics (helpers.logit).

`fit_all` returns two tables, written by `python -m helpers fit-models` as
model_terms.csv (one row per coefficient, plus a joint Wald row per categorical variable)
and model_fit.csv (one row per model: sample, fit, R-squares, classification, AUC). A
model that cannot be fitted as declared says why in model_fit.csv (`status`, `messages`)
instead of stopping the others:
- a predictor that does not vary in the model's reports is left out;
- a category with too few reports to estimate (every report in it has the same outcome:
  quasi-complete separation) is left out with its reports, which is the limit of the
  maximum-likelihood fit for every other coefficient;
- a declared reference category with no reports gives way to the most common category;
- a fit that does not converge, or whose coefficients run away, is flagged.
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
TERM_COLUMNS = ["model_id", "term", "variable", "category", "group", "label", "n", "b", "se", "wald", "df", "p",
                "odds_ratio", "ci_low", "ci_high", "times", "direction", "significant"]
FIT_COLUMNS = ["model_id", "description", "area", "status", "messages", "n", "events", "ll_null", "ll_model",
               "chi2", "df", "p", "r2_cox_snell", "r2_nagelkerke", "pct_correct_0", "pct_correct_1", "pct_correct",
               "auc", "iterations", "seconds"]


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


def design(data: pd.DataFrame, model: dict, spec: dict, messages: list[str]):
    """The 0/1 design matrix (constant first), its term descriptions, and the rows kept."""
    keep = np.ones(len(data), dtype=bool)
    y = data[model["outcome"]].to_numpy(dtype=float)
    columns, terms = [np.ones(len(data))], [{"term": "Constant", "variable": "Constant", "category": None,
                                             "group": "constant", "label": "Constant"}]
    for predictor in predictors(model, spec):
        name = predictor["name"]
        if name not in data.columns:
            raise InputError(f"{SOURCE}: model {model['id']}: predictor {name!r} is not a column of the analysis dataset")
        values = data[name]
        if values.dtype == bool:
            if "reference" in predictor:
                raise InputError(f"{SOURCE}: model {model['id']}: {name} is yes/no and takes no reference")
            levels = {name: values.to_numpy()}
            base = {"variable": name, "category": None, "group": predictor["group"], "label": label(spec, name)}
            described = [{**base, "term": name}]
        else:
            values = values.fillna(UNKNOWN).astype(str)
            counts = values.value_counts()
            reference = str(predictor.get("reference", ""))
            if reference not in counts.index:
                fallback = counts.index[0]
                messages.append(f"{name}: reference {reference!r} has no reports; {fallback!r} used instead")
                reference = fallback
            categories = sorted(c for c in counts.index if c != reference)
            levels = {f"{name}={c}": (values == c).to_numpy() for c in categories}
            described = [{"term": f"{name}={c}", "variable": name, "category": c, "group": predictor["group"],
                          "label": label(spec, name, c)} for c in categories]
        if not levels or all(level[keep].all() or not level[keep].any() for level in levels.values()):
            messages.append(f"{name}: does not vary in this model's reports; left out")
            continue
        for (term, level), info in zip(levels.items(), described):
            outcomes = y[keep & level]
            if outcomes.size and (outcomes.min() == outcomes.max()):
                messages.append(f"{term}: all {outcomes.size} reports have outcome {int(outcomes[0])} "
                                f"(separation); left out with its reports")
                keep &= ~level
                continue
            columns.append(level.astype(float))
            terms.append(info)
    x = np.column_stack(columns)[keep]
    varying = [0] + [i for i in range(1, x.shape[1]) if 0 < x[:, i].sum() < len(x)]
    for i in sorted(set(range(x.shape[1])) - set(varying)):
        messages.append(f"{terms[i]['term']}: no reports left in this category; left out")
    return x[:, varying], [terms[i] for i in varying], keep


def drop_collinear(x: np.ndarray, terms: list[dict], messages: list[str]):
    """Leave out terms that are exact combinations of earlier ones (SPSS calls them redundant)."""
    keep = [0]
    for i in range(1, x.shape[1]):
        trial = keep + [i]
        if np.linalg.matrix_rank(x[:, trial].T @ x[:, trial]) == len(trial):
            keep = trial
        else:
            messages.append(f"{terms[i]['term']}: redundant (a combination of other terms); left out")
    return x[:, keep], [terms[i] for i in keep]


def term_rows(model_id: str, result: logit.Fit, x: np.ndarray, terms: list[dict]) -> list[dict]:
    rows = []
    low, high = (np.exp(result.b + sign * logit.Z95 * result.se) for sign in (-1, 1))
    for i, term in enumerate(terms):
        odds = float(np.exp(result.b[i]))
        rows.append({"model_id": model_id, **term, "n": int(x[:, i].sum()), "b": result.b[i], "se": result.se[i],
                     "wald": result.wald[i], "df": 1, "p": result.p[i], "odds_ratio": odds, "ci_low": low[i],
                     "ci_high": high[i], "times": odds if odds >= 1 else 1 / odds,
                     "direction": "more" if odds >= 1 else "less", "significant": bool(result.p[i] < 0.05)})
    by_variable: dict[str, list[int]] = {}
    for i, term in enumerate(terms):
        if term["category"] is not None:
            by_variable.setdefault(term["variable"], []).append(i)
    for variable, columns in by_variable.items():
        if len(columns) > 1:
            statistic, df, p = logit.joint_wald(result, columns)
            first = terms[columns[0]]
            rows.append({"model_id": model_id, "term": variable, "variable": variable, "category": None,
                         "group": first["group"], "label": first["label"].split(": ")[0],
                         "n": int(x[:, columns].sum()), "wald": statistic, "df": df, "p": p,
                         "significant": bool(p < 0.05)})
    return rows


def fit_model(data: pd.DataFrame, model: dict, spec: dict) -> tuple[dict, list[dict]]:
    """One model's fit row and term rows; problems go in the fit row's messages."""
    started = time.perf_counter()
    model_id = str(model["id"])
    messages: list[str] = []
    fit_row = {"model_id": model_id, "description": model.get("description", ""), "area": model.get("area", "")}
    subset = select(data, model)
    if model["outcome"] not in subset.columns or subset[model["outcome"]].dtype != bool:
        raise InputError(f"{SOURCE}: model {model_id}: outcome {model['outcome']!r} is not a yes/no column")
    x, terms, keep = design(subset, model, spec, messages)
    x, terms = drop_collinear(x, terms, messages)
    y = subset[model["outcome"]].to_numpy(dtype=float)[keep]
    fit_row.update(n=len(y), events=int(y.sum()))
    try:
        result = logit.fit(x, y)
    except (ValueError, linalg.LinAlgError) as exc:
        messages.append(f"not fitted: {exc}")
        return {**fit_row, "status": "error", "messages": "; ".join(messages)}, []
    status = "ok"
    if not result.converged:
        status = "not converged"
        messages.append(f"no convergence after {result.iterations} iterations; estimates are not reliable")
    runaway = [t["term"] for t, b in zip(terms, result.b) if abs(b) > logit.HUGE_B]
    if runaway:
        status = "separation"
        messages.append(f"coefficients run away (possible separation): {', '.join(runaway)}")
    correct_0, correct_1, correct = logit.classification(y, result.probability)
    fit_row.update(status=status, messages="; ".join(messages), ll_null=result.ll_null, ll_model=result.ll_model,
                   chi2=result.chi2, df=x.shape[1] - 1, p=float(logit.stats.chi2.sf(result.chi2, x.shape[1] - 1)),
                   r2_cox_snell=result.r2_cox_snell, r2_nagelkerke=result.r2_nagelkerke, pct_correct_0=correct_0,
                   pct_correct_1=correct_1, pct_correct=correct, auc=logit.auc(y, result.probability),
                   iterations=result.iterations, seconds=round(time.perf_counter() - started, 2))
    return fit_row, term_rows(model_id, result, x, terms)


def fit_all(data: pd.DataFrame, spec: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every declared model: (model_fit, model_terms)."""
    data = with_columns(data, spec)
    fits, terms = [], []
    for model in spec["models"]:
        fit_row, term_list = fit_model(data, model, spec)
        fits.append(fit_row)
        terms += term_list
    return (pd.DataFrame(fits).reindex(columns=FIT_COLUMNS),
            pd.DataFrame(terms).reindex(columns=TERM_COLUMNS))


def write(fits: pd.DataFrame, terms: pd.DataFrame, out: Path) -> None:
    """Both tables, written whole or not at all."""
    out.mkdir(parents=True, exist_ok=True)
    staged = {name: out / f".{name}.partial" for name in ("model_fit.csv", "model_terms.csv")}
    fits.drop(columns="seconds").to_csv(staged["model_fit.csv"], index=False, float_format="%.10g")
    terms.to_csv(staged["model_terms.csv"], index=False, float_format="%.10g")
    for name, path in staged.items():
        path.replace(out / name)
