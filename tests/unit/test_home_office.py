import gzip

import pandas as pd
import pytest

from helpers import home_office as ho
from helpers.errors import InputError
from helpers.paths import ROOT

OLD = [
    "Financial Year",
    "Financial Quarter",
    "Force Name",
    "Offence Description",
    "Offence Group",
    "Offence Subgroup",
    "Offence Code",
    "Offence code expired",
    "Outcome Description",
    "Outcome Group",
    "Outcome Type",
    "Force outcomes for offences recorded in quarter",
    "Force outcomes recorded in quarter",
]
NEW = OLD[:11] + [
    "Outcomes for offences that were recorded in the quarter",
    "Outcomes for investigations closed in the quarter",
]
SNAKE = [
    "financial_year",
    "financial_quarter",
    "force_name",
    "offence_description",
    "offence_group",
    "offence_subgroup",
    "offence_code",
    "offence_code_expired",
    "outcome_description",
    "outcome_group",
    "outcome_type",
    "offences",
    "force_outcomes_recorded_in_quarter",
]


def rows(year="2018/19", force="Metropolitan Police"):
    """Met: 10 withdrawn (14: 6, 16: 4), 5 pending, 20 charged, of which the theft row is out of scope."""

    def row(group, sub, otype, recorded, closed="1"):
        return [year, "1", force, "d", group, sub, "8N", "", "o", "g", otype, recorded, closed]

    return [
        row("Violence against the person", "Violence with injury", "14", "6"),
        row("Violence against the person", "Harassment", "16", "4"),
        row("Sexual offences", "Rape", "0", "5", "NA"),
        row("Robbery", "Robbery", "1", "22"),
        row("Robbery", "Robbery", "1", "-2"),  # the tables publish negative adjustments
        row("Theft offences", "Shoplifting", "14", "100"),
        row("Sexual offences", "Rape", "15", "N/A - offence code expired"),
    ]


def write_csv(path, header, data, bom=True):
    text = ",".join(header) + "\n" + "\n".join(",".join(r) for r in data) + "\n"
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8-sig" if bom else "utf-8") as handle:
        handle.write(text)
    return path


def write_book(path, sheets, engine):
    with pd.ExcelWriter(path, engine=engine) as writer:
        pd.DataFrame([["Police recorded crime outcomes"], ["Contents and notes"]]).to_excel(
            writer, sheet_name="Cover", header=False, index=False
        )
        for name, (header, data) in sheets.items():
            grid = [["Outcomes open data table " + name], [""]] + [header] + data  # title rows above the header
            pd.DataFrame(grid).to_excel(writer, sheet_name=name, header=False, index=False)
    return path


def met_all_crime(frame):
    rates = ho.withdrawal_rates(ho.with_areas(frame, ["Metropolitan Police"]), ["area"])
    return rates.iloc[0][["withdrawn", "pending", "total", "total_excl_pending"]].tolist()


def test_old_csv_form_known_answer(tmp_path):
    frame = ho.load(write_csv(tmp_path / "t.csv.gz", OLD, rows()))
    assert met_all_crime(frame) == [10, 5, 35, 30]
    rates = ho.withdrawal_rates(frame, ["force"]).iloc[0]
    assert rates["rate"] == pytest.approx(10 / 35) and rates["rate_excl_pending"] == pytest.approx(10 / 30)
    assert set(frame["offence_subgroup"]) >= {"Stalking and harassment"}  # 'Harassment' normalised


def test_snake_case_copy_with_footer_row(tmp_path):
    data = rows() + [["NA"] * 13]  # the tidied 2017/18 copy ends with an all-NA row
    frame = ho.load(write_csv(tmp_path / "t.csv", SNAKE, data, bom=False))
    assert len(frame) == 7 and met_all_crime(frame) == [10, 5, 35, 30]


def test_xlsx_republication_with_new_headers_and_a_sheet_per_year(tmp_path):
    path = write_book(tmp_path / "t.xlsx", {"2018-19": (NEW, rows()), "2019-20": (NEW, rows("2019/20"))}, "openpyxl")
    frame = ho.load(path)
    assert sorted(frame["financial_year"].unique()) == ["2018/19", "2019/20"]
    by_year = ho.withdrawal_rates(frame, ["financial_year"])
    assert by_year["withdrawn"].tolist() == [10, 10]


