import pandas as pd
import pytest

from helpers import cps, published
from helpers.errors import InputError

ROW = {
    "month": "2021-04",
    "area": "London",
    "flag": "All crime",
    "non_prosecutions": "100",
    "non_prosecutions_victim_withdrawal": "10",
    "non_convictions": "400",
    "non_convictions_victim_withdrawal": "100",
    "mean_days_referral_to_decision": "45.5",
    "mean_days_charge_to_finalisation": "250",
}


def table(*changes):
    rows = [dict(ROW), {**ROW, "month": "2021-05"}]
    for row, column, value in changes:
        rows[row][column] = value
    return pd.DataFrame(rows)


def test_valid_table_and_shares_known_answer():
    shares = cps.shares(cps.validate(table(), "t.csv"))
    assert shares["pre_charge"].tolist() == [10.0, 10.0] and shares["post_charge"].tolist() == [25.0, 25.0]


@pytest.mark.parametrize(
    "row, column, value, message",
    [
        (1, "month", "May 2021", r"t\.csv: column month, row 3: 'May 2021' is not a month YYYY-MM"),
        (0, "area", "Wales", r"column area, row 2: 'Wales' is not one of National, London"),
        (1, "flag", "Fraud", r"column flag, row 3: 'Fraud' is not one of"),
        (0, "non_convictions", "12.5", r"column non_convictions, row 2: '12.5' is not a non-negative whole number"),
        (1, "mean_days_referral_to_decision", "-3", r"row 3: '-3' is not a non-negative number"),
        (
            0,
            "non_prosecutions_victim_withdrawal",
            "101",
            r"non_prosecutions_victim_withdrawal, row 2: '101' exceeds non_prosecutions \(100\)",
        ),
    ],
)
def test_faults_name_file_column_and_row(row, column, value, message):
    with pytest.raises(InputError, match=message):
        cps.validate(table((row, column, value)), "t.csv")


def test_missing_column_and_duplicate_month():
    with pytest.raises(InputError, match="missing column"):
        cps.validate(table().drop(columns="flag"), "t.csv")
    with pytest.raises(InputError, match=r"row 3: a second row for 2021-04, London, All crime"):
        cps.validate(table((1, "month", "2021-04")), "t.csv")


def test_load_reads_a_csv(tmp_path):
    table().to_csv(tmp_path / "cps.csv", index=False)
    assert len(cps.load(tmp_path / "cps.csv")) == 2
    with pytest.raises(InputError, match="file not found"):
        cps.load(tmp_path / "none.csv")


def test_illustrative_series_is_deterministic_and_within_the_published_ranges():
    first, second = cps.illustrative(), cps.illustrative()
    pd.testing.assert_frame_equal(first, second)
    assert len(first) == 48 * 6
    check = cps.against_published(first, published.load("cps_ranges").reset_index())
    assert len(check) == 5 and check["Within range"].all()


def test_range_check_fails_outside_a_range():
    ranges = pd.DataFrame(
        {
            "area": ["London", "London"],
            "flag": ["All crime"] * 2,
            "stage": ["post"] * 2,
            "bound": ["low", "high"],
            "value": [18.0, 24.0],
        }
    )
    check = cps.against_published(cps.validate(table(), "t.csv"), ranges)
    assert check["Within range"].tolist() == [False]  # 25% is above 24% + 0.5


def test_period_label_and_what_is_shown():
    assert cps.period_label("2021-04 to 2025-03") == "April 2021 to March 2025"
    with pytest.raises(InputError, match="is not 'YYYY-MM to YYYY-MM'"):
        cps.period_label("2021/22")
    assert "ILLUSTRATIVE" in cps.what_is_shown(True, "2021-04 to 2025-03")
    assert "supplied" in cps.what_is_shown(False, "2021-04 to 2025-03")


def test_published_cps_files_hold_the_pack_averages_and_definitions():
    ranges = published.load("cps_ranges")["value"]
    assert [ranges[k] for k in ("national_all_pre_avg", "london_all_pre_avg", "national_all_post_avg")] == [
        395,
        14,
        865,
    ]
    assert [ranges[k] for k in ("london_all_post_avg", "national_all_post_low", "national_all_post_high")] == [
        146,
        27,
        32,
    ]
    definitions = published.load("cps_definitions")
    assert definitions["footnote"].tolist()[:6] == ["1", "2", "3", "4", "5", "6"]
    assert published.load("cps_statements").loc["oap_post_higher", "stage"] == "post"
