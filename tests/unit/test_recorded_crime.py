import datetime as dt

import pandas as pd
import pytest

from helpers import recorded_crime
from helpers.context import bcu_group_table, monthly_by_group
from helpers.errors import InputError


def _wide(rows, months):
    return pd.DataFrame([dict(zip(("majortext", "minortext", "boroughname", *months), r, strict=True)) for r in rows])


def test_to_long_reshapes_months():
    wide = _wide([("ROBBERY", "ROBBERY OF PERSONAL PROPERTY", "Hackney", 3, 4)], ["202104", "202105"])
    long = recorded_crime.to_long(wide, "f.parquet")
    assert long["count"].tolist() == [3, 4]
    assert [str(m) for m in long["month"]] == ["2021-04", "2021-05"]
    assert set(long.columns) == {"major", "minor", "borough", "month", "count"}


def test_non_numeric_count_names_file_column_and_row():
    wide = _wide([("ROBBERY", "R", "Hackney", 3, 4), ("ROBBERY", "R", "Camden", 5, "n/a")], ["202104", "202105"])
    with pytest.raises(InputError, match=r"f\.parquet: column 202105, row 3: count 'n/a' is not a number"):
        recorded_crime.to_long(wide, "f.parquet")


def test_unexpected_column_is_named():
    wide = _wide([("ROBBERY", "R", "Hackney", 3)], ["April 2021"])
    with pytest.raises(InputError, match="'April 2021' is neither an id column nor a month"):
        recorded_crime.to_long(wide, "f.parquet")


def test_recent_file_wins_where_months_overlap(tmp_path):
    old = _wide([("ROBBERY", "R", "Hackney", 1, 2)], ["202402", "202403"])
    new = _wide([("ROBBERY", "R", "Hackney", 30, 40)], ["202403", "202404"])
    old.to_parquet(tmp_path / "old.parquet")
    new.to_parquet(tmp_path / "new.parquet")
    crime = recorded_crime.load(tmp_path / "old.parquet", tmp_path / "new.parquet")
    assert crime.set_index("month")["count"].to_dict() == {
        pd.Period("2024-02", "M"): 1,
        pd.Period("2024-03", "M"): 30,
        pd.Period("2024-04", "M"): 40,
    }


def test_period_is_whole_months_from_the_first_full_one():
    months = recorded_crime.months_in(dt.date(2021, 4, 15), dt.date(2021, 7, 31))
    assert [str(m) for m in months] == ["2021-05", "2021-06", "2021-07"]


def test_period_beyond_the_data_is_an_error():
    crime = recorded_crime.to_long(_wide([("ROBBERY", "R", "Hackney", 1, 2)], ["202101", "202102"]), "f")
    with pytest.raises(InputError, match=r"covers 2021-01 to 2021-02; the period .* needs 2021-03 and 1 more"):
        recorded_crime.select_months(crime, dt.date(2021, 2, 1), dt.date(2021, 4, 30))


def test_in_scope_groups_bcus_and_tables_golden():
    rows = [
        ("VIOLENCE AGAINST THE PERSON", "VIOLENCE WITH INJURY", "Hackney", 10, 20),
        ("VIOLENCE AGAINST THE PERSON", "VIOLENCE WITHOUT INJURY", "Tower Hamlets", 1, 2),
        ("ROBBERY", "ROBBERY OF PERSONAL PROPERTY", "Camden", 5, 5),
        ("THEFT", "SHOPLIFTING", "Camden", 100, 100),  # out of scope
        ("ROBBERY", "ROBBERY OF PERSONAL PROPERTY", "Unknown", 7, 0),
    ]
    crime = recorded_crime.to_long(_wide(rows, ["202104", "202105"]), "f")
    scoped = recorded_crime.in_scope_by_bcu(crime)
    table = bcu_group_table(scoped).set_index("BCU")
    assert table.loc["Central East"].to_dict() == {"Robbery": 0, "Violence against the person": 33, "All in-scope": 33}
    assert table.loc["Central North", "Robbery"] == 10
    assert table.loc["Outside BCUs", "All in-scope"] == 7
    assert table.loc["London", "All in-scope"] == 50
    assert list(table.index) == ["Central East", "Central North", "Outside BCUs", "London"]
    monthly = monthly_by_group(scoped)
    assert monthly.columns.tolist() == ["Violence against the person", "Robbery"]
    assert monthly["Robbery"].tolist() == [12, 5]


def test_unknown_borough_is_an_error():
    crime = recorded_crime.to_long(_wide([("ROBBERY", "R", "Gotham", 1)], ["202104"]), "f")
    with pytest.raises(InputError, match="row 1: borough 'Gotham' is not in config/bcu.yml"):
        recorded_crime.in_scope_by_bcu(crime)
