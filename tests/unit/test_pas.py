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


def test_implied_denominator_brackets_the_published_ratio():
    # 275,000 / 3.55 = 77,464.79 and 275,000 / 3.45 = 79,710.14: every average between rounds to 3.5.
    low, high = pas.implied_denominator(275_000, 3.5)
    assert (low, high) == pytest.approx((77_464.788732, 79_710.144928))
    assert round(275_000 / (low + 1), 1) == round(275_000 / (high - 1), 1) == 3.5
    assert round(275_000 / (low - 1), 1) == 3.6 and round(275_000 / (high + 1), 1) == 3.4


@pytest.mark.parametrize(
    "value, reference, expected",
    [(3.76, 3.5, "higher than"), (3.24, 3.5, "lower than"), (3.52, 3.5, "the same as"), (3.5, 3.76, "lower than")],
)
def test_compare_follows_the_numbers_at_the_precision_shown(value, reference, expected):
    assert pas.compare(value, reference) == expected


def test_ratio_sentence_follows_the_ratio():
    assert pas.ratio_sentence(3.76).startswith("more Londoners")
    assert pas.ratio_sentence(0.27).startswith("fewer Londoners")  # reversed
    assert pas.ratio_sentence(1.02).startswith("about as many")  # null


def test_gap_word_follows_the_sign():
    assert [pas.gap_word(v) for v in (-18, 18, 0)] == ["lower", "higher", "no different"]


def test_ratio_table_names_numerator_denominator_and_months():
    table = pas.ratio_table(
        275_000, "2022-23", 3.5, [("Same months", "March 2022 to February 2023", 75_500), ("Run", "April 2021", 68_750)]
    )
    assert table["Times"].tolist() == pytest.approx([3.5, 550 / 151, 4.0])
    assert table["Recorded crimes a month"].isna().tolist() == [True, False, False]
    assert table["Months of recorded crime"].tolist() == ["March 2022 to February 2023"] * 2 + ["April 2021"]
    assert "PAS victims a month (2022-23, published)" in table.columns


def _groups(rows):
    return pd.DataFrame(rows, columns=["outcome", "who", "direction", "significance", "period"])


def test_group_sentence_from_the_project_file():
    groups = pas.victim_groups("2022-23")
    assert groups["value"].isna().all() and groups["note"].str.len().gt(0).all()
    assert pas.group_sentence(groups, "victimisation") == (
        "In PAS 2022-23, the pack found that LGBT+ Londoners, disabled Londoners and Londoners of Mixed ethnicity "
        "were significantly more likely to have experienced a crime; Londoners aged 65+ were significantly less "
        "likely to have experienced a crime; no difference was seen by gender."
    )
    assert pas.group_sentence(groups, "repeated victimisation") == (
        "In PAS 2022-23, the pack found that repeated victimisation was higher among LGBT+ Londoners and disabled "
        "Londoners (the pack does not say whether significantly)."
    )


def test_group_sentence_follows_reversed_and_null_statements():
    reversed_ = _groups(
        [
            ("victimisation", "Londoners aged 65+", "more likely", "significant", "2022-23"),
            ("victimisation", "disabled Londoners", "less likely", "not significant", "2022-23"),
        ]
    )
    assert pas.group_sentence(reversed_, "victimisation") == (
        "In PAS 2022-23, the pack found that Londoners aged 65+ were significantly more likely to have "
        "experienced a crime; disabled Londoners were less likely to have experienced a crime."
    )
    null = _groups([("victimisation", "gender", "no difference", "no difference seen", "2022-23")])
    assert (
        pas.group_sentence(null, "victimisation")
        == "In PAS 2022-23, the pack found that no difference was seen by gender."
    )
    assert pas.group_sentence(null, "repeated victimisation") == (
        "The pack makes no statement on repeated victimisation by group."
    )


def test_victim_groups_rejects_an_unknown_direction(tmp_path, monkeypatch):
    from helpers import published

    (tmp_path / "pas_victim_groups.csv").write_text(
        "key,measure,value,unit,period,source,pack_section,outcome,who,direction,significance,note\n"
        "a,A,,,2022-23,PAS,s,victimisation,x,bigger,significant,the pack says so\n"
    )
    monkeypatch.setattr(published, "PUBLISHED", tmp_path)
    with pytest.raises(InputError, match="direction 'bigger'"):
        pas.victim_groups("2022-23")


def test_against_range():
    assert [pas.against_range(v, 77_465, 79_710) for v in (73_161, 78_000, 80_000)] == ["below", "within", "above"]


def test_gap_sentence_follows_each_sign():
    gaps = pd.DataFrame(
        {"label": ["confidence in the police", "trust in the police"], "value": [-18, 13], "period": ["2022-23"] * 2}
    )
    assert pas.gap_sentence(gaps) == (
        "Compared with non-victims, the pack reports victims' confidence in the police 18 points lower (PAS 2022-23) "
        "and trust in the police 13 points higher (PAS 2022-23)."
    )
    gaps["value"] = [0, 0]
    assert pas.gap_sentence(gaps).endswith("trust in the police no different (PAS 2022-23).")
