"""PAS victimisation set against police-recorded crime (chapter 02).

The pack compares the PAS estimate of Londoners victimised in a month with the
Met's average monthly recorded crime over the months PAS respondents were asked
about: interviews in financial year Y (April to March) ask about the month before,
so the comparison window runs from March of Y to February of Y+1.

The pack's ratio, its recomputation for the same months and the ratio for the run's
own period differ in their denominators (and the pack's is rounded); `ratio_table`
sets the three side by side. Sentences that state a direction (more or fewer, higher
or lower, who is more likely to be victimised) are built here from the numbers or
from the pack's own statements (`pas_victim_groups.csv`), never typed.
"""

import pandas as pd

from . import published
from .errors import InputError
from .findings import listing

GROUPS = "pas_victim_groups"
DIRECTIONS = ("more likely", "less likely", "no difference", "higher", "lower")


def comparison_window(survey_year: str) -> pd.PeriodIndex:
    """Months PAS respondents of financial year '2022-23' describe: 2022-03 to 2023-02."""
    start = int(survey_year[:4])
    if int(survey_year[-2:]) != (start + 1) % 100:
        raise InputError(f"PAS survey year {survey_year!r} is not a financial year like 2022-23")
    return pd.period_range(f"{start}-03", f"{start + 1}-02", freq="M")


def monthly_average(monthly: pd.Series, months: pd.PeriodIndex) -> float:
    """Mean of a monthly series over `months`; every month must be present."""
    absent = [m for m in months if m not in monthly.index]
    if absent:
        raise InputError(f"recorded crime has no count for {absent[0]} (needed {months[0]} to {months[-1]})")
    return float(monthly.loc[months].mean())


def victims_from_prevalence(prevalence_pct: float, population: float) -> float:
    return prevalence_pct / 100 * population


def ratio(survey_victims: float, recorded_per_month: float) -> float:
    """How many times the survey estimate exceeds the recorded monthly average."""
    if recorded_per_month <= 0:
        raise InputError(f"recorded monthly average must be positive, got {recorded_per_month}")
    return survey_victims / recorded_per_month


def published_figures(survey_year: str) -> pd.DataFrame:
    """The pack's PAS figures, checked to cover `survey_year`."""
    figures = published.load("pas_victimisation")
    if survey_year not in set(figures["period"]):
        raise InputError(
            f"data/published/pas_victimisation.csv has no figures for PAS survey year {survey_year}; "
            f"it has {', '.join(sorted(set(figures['period'])))}"
        )
    return figures


def incident_bands(one_pct: float, three_plus_pct: float, eleven_plus_pct: float) -> pd.DataFrame:
    """Victims by number of incidents: the published shares and the bands derived from them."""
    return pd.DataFrame(
        {
            "band": ["1 incident", "2 incidents", "3 to 10 incidents", "11 or more incidents"],
            "percent": [one_pct, 100 - one_pct - three_plus_pct, three_plus_pct - eleven_plus_pct, eleven_plus_pct],
            "published": [True, False, False, True],
        }
    )


def implied_denominator(survey_victims: float, rounded_ratio: float, decimals: int = 1) -> tuple[float, float]:
    """The monthly recorded average a ratio published to `decimals` places implies: the range
    of denominators whose ratio rounds to it (the pack does not publish its denominator)."""
    half = 0.5 * 10**-decimals
    return survey_victims / (rounded_ratio + half), survey_victims / (rounded_ratio - half)


def compare(value: float, reference: float, decimals: int = 1) -> str:
    """'higher than', 'lower than' or 'the same as' `reference`, at the precision shown."""
    difference = round(value, decimals) - round(reference, decimals)
    if abs(difference) < 0.5 * 10**-decimals:
        return "the same as"
    return "higher than" if difference > 0 else "lower than"


def against_range(value: float, low: float, high: float) -> str:
    """'below', 'within' or 'above' the range [low, high]."""
    return "below" if value < low else ("above" if value > high else "within")