def test_ods_form(tmp_path):
    frame = ho.load(write_book(tmp_path / "t.ods", {"Data": (OLD, rows())}, "odf"))
    assert met_all_crime(frame) == [10, 5, 35, 30]


def test_closed_in_quarter_basis(tmp_path):
    frame = ho.load(write_csv(tmp_path / "t.csv", OLD, rows()))
    rates = ho.withdrawal_rates(frame, ["force"], basis="closed_in_quarter").iloc[0]
    assert (rates["withdrawn"], rates["total"]) == (2, 5)  # 'NA' counts are no count


def test_unknown_header_names_file_and_column(tmp_path):
    path = write_csv(tmp_path / "t.csv", OLD[:-1] + ["Outcomes closed"], rows())
    with pytest.raises(InputError, match=r"t\.csv: unknown column 'Outcomes closed'"):
        ho.load(path)


@pytest.mark.parametrize(
    "row, column, value, blank_row, message",
    [
        (3, 10, "19", False, r"t\.csv: column 'Outcome Type', row 5: outcome type '19' is not one of"),
        (1, 11, "4*", False, r"t\.csv: column 'Force outcomes for offences recorded in quarter', row 3: '4\*'"),
        # after a skipped blank row the reported row is still the file's row
        (2, 11, "4*", True, r"recorded in quarter', row 5: '4\*'"),
    ],
    ids=["unknown outcome type", "non-numeric count", "row number after a blank row"],
)
def test_faults_name_file_column_and_row(tmp_path, row, column, value, blank_row, message):
    data = rows()
    data[row][column] = value
    if blank_row:
        data.insert(1, [""] * 13)
    with pytest.raises(InputError, match=message):
        ho.load(write_csv(tmp_path / "t.csv", OLD, data))


def test_non_numeric_count_in_a_sheet_names_the_sheet_row(tmp_path):
    data = rows()
    data[0][11] = "six"
    path = write_book(tmp_path / "t.xlsx", {"2018-19": (NEW, data)}, "openpyxl")
    with pytest.raises(
        InputError, match=r"sheet '2018-19': column 'Outcomes for offences that were recorded in the quarter', row 4"
    ):
        ho.load(path)


def test_later_file_wins_for_a_shared_year(tmp_path):
    first = write_csv(tmp_path / "a.csv", OLD, rows())
    second = write_csv(tmp_path / "b.csv", OLD, [r[:11] + ["1", "1"] for r in rows()])
    frame = ho.load_all([first, second])
    assert met_all_crime(frame)[0] == 2


def test_england_and_wales_excludes_british_transport_police(tmp_path):
    data = rows() + rows(force="British Transport Police") + rows(force="Kent")
    frame = ho.load(write_csv(tmp_path / "t.csv", OLD, data))
    rates = ho.withdrawal_rates(ho.with_areas(frame, ["England and Wales"]), ["area"])
    assert rates["withdrawn"].tolist() == [20]
    with pytest.raises(InputError, match="force 'Gotham' is not in the Home Office file"):
        ho.with_areas(frame, ["Gotham"])


def test_rate_table_has_group_totals_and_all_crime(tmp_path):
    table = ho.rate_table(ho.load(write_csv(tmp_path / "t.csv", OLD, rows())), ["Metropolitan Police"])
    cells = table.set_index(["offence_group", "offence_subgroup"])["withdrawn"]
    assert cells[("Violence against the person", "Total")] == 10
    assert cells[("All crime", "Total")] == 10
    assert ("Robbery", "Robbery") not in cells.index and cells[("Robbery", "Total")] == 0


def test_agreement_with_published_figures():
    # A computed 2021/22 Met row equal to the pack's counts (149,366 of 405,751; 401,899 excluding pending).
    computed = pd.DataFrame(
        [
            {
                "area": "Metropolitan Police",
                "financial_year": "2021/22",
                "offence_group": "All crime",
                "offence_subgroup": "Total",
                "withdrawn": 149_366,
                "total": 405_751,
                "total_excl_pending": 401_899,
                "rate": 149_366 / 405_751,
                "rate_excl_pending": 149_366 / 401_899,
            }
        ]
    )
    check = ho.compare_with_published(computed, ho.published_rates())
    assert len(check) == 5 and check["agrees"].all()
    computed["withdrawn"] += 1
    computed["rate"] = 0.40
    check = ho.compare_with_published(computed, ho.published_rates()).set_index("statistic")
    assert not check.loc["withdrawn", "agrees"] and not check.loc["rate", "agrees"] and check.loc["total", "agrees"]


