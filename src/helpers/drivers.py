"""Chapter 07's reading of the fitted driver models (helpers.models): the models table
beside the pack's, the pack's published odds ratios beside the fitted ones, each crime
area's key findings written from the fitted terms, and the sentences that state them.

A term describing fewer than `threshold` reports is never shown (the suppression rule);
a finding is a term significant at 95%, as in the pack. Key findings leave out the
categories that record missing information ("Unknown", "Not recorded": `key_findings` in
config/models.yml) unless that file asks for them; the full tables keep them.

Every sentence that states a direction is written here from the run's estimates and tests,
and says so when a difference is not significant.

A driver is specific to a crime area when its effect there differs from its effect in the
all-crime model (model 3), by a test of the difference, not by one being significant and
the other not (Gelman & Stern 2006, Am. Stat. 60:328). The area's reports are among model
3's, so the all-crime coefficient pools the area's with the rest's, and the difference of
the two has variance se_area^2 - se_all^2 (Hausman 1978, Econometrica 46:1251): the Wald
test of the area x driver interaction in a pooled model. Only terms that mean the same in
both models are compared (same name and reference category). The tests of every area
model are one family, controlled by the Benjamini-Hochberg procedure (Benjamini &
Hochberg 1995, J. R. Stat. Soc. B 57:289; statsmodels `multipletests`).

The pack's contrasts of models 15 and 16 (suspect not recorded against recorded) and 17
and 18 (suspect not known against known) compare a driver between two models fitted on
disjoint reports: the difference of the two coefficients has variance se_a^2 + se_b^2
(a Wald test on independent samples), Benjamini-Hochberg across every driver compared.
"""

import base64
import html

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from . import display, published
from .calibration import OR_TOLERANCE
from .models import label, load_spec, predictors

SPECIFIC_FDR = 0.05  # the pack's 95%, as a false discovery rate across every driver compared


def coefficients(terms: pd.DataFrame, model_id: str) -> pd.DataFrame:
    """A model's single-coefficient rows (no constant, no joint Wald rows), by term."""
    rows = terms[(terms["model_id"] == model_id) & (terms["df"] == 1) & (terms["term"] != "Constant")]
    return rows.set_index("term")


def models_table(fits: pd.DataFrame) -> pd.DataFrame:
    """The pack's "Regression models" table: this run's sample, R-square and % correct beside the pack's."""
    pack = published.load("regression_models").reset_index()
    pack = pack.pivot(index="model_id", columns="statistic", values="value")
    table = fits[
        [
            "model_id",
            "description",
            "status",
            "n",
            "r2_nagelkerke",
            "pct_correct_0",
            "pct_correct_1",
            "pct_correct",
            "auc",
        ]
    ].copy()
    table["r2_nagelkerke"] = 100 * table["r2_nagelkerke"]
    for statistic in ("n", "r2_nagelkerke", "pct_correct"):
        table[f"pack_{statistic}"] = table["model_id"].map(pack[statistic])
    return table


