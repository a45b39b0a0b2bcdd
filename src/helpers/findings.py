"""Sentences that state a direction, generated from a run's numbers and a named test, so that
a finding in chapter 06's text follows the data it was built on: reversed data reverse the
sentence, and a difference the test cannot tell from chance is said to be not significant.

Tests, each named in the sentence it supports:
- two rates: the two-proportion z-test with a pooled standard error (statsmodels
  `proportions_ztest`);
- a majority (most withdrawals late, or early): the exact binomial test of the share against
  one half (scipy `binomtest`);
- several tests of one family (a group of victims in each crime area, the majority in each
  crime area): Holm's (1979) step-down adjustment (statsmodels `multipletests`), so the
  chance of any false finding in the family is at most one minus the confidence.

Only cells of at least the suppression threshold are compared or quoted; non-substantive
categories ("Unknown", "Not recorded") are left out of every comparison. The pack's own
statements are built from its published tables by the `pack_*` functions, worded "The pack".
"""

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from .monitor import two_proportion

HIGHER, LOWER, SAME, UNTESTED = "higher", "lower", "not significant", "untested"
NON_SUBSTANTIVE = ("Unknown", "Not recorded", "not recorded", "Borough not recorded")
TWO_RATES = "two-proportion z-test"
MAJORITY = "exact binomial test against one half"


def p_text(p: float) -> str:
    """A p-value as a sentence gives it: 'p < 0.001' or 'p = 0.03'."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def listing(names: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1] if names else ""


def two_rates(x1: float, n1: float, x2: float, n2: float) -> tuple[float, float, float]:
    """Rates (%) of x1/n1 and x2/n2 and the two-sided p-value of their difference
    (two-proportion z-test, pooled); p is NaN where either group is empty or no rate varies."""
    r1 = 100 * x1 / n1 if n1 else np.nan
    r2 = 100 * x2 / n2 if n2 else np.nan
    return r1, r2, float(two_proportion(x1, n1, x2, n2)[2])


def direction(difference: float, p: float, confidence: float) -> str:
    """'higher' or 'lower' where p is below 1 - confidence, 'not significant' where it is not,
    'untested' where there was no test."""
    if pd.isna(p):
        return UNTESTED
    if p >= 1 - confidence:
        return SAME
    return HIGHER if difference > 0 else LOWER


def compare(first: tuple, second: tuple, threshold: int, confidence: float) -> dict:
    """(x, n) of two groups compared: their rates, the p-value and the first group's direction
    against the second. Untested where either group has fewer than `threshold` reports."""
    (x1, n1), (x2, n2) = first, second
    r1, r2, p = two_rates(x1, n1, x2, n2)
    if min(n1, n2) < max(threshold, 1):
        p = np.nan
    return {"rate": r1, "other": r2, "p": p, "direction": direction(r1 - r2, p, confidence)}


def versus(subject: str, first: str, second: str, result: dict, confidence: float) -> str:
    """One comparison in words: '{subject} was higher {first} (47%) than {second} (18%) (test, p)'
    or 'did not differ significantly ...'; 'too few reports' where untested."""
    r1, r2 = result["rate"], result["other"]
    if result["direction"] == UNTESTED:
        return f"there are too few reports to compare {subject} {first} and {second}"
    said = {
        HIGHER: f"{subject} was higher {first} ({r1:.0f}%) than {second} ({r2:.0f}%)",
        LOWER: f"{subject} was lower {first} ({r1:.0f}%) than {second} ({r2:.0f}%)",
        SAME: f"{subject} did not differ significantly at {confidence:.0%} confidence {first} ({r1:.0f}%) "
        f"and {second} ({r2:.0f}%)",
    }[result["direction"]]
    return f"{said} ({TWO_RATES}, {p_text(result['p'])})"


def suspect_counts(suspects: pd.DataFrame, area: str) -> dict[str, tuple[int, int]]:
    """(withdrawn, reports) with and without a suspect recorded, with the victim knowing the
    suspect, and with a suspect recorded whom the victim did not know (or whose relationship is
    not recorded), from `helpers.withdrawal.suspect_rates` for one crime area's label."""
    rows = suspects[suspects["area"] == area].set_index("group")
    cell = {g: (int(rows.loc[g, "withdrawn"]), int(rows.loc[g, "reports"])) for g in rows.index}
    recorded, known = cell["Suspect recorded"], cell["Victim knows the suspect"]
    return {
        "recorded": recorded,
        "none": cell["No suspect recorded"],
        "known": known,
        "not_known": (recorded[0] - known[0], recorded[1] - known[1]),
    }