def test_met_2018_19_matches_an_independent_count():
    """Pinned from the raw file by a separate route: Python's csv module streaming the gzip
    (no pandas, no project code), summing 'Force outcomes for offences recorded in quarter'
    over the five in-scope offence groups for 'Metropolitan Police', negative adjustments
    included: outcome types 14 and 16 = 122,725; all types = 376,282; all but type 0 = 366,893.
    England and Wales (all forces but British Transport Police): 1,053,101 / 2,913,952 / 2,809,574."""
    path = ROOT / "data" / "raw" / "prc-outcomes-open-data-mar2019-tables.csv.gz"
    if not path.exists():
        pytest.fail("data/raw is empty: run `make data` first")
    rates = ho.rate_table(ho.load(path), ["Metropolitan Police", "England and Wales"])
    overall = rates[rates["offence_group"] == "All crime"].set_index("area")
    cols = ["withdrawn", "total", "total_excl_pending"]
    assert overall.loc["Metropolitan Police", cols].tolist() == [122_725, 376_282, 366_893]
    assert overall.loc["England and Wales", cols].tolist() == [1_053_101, 2_913_952, 2_809_574]


def test_crime_type_layout_orders_groups_with_totals_last():
    long = pd.DataFrame(
        [
            ("Violence against the person", "Total", "2021/22", "rate", 42.0),
            ("Violence against the person", "Homicide", "2021/22", "rate", 0.0),
            ("Criminal damage and arson", "Total", "2021/22", "rate", 19.0),
            ("Violence against the person", "Homicide", "2021/22", "rate_excl_pending", 0.5),
        ],
        columns=["offence_group", "offence_subgroup", "financial_year", "statistic", "value"],
    )
    table = ho._crime_type_layout(long)
    assert table["Crime type"].tolist() == ["Total", "Homicide", "Total"]
    assert table.columns.tolist() == ["Crime group", "Crime type", "2021/22 excl. pending (%)", "2021/22 rate (%)"]


def test_published_tables_and_trend_read_the_pack():
    published = ho.published_rates()
    figures = ho.published_figures(published)
    met = figures[(figures["area"] == "Metropolitan Police") & (figures["financial_year"] == "2021/22")]
    assert met["value"].tolist()[:3] == [149_366, 405_751, 37] and met["what"].iloc[0] == "Withdrawn (14 + 16)"
    every = [figures] + [ho.published_figures(published, area) for area in published["area"].unique()]
    assert sum(len(part) for part in every) == len(published)  # all-crime rows plus each area's types: every row
    rape = ho.published_figures(published, "Metropolitan Police").query("offence_subgroup == 'Rape'")
    assert rape["value"].tolist() == [60, 64, 55, 63, 43, 62]
    empty_rates = pd.DataFrame(columns=ho.KEYS + ["rate_excl_pending"])
    trend = ho.trend(empty_rates, published, ["West Midlands"])
    assert trend["rate_excl_pending"].tolist() == [44, 48, 51] and set(trend["kind"]) == {"published"}


def test_agreement_sentence_names_a_disagreement():
    check = pd.DataFrame(
        [
            {
                "area": "Metropolitan Police",
                "financial_year": "2021/22",
                "offence_group": "All crime",
                "offence_subgroup": "Total",
                "statistic": "rate",
                "computed": 40.04,
                "published": 37,
                "agrees": False,
            }
        ]
    )
    assert ho.agreement_sentence(check.iloc[:0]).startswith("No year is both computed and published")
    assert "1 of 1 values" in ho.agreement_sentence(check) and "computed 40.0, published 37" in ho.agreement_sentence(
        check
    )
    assert (
        ho.agreement_sentence(check.assign(agrees=True))
        == "In this run all 1 values that are both computed and published agree."
    )


def series(points, area="Metropolitan Police", group=ho.ALL_CRIME, subgroup=ho.TOTAL):
    """A rates frame from (year, withdrawn, pending, total) rows, as rate_table returns it."""
    frame = pd.DataFrame(points, columns=["financial_year", "withdrawn", "pending", "total"])
    frame = frame.assign(area=area, offence_group=group, offence_subgroup=subgroup)
    frame["total_excl_pending"] = frame["total"] - frame["pending"]
    frame["rate"] = frame["withdrawn"] / frame["total"]
    frame["rate_excl_pending"] = frame["withdrawn"] / frame["total_excl_pending"]
    return frame


