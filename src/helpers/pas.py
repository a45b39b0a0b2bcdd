"""PAS victimisation set against police-recorded crime (chapter 02).

The pack compares the PAS estimate of Londoners victimised in a month with the
Met's average monthly recorded crime over the months PAS respondents were asked
about: interviews in financial year Y (April to March) ask about the month before,
so the comparison window runs from March of Y to February of Y+1.
"""

import pandas as pd

from . import published
from .errors import InputError


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