def suspect_results(suspects: pd.DataFrame, area: str, threshold: int, confidence: float) -> dict[str, dict]:
    """Withdrawal with a suspect recorded against none, and where the victim knew the suspect
    against a suspect recorded but not known: each a `compare` result."""
    cell = suspect_counts(suspects, area)
    return {
        "recorded": compare(cell["recorded"], cell["none"], threshold, confidence),
        "known": compare(cell["known"], cell["not_known"], threshold, confidence),
    }


def suspect_sentence(results: dict[str, dict], confidence: float, where: str = "Across all crime") -> str:
    """The run's finding on withdrawal and the suspect, in words (suspect_results)."""
    recorded = versus(
        "withdrawal", "with a suspect recorded", "with no suspect recorded", results["recorded"], confidence
    )
    known = versus(
        "it",
        "where the victim knew the suspect",
        "where a suspect was recorded but not known to the victim",
        results["known"],
        confidence,
    )
    return f"{where}, {recorded}; {known}."


def holm(p: pd.Series, confidence: float) -> pd.Series:
    """Holm-adjusted p-values of the tested (non-NaN) entries; NaN stays NaN."""
    out = pd.Series(np.nan, index=p.index)
    tested = p.notna()
    if tested.any():
        out[tested] = multipletests(p[tested], alpha=1 - confidence, method="holm")[1]
    return out


def area_tally(results: pd.DataFrame, labels: dict[str, str]) -> dict[str, list[str]]:
    """Crime areas (labels) by direction, from a frame with `area` and `direction` columns."""
    return {
        d: [labels[a].lower() for a in results.loc[results["direction"] == d, "area"]] for d in (HIGHER, LOWER, SAME)
    }


def suspect_by_area(
    suspects: pd.DataFrame, labels: dict[str, str], threshold: int, confidence: float
) -> tuple[pd.DataFrame, str]:
    """Withdrawal with against without a suspect recorded in each crime area (`labels`: area
    key -> the label suspect_rates uses), Holm-adjusted over the areas; and a sentence."""
    rows = []
    for area, name in labels.items():
        cell = suspect_counts(suspects, name)
        rows.append({"area": area, **compare(cell["recorded"], cell["none"], threshold, confidence)})
    table = pd.DataFrame(rows)
    table["p_holm"] = holm(table["p"], confidence)
    table["direction"] = [
        direction(r - o, p, confidence) for r, o, p in zip(table["rate"], table["other"], table["p_holm"], strict=True)
    ]
    tally = area_tally(table, labels)
    tested = sum(len(v) for v in tally.values())
    if not tested:
        return table, "No crime area has enough reports with and without a suspect to compare."
    parts = [
        f"higher in {listing(tally[HIGHER])}" if tally[HIGHER] else "",
        f"lower in {listing(tally[LOWER])}" if tally[LOWER] else "",
        f"not significantly different in {listing(tally[SAME])}" if tally[SAME] else "",
    ]
    sentence = (
        f"Within the {tested} crime areas with enough reports to compare, withdrawal with a suspect recorded "
        f"(against none) was {listing([p for p in parts if p])} ({TWO_RATES} in each area, Holm-adjusted over "
        f"the areas, {confidence:.0%} confidence)."
    )
    return table, sentence


def group_tests(
    victims: pd.DataFrame, dimension: str, threshold: int, confidence: float, leave_out=NON_SUBSTANTIVE
) -> pd.DataFrame:
    """Each substantive group of a victim `dimension` against the other substantive groups of
    the same crime area (`helpers.withdrawal.victim_rates`, long form): rates, p and the
    direction after Holm's adjustment over every group and area of the dimension."""
    part = victims[(victims["dimension"] == dimension) & ~victims["group"].isin(leave_out)]
    rows = []
    for area, cells in part.groupby("area", sort=False):
        for row in cells.itertuples():
            rest = cells[cells["group"] != row.group]
            result = compare(
                (row.withdrawn, row.reports), (rest["withdrawn"].sum(), rest["reports"].sum()), threshold, confidence
            )
            rows.append({"area": area, "group": row.group, "reports": row.reports, **result})
    table = pd.DataFrame(rows, columns=["area", "group", "reports", "rate", "other", "p", "direction"])
    table["p_holm"] = holm(table["p"], confidence)
    table["direction"] = [
        direction(r - o, p, confidence) for r, o, p in zip(table["rate"], table["other"], table["p_holm"], strict=True)
    ]
    return table