def ratio_sentence(ratio_value: float) -> str:
    """What a survey-to-recorded ratio says, in words that follow its value (the PAS
    microdata are not public, so no test of the difference is possible)."""
    if round(ratio_value, 1) == 1:
        return "about as many Londoners say they were victimised as the police record crimes"
    if ratio_value > 1:
        return "more Londoners say they were victimised than the police record crimes"
    return "fewer Londoners say they were victimised than the police record crimes"


def gap_word(points: float) -> str:
    """'lower', 'higher' or 'no different': victims against non-victims, from the gap's sign."""
    return "no different" if points == 0 else ("lower" if points < 0 else "higher")


def gap_sentence(gaps: pd.DataFrame) -> str:
    """The pack's gaps between victims and non-victims (rows: label, value in points, period),
    in words that follow each gap's sign."""
    parts = [
        f"{label} {abs(points):.0f} points {gap_word(points)} (PAS {period})"
        if points
        else f"{label} {gap_word(points)} (PAS {period})"
        for label, points, period in gaps[["label", "value", "period"]].itertuples(index=False)
    ]
    return "Compared with non-victims, the pack reports victims' " + listing(parts) + "."


def window_label(survey_year: str) -> str:
    """The comparison window in words: 'March 2022 to February 2023'."""
    window = comparison_window(survey_year)
    return f"{window[0].strftime('%B %Y')} to {window[-1].strftime('%B %Y')}"


def ratio_table(
    survey_victims: float, survey_year: str, published_ratio: float, comparisons: list[tuple[str, str, float]]
) -> pd.DataFrame:
    """The pack's ratio and recomputed ones side by side: each with its numerator, its
    denominator, where the denominator comes from and the months it covers.

    `comparisons` holds (label, months, recorded monthly average) for each recomputed ratio.
    """
    rows = [
        (
            "The pack's (published)",
            survey_victims,
            float("nan"),
            "MPS TNOs/victims, Tableau Public series (average not published)",
            window_label(survey_year),
            published_ratio,
        )
    ]
    rows += [
        (
            label,
            survey_victims,
            average,
            "MPS TNOs, London Datastore (as revised)",
            months,
            ratio(survey_victims, average),
        )
        for label, months, average in comparisons
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "Ratio",
            f"PAS victims a month ({survey_year}, published)",
            "Recorded crimes a month",
            "Recorded crime source",
            "Months of recorded crime",
            "Times",
        ],
    )


def victim_groups(survey_year: str) -> pd.DataFrame:
    """The pack's statements on who is more or less likely to be (repeat-)victimised, checked:
    no figure is published for them, so each row's value is empty and its note quotes the pack."""
    groups = published.load(GROUPS)
    unknown = sorted(set(groups["direction"]) - set(DIRECTIONS))
    if unknown:
        raise InputError(f"data/published/{GROUPS}.csv: direction {unknown[0]!r} is not one of {', '.join(DIRECTIONS)}")
    if survey_year not in set(groups["period"]):
        raise InputError(f"data/published/{GROUPS}.csv has no statements for PAS survey year {survey_year}")
    return groups[groups["period"] == survey_year]


def group_sentence(groups: pd.DataFrame, outcome: str) -> str:
    """The pack's finding for `outcome` ('victimisation' or 'repeated victimisation'), written
    from its rows of `victim_groups`: who is more or less likely, and where no difference was seen."""
    rows = groups[groups["outcome"] == outcome]
    if rows.empty:
        return f"The pack makes no statement on {outcome} by group."
    clauses = []
    for direction in DIRECTIONS:
        for significance, part in rows[rows["direction"] == direction].groupby("significance", sort=False):
            who = listing(part["who"].tolist())
            if direction == "no difference":
                clauses.append(f"no difference was seen by {who}")
            elif outcome == "victimisation":
                strength = "significantly " if significance == "significant" else ""
                clauses.append(f"{who} were {strength}{direction} to have experienced a crime")
            else:
                caveat = "" if significance == "significant" else " (the pack does not say whether significantly)"
                clauses.append(f"{outcome} was {direction} among {who}{caveat}")
    periods = listing(sorted(set(rows["period"])))
    return f"In PAS {periods}, the pack found that " + "; ".join(clauses) + "."