RISING = [("2017/18", 3000, 0, 10000), ("2018/19", 4000, 0, 10000)]


def test_trend_sentence_follows_the_numbers_rising_reversed_and_flat():
    assert "rose from 30.0% in 2017/18 to 40.0% in 2018/19" in ho.trend_sentence(series(RISING), "Metropolitan Police")
    reversed_ = [("2017/18", 4000, 0, 10000), ("2018/19", 3000, 0, 10000)]
    assert "fell from 40.0%" in ho.trend_sentence(series(reversed_), "Metropolitan Police")
    flat = [("2017/18", 3000, 0, 10000), ("2018/19", 3050, 0, 10000)]
    text = ho.trend_sentence(series(flat), "Metropolitan Police")
    assert "changed little" in text and "within noise: under the 1-point minimum" in text


def test_a_large_change_on_few_cases_is_within_noise():
    few = [("2017/18", 3, 0, 10), ("2018/19", 5, 0, 10)]
    text = ho.trend_sentence(series(few), "Metropolitan Police")
    assert "changed little" in text and "not significant at the 1% level" in text


def test_one_year_or_none_gives_no_trend():
    assert "no trend can be shown" in ho.trend_sentence(series(RISING[:1]), "Metropolitan Police")
    assert "nothing computed" in ho.trend_sentence(series(RISING), "West Midlands")


def test_compare_sentence_lower_higher_and_same():
    met = series([("2018/19", 3000, 0, 10000)])
    for ew_withdrawn, word in ((4000, "lower than"), (2000, "higher than"), (3020, "about the same as")):
        ew = series([("2018/19", ew_withdrawn, 0, 10000)], area="England and Wales")
        text = ho.compare_sentence(pd.concat([met, ew]), "Metropolitan Police", "England and Wales")
        assert f"was {word} England and Wales" in text


def test_pending_effect_sentence_says_when_pending_changes_the_trend():
    # Including pending falls (more pending in the later year); excluding it, flat: the pack's rape pattern.
    distorted = series(
        [("2017/18", 600, 50, 1000), ("2018/19", 430, 320, 1000)], group="Sexual offences", subgroup="Rape"
    )
    text = ho.pending_effect_sentence(distorted, "Metropolitan Police", "Sexual offences", "Rape")
    assert "rape withdrawal fell" in text and "excluding it, it changed little" in text and "disagree" in text
    plain = series(RISING, group="Sexual offences", subgroup="Rape")
    assert "agree" in ho.pending_effect_sentence(plain, "Metropolitan Police", "Sexual offences", "Rape")


def test_statements_beside_recompute_each_published_statement():
    statements = ho.published_statements()
    assert {"mean", "trend", "compare", "none"} >= set(statements["computation"])
    met, ew = series(RISING), series(RISING[::-1], area="England and Wales")
    ew["financial_year"] = ["2017/18", "2018/19"]
    beside = ho.statements_beside(statements, pd.concat([met, ew]))
    assert beside.loc["mps_all_crime_avg", "computed"] == "35.0%"
    assert beside.loc["mps_all_crime_trend", "computed"].startswith("rose")
    assert beside.loc["ew_all_crime_trend", "computed"].startswith("fell")
    assert beside.loc["wmp_all_crime_avg", "computed"] == "force not in this run"
    assert beside.loc["gmp_wyp_vap_higher", "computed"] == "not computed"
    assert beside.loc["mps_all_crime_avg", "computed_years"] == "2017/18 and 2018/19"


def test_published_statements_hold_the_pack_averages():
    values = ho.published_statements()["value"]
    assert [values[k] for k in ("mps_all_crime_avg", "ew_all_crime_avg", "gmp_all_crime_avg")] == [36, 39, 41]
    assert [values[k] for k in ("wmp_all_crime_avg", "wyp_all_crime_avg", "mps_rape_excl_pending_avg")] == [48, 32, 63]


def test_years_label():
    assert ho.years_label(["2018/19", "2017/18"]) == "2017/18 and 2018/19"
    assert ho.years_label(["2017/18", "2018/19", "2019/20"]) == "2017/18 to 2019/20"
    assert ho.years_label([]) == "no year"