def group_sentence(tests: pd.DataFrame, group: str, noun: str, labels: dict[str, str], confidence: float) -> str:
    """One victim group's finding across crime areas, in words (group_tests)."""
    tally = area_tally(tests[tests["group"] == group], labels)
    tested = sum(len(v) for v in tally.values())
    if not tested:
        return f"There are too few {noun} in any crime area to compare."
    parts = [
        f"higher in {listing(tally[HIGHER])}" if tally[HIGHER] else "",
        f"lower in {listing(tally[LOWER])}" if tally[LOWER] else "",
        f"not significantly different in {listing(tally[SAME])}" if tally[SAME] else "",
    ]
    return (
        f"Against other victims whose {'sex' if group in ('Male', 'Female') else 'ethnicity'} was recorded, "
        f"the withdrawal rate of {noun} was {listing([p for p in parts if p])} ({tested} crime "
        f"{'area' if tested == 1 else 'areas'} with enough reports; {TWO_RATES}, Holm-adjusted, "
        f"{confidence:.0%} confidence)."
    )


def majority_tests(late: pd.Series, timed: pd.Series, threshold: int, confidence: float) -> pd.DataFrame:
    """Whether most withdrawals came late (share `late`, %, of `timed` withdrawals) in each
    crime area: the exact binomial test against one half, Holm-adjusted over the areas tested
    (at least `threshold` timed withdrawals). Direction: 'higher' = most late."""
    rows = []
    for area, share in late.items():
        n = int(timed.get(area, 0))
        p = np.nan
        if n >= max(threshold, 1) and pd.notna(share):
            p = stats.binomtest(round(share * n / 100), n, 0.5).pvalue
        rows.append({"area": area, "late": share, "timed": n, "p": p})
    table = pd.DataFrame(rows, columns=["area", "late", "timed", "p"])
    table["p_holm"] = holm(table["p"], confidence)
    table["direction"] = [direction(s - 50, p, confidence) for s, p in zip(table["late"], table["p_holm"], strict=True)]
    return table


def majority_sentence(tests: pd.DataFrame, after: str, confidence: float) -> str:
    """Where most withdrawals came late, early or neither, in words (majority_tests)."""

    def named(d: str) -> str:
        rows = tests[tests["direction"] == d]
        return listing([f"{a.lower()} ({s:.0f}% late)" for a, s in zip(rows["area"], rows["late"], strict=True)])

    parts = [
        f"most withdrawals came after {after} for {named(HIGHER)}" if (tests["direction"] == HIGHER).any() else "",
        f"most came within {after} for {named(LOWER)}" if (tests["direction"] == LOWER).any() else "",
        f"neither share is significantly a majority for {named(SAME)}" if (tests["direction"] == SAME).any() else "",
    ]
    parts = [p for p in parts if p]
    if not parts:
        return "There are too few timed withdrawals in any crime area to say when most came."
    text = "; ".join(parts)
    return f"{text[0].upper()}{text[1:]} ({MAJORITY}, Holm-adjusted over the areas, {confidence:.0%} confidence)."


def leader_sentence(
    values: pd.Series, counts: pd.Series, what: str, threshold: int, confidence: float, overlap: bool
) -> str:
    """The group with the highest share (%) of `what` against the next, in words, with the
    two-proportion z-test of the two (approximate where groups overlap, as crime areas do)."""
    shown = values[(counts >= max(threshold, 1)) & values.notna()].sort_values(ascending=False)
    if shown.empty:
        return f"No group has enough reports to compare its share of {what}."
    top = shown.index[0]
    if len(shown) == 1:
        return f"Only {top.lower()} has enough reports to show its share of {what} ({shown.iloc[0]:.0f}%)."
    second = shown.index[1]
    x = (shown.iloc[:2] * counts[shown.index[:2]] / 100).round()
    result = compare((x.iloc[0], counts[top]), (x.iloc[1], counts[second]), threshold, confidence)
    lead = (
        "significantly above the next"
        if result["direction"] == HIGHER
        else f"not significantly above the next at {confidence:.0%} confidence"
    )
    caveat = "; the groups overlap, so the test is approximate" if overlap else ""
    return (
        f"The share of {what} is highest for {top.lower()} ({shown.iloc[0]:.0f}%), {lead}, {second.lower()} "
        f"({shown.iloc[1]:.0f}%; {TWO_RATES}, {p_text(result['p'])}{caveat})."
    )