def pack_odds_ratios(terms: pd.DataFrame, spec: dict | None = None) -> pd.DataFrame:
    """Every odds ratio the pack publishes for a driver these models estimate, beside the fitted one:
    the all-crime model's headline drivers (withdrawal_headlines) and the crime-area odds ratios
    of driver_odds_ratios_by_area, each with its published `key`."""
    spec = spec or load_spec()
    drivers = spec["pack_drivers"]
    model_of = {m["area"]: str(m["id"]) for m in spec["models"] if m.get("area")}
    headlines = published.load("withdrawal_headlines")
    wanted = [
        (key, "all", key.removeprefix("or_"), row["measure"], row["value"])
        for key, row in headlines.iterrows()
        if key.startswith("or_")
    ]
    by_area = published.load("driver_odds_ratios_by_area")
    wanted += [(key, row["crime_area"], row["term"], row["measure"], row["value"]) for key, row in by_area.iterrows()]
    rows = []
    for key, area, driver, measure, target in wanted:
        model_id = model_of.get(area)
        fitted = coefficients(terms, model_id) if model_id else pd.DataFrame()
        term = drivers.get(driver)
        row = {
            "key": key,
            "area": area,
            "model_id": model_id,
            "driver": driver,
            "term": term,
            "measure": measure,
            "published": target,
            "odds_ratio": np.nan,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "n": np.nan,
            "p": np.nan,
            "within": pd.NA,
        }
        if term in fitted.index:
            hit = fitted.loc[term]
            row.update(
                odds_ratio=hit["odds_ratio"],
                ci_low=hit["ci_low"],
                ci_high=hit["ci_high"],
                n=hit["n"],
                p=hit["p"],
                within=bool(abs(hit["odds_ratio"] / target - 1) <= OR_TOLERANCE),
            )
        rows.append(row)
    table = pd.DataFrame(rows)
    table["within"] = table["within"].astype("boolean")
    return table


def non_substantive(rows: pd.DataFrame, spec: dict | None = None) -> pd.Series:
    """True for terms whose category records missing information (config/models.yml
    `key_findings: non_substantive`), unless `include_non_substantive` is set."""
    settings = (spec or load_spec()).get("key_findings") or {}
    if settings.get("include_non_substantive", False):
        return pd.Series(False, index=rows.index)
    names = {str(n).casefold() for n in settings.get("non_substantive", [])}
    return rows["category"].map(lambda c: isinstance(c, str) and c.casefold() in names).astype(bool)


def findings(terms: pd.DataFrame, model_id: str, threshold: int, top: int = 3, spec: dict | None = None) -> dict:
    """The key findings of one model: its `top` strongest significant drivers each way,
    non-substantive categories left out (non_substantive)."""
    rows = coefficients(terms, model_id)
    rows = rows[rows["significant"] & (rows["n"] >= threshold)]
    rows = rows[~non_substantive(rows, spec)]
    more = rows[rows["direction"] == "more"].sort_values("times", ascending=False).head(top)
    less = rows[rows["direction"] == "less"].sort_values("times", ascending=False).head(top)
    return {"more": more, "less": less}


def wald_difference(b_area, se_area, b_all, se_all) -> tuple[np.ndarray, np.ndarray]:
    """z and two-sided p of the difference between an area model's coefficient and the
    all-crime model's, the area's reports being among the all-crime model's: variance
    se_area^2 - se_all^2 (Hausman 1978); NaN where that is not positive."""
    b_area, se_area, b_all, se_all = (np.asarray(v, dtype=float) for v in (b_area, se_area, b_all, se_all))
    variance = se_area**2 - se_all**2
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(variance > 0, (b_area - b_all) / np.sqrt(variance), np.nan)
    return z, 2 * stats.norm.sf(np.abs(z))


def _bh_q(p: pd.Series) -> pd.Series:
    """Benjamini-Hochberg q-values of the p-values that exist (NaN: no test), as one family."""
    q = pd.Series(np.nan, index=p.index)
    tested = p.notna()
    if tested.any():
        q[tested] = multipletests(p[tested], alpha=SPECIFIC_FDR, method="fdr_bh")[1]
    return q


def _references(model: dict, spec: dict) -> dict[str, str]:
    return {p["name"]: str(p.get("reference", "")) for p in predictors(model, spec)}


