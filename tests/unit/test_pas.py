import pandas as pd
import pytest

from helpers import pas
from helpers.errors import InputError


def test_comparison_window_is_march_to_february():
    window = pas.comparison_window("2022-23")
    assert (str(window[0]), str(window[-1]), len(window)) == ("2022-03", "2023-02", 12)


def test_comparison_window_rejects_a_non_financial_year():
    with pytest.raises(InputError, match="2022-24"):
        pas.comparison_window("2022-24")


def test_ratio_against_a_hand_computed_value():
    # Twelve months of 70,000 .. 81,000 recorded crimes: mean 75,500.
    # 275,000 / 75,500 = 3.642384105960265 (by hand: 275000/75500 = 550/151).
    months = pas.comparison_window("2022-23")
    monthly = pd.Series([70_000 + 1_000 * i for i in range(12)], index=months)
    average = pas.monthly_average(monthly, months)
    assert average == 75_500
    assert pas.ratio(275_000, average) == pytest.approx(550 / 151, abs=1e-12)


def test_average_uses_only_the_window():
    months = pd.period_range("2022-01", "2023-06", freq="M")
    monthly = pd.Series(1.0, index=months)
    monthly.loc[pd.Period("2022-02", "M")] = 1_000_000  # outside the window: ignored
    assert pas.monthly_average(monthly, pas.comparison_window("2022-23")) == 1.0


def test_a_missing_month_is_an_error():
    months = pas.comparison_window("2022-23")
    with pytest.raises(InputError, match="no count for 2023-02"):
        pas.monthly_average(pd.Series(1.0, index=months[:-1]), months)


def test_ratio_needs_a_positive_denominator():
    with pytest.raises(InputError):
        pas.ratio(275_000, 0)


def test_victims_from_prevalence():
    # The pack: 3.9% of 7,096,013 adults = 276,744.507
    assert pas.victims_from_prevalence(3.9, 7_096_013) == pytest.approx(276_744.507)


def test_incident_bands_partition_all_victims():
    bands = pas.incident_bands(69, 16.9, 3.8)
    assert bands["percent"].tolist() == pytest.approx([69, 14.1, 13.1, 3.8])
    assert bands["percent"].sum() == pytest.approx(100)
    assert bands["published"].tolist() == [True, False, False, True]


def test_published_figures_cover_the_survey_year():
    figures = pas.published_figures("2022-23")
    assert figures.loc["ratio_to_recorded", "value"] == 3.5
    with pytest.raises(InputError, match="no figures for PAS survey year 2019-20"):
        pas.published_figures("2019-20")