def spread_sentence(rates: pd.DataFrame, threshold: int, confidence: float) -> str:
    """Highest against lowest group of a breakdown (withdrawal.breakdown_rates), in words."""
    shown = rates[rates["reports"] >= max(threshold, 1)].sort_values("rate", ascending=False)
    if len(shown) < 2:
        return "In this run, too few groups have enough reports to compare."
    top, bottom = shown.iloc[0], shown.iloc[-1]
    result = compare(
        (top["withdrawn"], top["reports"]), (bottom["withdrawn"], bottom["reports"]), threshold, confidence
    )
    verdict = {
        HIGHER: "significantly higher",
        LOWER: "significantly lower",
        SAME: f"not significantly different at {confidence:.0%} confidence",
        UNTESTED: "untested",
    }[result["direction"]]
    return (
        f"In this run, withdrawal is highest for {top['group'].lower()} ({top['rate']:.0f}%) and lowest for "
        f"{bottom['group'].lower()} ({bottom['rate']:.0f}%): {verdict} ({TWO_RATES}, {p_text(result['p'])}; "
        "groups may overlap)."
    )


def marked(frame: pd.DataFrame, bcu: str, marker: str, column: str = "marker") -> list[str]:
    """The crime areas (keys, in frame order) in which `bcu` carries `marker` (long form:
    area, bcu and the marker column)."""
    rows = frame[(frame["bcu"] == bcu) & (frame[column] == marker)]
    return list(dict.fromkeys(rows["area"]))


def bcu_sentence(frame: pd.DataFrame, bcu: str, labels: dict[str, str], column: str = "marker") -> str:
    """'West Area: higher for a and b; lower for c' (or 'no crime area marked')."""
    higher = [labels.get(a, a).lower() for a in marked(frame, bcu, HIGHER, column)]
    lower = [labels.get(a, a).lower() for a in marked(frame, bcu, LOWER, column)]
    parts = [f"higher for {listing(higher)}" if higher else "", f"lower for {listing(lower)}" if lower else ""]
    return f"{bcu}: {'; '.join(p for p in parts if p) or 'no crime area marked'}"


def pack_spread(published: pd.DataFrame, breakdown: str) -> str:
    """The pack's highest and lowest group of one breakdown (withdrawal_subgroups), in words."""
    rows = published[published["breakdown"] == breakdown].dropna(subset=["value"]).sort_values("value")
    if rows.empty:
        return "The pack publishes no rate for this breakdown."
    high, low = rows["value"].max(), rows["value"].min()

    def groups(value: float) -> str:  # ties are all named, as the pack names them
        return listing(rows.loc[rows["value"] == value, "group"].str.lower().tolist())

    return (
        f"The pack found withdrawal highest for {groups(high)} ({high:.0f}%) and lowest for {groups(low)} ({low:.0f}%)."
    )


def pack_group_sentence(published: pd.DataFrame, group: str, noun: str, labels: dict[str, str]) -> str:
    """Where the pack's table puts a victim group above, below or at its crime area's total
    (withdrawal_by_victim: rows `<area>|<dimension>|<group>` and `<area>|total|rate`)."""
    keys = published.index.to_series()
    rows = published[keys.str.endswith(f"|{group}") & (published["statistic"] == "rate")].dropna(subset=["value"])
    side = {HIGHER: [], LOWER: [], SAME: []}
    for key, value in rows["value"].items():
        area = key.split("|")[0]
        total = published["value"].get(f"{area}|total|rate", np.nan)
        if pd.notna(total):
            side[HIGHER if value > total else LOWER if value < total else SAME].append(labels.get(area, area).lower())
    parts = [
        f"above the total in {listing(side[HIGHER])}" if side[HIGHER] else "",
        f"below it in {listing(side[LOWER])}" if side[LOWER] else "",
        f"equal in {listing(side[SAME])}" if side[SAME] else "",
    ]
    return f"In the pack's table, the rate for {noun} is {listing([p for p in parts if p])} (no test published)."