def area_differences(
    terms: pd.DataFrame, threshold: int, spec: dict | None = None, baseline: str = "3"
) -> pd.DataFrame:
    """Every driver of every crime-area model that means the same in the all-crime model
    (`baseline`) and describes at least `threshold` reports there: both odds ratios, the
    Wald test of their difference (wald_difference), its Benjamini-Hochberg q-value across
    all of them, and `specific` (q at most SPECIFIC_FDR)."""
    spec = spec or load_spec()
    models = {str(m["id"]): m for m in spec["models"]}
    general = coefficients(terms, baseline)
    reference = _references(models[baseline], spec)
    parts = []
    for model in spec["models"]:
        model_id = str(model["id"])
        if model.get("area") in (None, "all") or model_id == baseline:
            continue
        rows = coefficients(terms, model_id)
        own = _references(model, spec)
        same = [
            t
            for t, v in zip(rows.index, rows["variable"], strict=True)
            if t in general.index and own.get(v) == reference.get(v) and rows.loc[t, "n"] >= threshold
        ]
        rows = rows.loc[same]
        parts.append(
            pd.DataFrame(
                {
                    "model_id": model_id,
                    "area": model["area"],
                    "term": same,
                    "label": rows["label"].to_numpy(),
                    "n": rows["n"].to_numpy(),
                    "b": rows["b"].to_numpy(),
                    "se": rows["se"].to_numpy(),
                    "b_all": general.loc[same, "b"].to_numpy(),
                    "se_all": general.loc[same, "se"].to_numpy(),
                }
            )
        )
    table = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=["model_id", "area", "term", "label", "n", "b", "se", "b_all", "se_all"])
    )
    table["z"], table["p"] = wald_difference(table["b"], table["se"], table["b_all"], table["se_all"])
    table["q"] = _bh_q(table["p"])
    table["odds_ratio"], table["odds_ratio_all"] = np.exp(table["b"]), np.exp(table["b_all"])
    table["specific"] = table["q"] <= SPECIFIC_FDR
    return table


def specific_findings(differences: pd.DataFrame, model_id: str, spec: dict | None = None, top: int = 5) -> pd.DataFrame:
    """An area model's specific drivers (area_differences), non-substantive categories left
    out, the largest differences from the all-crime model first."""
    rows = differences[(differences["model_id"] == model_id) & differences["specific"].astype(bool)]
    rows = rows[~non_substantive(rows.assign(category=rows["term"].map(lambda t: t.partition("=")[2] or None)), spec)]
    return rows.loc[(rows["b"] - rows["b_all"]).abs().sort_values(ascending=False).index].head(top)


def times(odds_ratio: float) -> str:
    """'2.1x more likely' or '1.6x less likely'."""
    return f"{odds_ratio:.1f}x more likely" if odds_ratio >= 1 else f"{1 / odds_ratio:.1f}x less likely"


def phrase_specific(rows: pd.DataFrame) -> str:
    """'Rape (here 3.1x more likely; all crime 2.0x more likely); ...' or 'none'."""
    if rows.empty:
        return "none"
    return "; ".join(
        f"{r.label} (here {times(r.odds_ratio)}; all crime {times(r.odds_ratio_all)})" for r in rows.itertuples()
    )


def phrase(rows: pd.DataFrame) -> str:
    """'Crime type: Rape (3.2x more likely); ...' or 'none significant at 95%'."""
    if rows.empty:
        return "none significant at 95%"
    return "; ".join(f"{r.label} ({r.times:.1f}x {r.direction} likely)" for r in rows.itertuples())


def model_title(fit, threshold: int) -> str:
    """'Model 3: description (39,919 reports, ok)'; a sample under the threshold is not counted."""
    n = f"{fit.n:,.0f} reports" if fit.n >= threshold else f"fewer than {threshold} reports"
    return f"Model {fit.model_id}: {fit.description} ({n}, {fit.status})"


NOT_MODELLED = "not in this book's models"
SAME, OPPOSITE, NOT_SIGNIFICANT = "significant, same direction", "significant, opposite direction", "not significant"


