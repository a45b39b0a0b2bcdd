import pytest

from helpers import published
from helpers.errors import InputError

HEADER = "key,measure,value,unit,period,source,pack_section\n"


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setattr(published, "PUBLISHED", tmp_path)
    return tmp_path


def test_values_are_numbers_indexed_by_key(folder):
    (folder / "t.csv").write_text(HEADER + "a,A,3.9,percent,2022-23,PAS,s\n")
    assert published.load("t").loc["a", "value"] == 3.9


def test_non_numeric_value_names_row_and_key(folder):
    (folder / "t.csv").write_text(HEADER + "a,A,3.9,percent,2022-23,PAS,s\nb,B,c.3.5,times,2022-23,PAS,s\n")
    with pytest.raises(InputError, match=r"t\.csv: row 3, column value: 'c\.3\.5' \(key b\) is not a number"):
        published.load("t")


def test_missing_column(folder):
    (folder / "t.csv").write_text("key,value\na,1\n")
    with pytest.raises(InputError, match="missing column"):
        published.load("t")


def test_repeated_key(folder):
    (folder / "t.csv").write_text(HEADER + "a,A,1,n,p,s,x\na,A,2,n,p,s,x\n")
    with pytest.raises(InputError, match="key 'a' appears more than once"):
        published.load("t")


def test_project_pas_figures_match_the_pack():
    figures = published.load("pas_victimisation")["value"]
    assert (
        figures["prevalence_pct"],
        figures["victims_per_month"],
        figures["one_incident_pct"],
        figures["three_plus_pct"],
        figures["eleven_plus_pct"],
        figures["csew_reported_pct"],
    ) == (3.9, 275_000, 69, 16.9, 3.8, 41)


def test_an_empty_value_needs_a_note(folder):
    (folder / "t.csv").write_text(
        HEADER.strip() + ",note\na,A,,percent,p,s,x,suppressed (N<100)\nb,B,5,percent,p,s,x,\n"
    )
    values = published.load("t")["value"]
    assert values.isna().tolist() == [True, False]
    (folder / "u.csv").write_text(HEADER.strip() + ",note\na,A,,percent,p,s,x,\n")
    with pytest.raises(InputError, match="row 2, column value: '' \\(key a\\) is not a number"):
        published.load("u")


def test_a_chapter_takes_the_rows_of_its_sections_and_a_wrong_section_is_named():
    rows = published.sections("withdrawal_headlines", "Key findings on withdrawal from statistical modelling")
    odds_ratios = {k for k in published.load("withdrawal_headlines").index if k.startswith("or_")}
    assert len(rows) > 0 and set(rows.index) == odds_ratios
    with pytest.raises(InputError, match="withdrawal_headlines.csv: no row from the pack's section"):
        published.sections("withdrawal_headlines", "No such section")