def beside(pack: pd.DataFrame, terms: pd.DataFrame, threshold: int, spec: dict | None = None) -> pd.DataFrame:
    """The pack's published drivers (rows with `model_id`, `term` and `direction`, as in
    data/published/drivers_*.csv) with this run's odds ratio, interval and p for the same
    term of the same model, and `here`: how the run compares (SAME, OPPOSITE,
    NOT_SIGNIFICANT), or why there is no estimate (not in the book's models, the reference
    category, not estimated on this run, or too few reports to show)."""
    spec = spec or load_spec()
    models = {str(m["id"]): m for m in spec["models"]}
    out = pack.copy()
    for column in ("odds_ratio", "ci_low", "ci_high", "p"):
        out[column] = np.nan
    out["here"] = ""
    for key, row in pack.iterrows():
        model_id, term = str(row["model_id"]), row["term"] if isinstance(row["term"], str) else ""
        variable, _, category = term.partition("=")
        declared = {p["name"]: p for p in predictors(models[model_id], spec)} if model_id in models else {}
        fitted = coefficients(terms, model_id)
        if not term or variable not in declared:
            out.loc[key, "here"] = NOT_MODELLED if not term else f"not in this book's model {model_id}"
        elif category and category == str(declared[variable].get("reference", "")):
            out.loc[key, "here"] = f"the reference category of this book's model {model_id}"
        elif term not in fitted.index:
            out.loc[key, "here"] = "not estimated on this run"
        elif fitted.loc[term, "n"] < threshold:
            out.loc[key, "here"] = f"fewer than {threshold} reports"
        else:
            hit = fitted.loc[term]
            out.loc[key, ["odds_ratio", "ci_low", "ci_high", "p"]] = [
                hit["odds_ratio"],
                hit["ci_low"],
                hit["ci_high"],
                hit["p"],
            ]
            if hit["p"] >= 0.05:
                out.loc[key, "here"] = NOT_SIGNIFICANT
            else:
                out.loc[key, "here"] = SAME if hit["direction"] == row["direction"] else OPPOSITE
    return out


def agreement_sentence(table: pd.DataFrame, what: str) -> str:
    """How this run's estimates compare with the pack's findings in `table` (from beside):
    'Of the pack's 11 published drivers for hate crime, this run estimates 9: 6 significant
    at 95% in the same direction as the pack's, ...'."""
    counts = table["here"].value_counts()
    estimated = int(counts.get(SAME, 0) + counts.get(OPPOSITE, 0) + counts.get(NOT_SIGNIFICANT, 0))
    total = len(table)
    if total == 0:
        return f"The pack publishes no drivers {what}."
    if estimated == 0:
        return f"This run estimates none of the pack's {total} published drivers {what}."
    return (
        f"Of the pack's {total} published drivers {what}, this run estimates {estimated}: "
        f"{counts.get(SAME, 0)} significant at 95% in the same direction as the pack's, "
        f"{counts.get(OPPOSITE, 0)} significant in the opposite direction and "
        f"{counts.get(NOT_SIGNIFICANT, 0)} not significant"
        + (f"; {total - estimated} have no estimate here (the table says why)." if total > estimated else ".")
    )


def contrasts(
    terms: pd.DataFrame, pairs: list[tuple[str, str]], threshold: int, spec: dict | None = None
) -> pd.DataFrame:
    """Every driver estimated in both models of each pair (same term, same reference, at
    least `threshold` reports in each): both odds ratios, the Wald test of their difference
    on independent samples (variance se_a^2 + se_b^2) and its Benjamini-Hochberg q across
    all pairs; `differs` where q is at most SPECIFIC_FDR."""
    spec = spec or load_spec()
    models = {str(m["id"]): m for m in spec["models"]}
    parts = []
    for a, b in pairs:
        rows_a, rows_b = coefficients(terms, a), coefficients(terms, b)
        ref_a, ref_b = _references(models[a], spec), _references(models[b], spec)
        shared = [
            t
            for t in rows_a.index
            if t in rows_b.index
            and ref_a.get(rows_a.loc[t, "variable"]) == ref_b.get(rows_a.loc[t, "variable"])
            and min(rows_a.loc[t, "n"], rows_b.loc[t, "n"]) >= threshold
        ]
        parts.append(
            pd.DataFrame(
                {
                    "pair": f"{a}_{b}",
                    "model_a": a,
                    "model_b": b,
                    "term": shared,
                    "label": rows_a.loc[shared, "label"].to_numpy(),
                    "b_a": rows_a.loc[shared, "b"].to_numpy(),
                    "se_a": rows_a.loc[shared, "se"].to_numpy(),
                    "b_b": rows_b.loc[shared, "b"].to_numpy(),
                    "se_b": rows_b.loc[shared, "se"].to_numpy(),
                }
            )
        )
    columns = ["pair", "model_a", "model_b", "term", "label", "b_a", "se_a", "b_b", "se_b"]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    b_a, b_b = table["b_a"].astype(float), table["b_b"].astype(float)
    se = np.sqrt(table["se_a"].astype(float) ** 2 + table["se_b"].astype(float) ** 2)
    table["z"] = (b_a - b_b) / se
    table["p"] = 2 * stats.norm.sf(np.abs(table["z"]))
    table["q"] = _bh_q(table["p"])
    table["odds_ratio_a"], table["odds_ratio_b"] = np.exp(b_a), np.exp(b_b)
    table["differs"] = table["q"] <= SPECIFIC_FDR
    return table


def contrast_sentence(label: str, when_a: str, or_a: float, when_b: str, or_b: float, q: float) -> str:
    """One driver in two models, from the test of the difference: 'Rape is a stronger driver
    when no suspect is recorded (6.5x more likely, against 2.4x more likely when one is);
    the difference is significant (q = 0.001).', or says that it is not significant."""
    if any(pd.isna(v) for v in (or_a, or_b, q)):
        return f"{label}: not estimated in both models on this run."
    test = f"q = {q:.2g}"
    if q > SPECIFIC_FDR:
        return (
            f"{label}: {times(or_a)} {when_a} and {times(or_b)} {when_b}; the difference is not significant ({test})."
        )
    if (or_a >= 1) != (or_b >= 1):
        return (
            f"{label} makes withdrawal {times(or_a)} {when_a} but {times(or_b)} {when_b}; "
            f"the difference is significant ({test})."
        )
    (strong, weak) = ((when_a, or_a), (when_b, or_b))
    if abs(np.log(or_b)) > abs(np.log(or_a)):
        strong, weak = weak, strong
    return (
        f"{label} is a stronger driver {strong[0]} ({times(strong[1])}, against {times(weak[1])} {weak[0]}); "
        f"the difference is significant ({test})."
    )


def likeness(terms: pd.DataFrame, model_a: str, model_b: str, threshold: int) -> dict:
    """How far two models' drivers agree: of the terms in both with at least `threshold`
    reports, how many are significant in both (pointing the same way or not) or in one only."""
    rows_a, rows_b = coefficients(terms, model_a), coefficients(terms, model_b)
    shared = [t for t in rows_a.index if t in rows_b.index]
    a, b = rows_a.loc[shared], rows_b.loc[shared]
    kept = (a["n"] >= threshold) & (b["n"] >= threshold)
    a, b = a[kept], b[kept]
    sig_a, sig_b = a["significant"].astype(bool), b["significant"].astype(bool)
    both = sig_a & sig_b
    same = both & (a["direction"] == b["direction"])
    return {
        "compared": int(kept.sum()),
        "both": int(both.sum()),
        "same": int(same.sum()),
        "opposite": int((both & ~same).sum()),
        "only_a": int((sig_a & ~sig_b).sum()),
        "only_b": int((sig_b & ~sig_a).sum()),
    }


def likeness_sentence(counts: dict, name_a: str, name_b: str) -> str:
    """'Of the 60 drivers in both models, 20 are significant in both: 18 point the same way
    and 2 the opposite way; 10 are significant only in <a> and 5 only in <b>.'"""
    if counts["compared"] == 0:
        return f"No driver is estimated in both {name_a} and {name_b} on this run."
    if counts["both"] == 0:
        head = f"Of the {counts['compared']} drivers in both models, none is significant in both"
    else:
        ways = (
            "all point the same way"
            if counts["opposite"] == 0
            else "none points the same way"
            if counts["same"] == 0
            else f"{counts['same']} point the same way and {counts['opposite']} the opposite way"
        )
        head = f"Of the {counts['compared']} drivers in both models, {counts['both']} are significant in both: {ways}"
    return f"{head}; {counts['only_a']} are significant only in {name_a} and {counts['only_b']} only in {name_b}."


def reach_sentence(terms: pd.DataFrame, term: str, label: str, model_ids: list[str], threshold: int) -> str:
    """In how many of `model_ids` a driver is significant, and which way: 'Suspect arrested
    later: significant in 7 of 9 crime-area models on this run (less likely in all 7).'"""
    hits = []
    for model_id in model_ids:
        rows = coefficients(terms, model_id)
        if term in rows.index and rows.loc[term, "n"] >= threshold and rows.loc[term, "significant"]:
            hits.append(rows.loc[term, "direction"])
    if not hits:
        return f"{label}: significant in none of the {len(model_ids)} models on this run."
    ways = (
        f"{hits[0]} likely in each"
        if len(set(hits)) == 1
        else ", ".join(f"{d} likely in {hits.count(d)}" for d in ("less", "more"))
    )
    return f"{label}: significant in {len(hits)} of the {len(model_ids)} models on this run ({ways})."


def download(frame: pd.DataFrame, csv_name: str, text: str) -> display.Rich:
    """A CSV download on its own (numbers at the declared precision), for a table too long
    to show on the page."""
    data = base64.b64encode(display.declared_frame(frame).to_csv(index=False).encode()).decode()
    name = html.escape(csv_name)
    link = f'<p><a download="{name}" href="data:text/csv;base64,{data}">{html.escape(text)} ({name})</a></p>'
    return display.Rich(link, f"{text} ({csv_name}): a CSV download in the web book.\n")


def listed(rows: pd.DataFrame, top: int = 3) -> str:
    """The pack's drivers of one list (rows of drivers_early_late.csv, in the order printed):
    'Venue is hotel / hostel (1.5x); ...; and 5 more', with the figure where the pack prints one."""
    if rows.empty:
        return "none"
    items = []
    figures = pd.to_numeric(rows["times"], errors="coerce")  # published extra columns are read as text
    for measure, figure in zip(rows["measure"].head(top), figures.head(top), strict=True):
        words = measure.rsplit(": early withdrawal", 1)[0]
        items.append(f"{words} ({figure:g}x)" if pd.notna(figure) else words)
    more = f"; and {len(rows) - top} more" if len(rows) > top else ""
    return "; ".join(items) + more


def named_contrasts(pack: pd.DataFrame, table: pd.DataFrame, when: dict[str, str], spec: dict | None = None) -> str:
    """One contrast_sentence per driver the pack contrasts between two models (rows of
    drivers_contrasts.csv, `contrast` as '15_16'), from this run's tests (contrasts);
    `when` words each model ('when no suspect is recorded')."""
    spec = spec or load_spec()
    tested = table.set_index(["pair", "term"])
    sentences = []
    for (pair, term), _ in pack.groupby(["contrast", "term"], sort=False):
        a, b = pair.split("_")
        variable, _, category = term.partition("=")
        row = tested.loc[(pair, term)] if (pair, term) in tested.index else {}
        values = [row.get(c, np.nan) for c in ("odds_ratio_a", "odds_ratio_b", "q")]
        sentences.append(
            contrast_sentence(label(spec, variable, category or None), when[a], values[0], when[b], *values[1:])
        )
    return " ".join(sentences)
