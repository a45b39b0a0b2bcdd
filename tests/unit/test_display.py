import base64
import io
import re

import numpy as np
import pandas as pd

from helpers import display
from helpers.params import parse_params

FRAME = pd.DataFrame(
    {"BCU": ["Central East", "West Area"], "Offences": [np.int64(1234), np.int64(56)], "Rate": [0.4567, np.nan]}
)


def test_table_has_caption_header_cells_and_right_aligned_numbers():
    html = display.table(FRAME, caption="Offences by BCU", csv_name="x.csv", formats={"Offences": "{:,.0f}"}).data
    assert "<caption>Offences by BCU</caption>" in html
    assert html.count('<th scope="col">') == 3
    assert '<td class="num" data-value="1234">1,234</td>' in html  # sorts by value, shows formatted
    assert "<td>Central East</td>" in html


def test_csv_download_holds_the_values_at_the_declared_precision():
    html = display.table(FRAME, caption="c", csv_name="x.csv", formats={"Rate": "{:.0%}"}).data
    payload = re.search(r'href="data:text/csv;base64,([^"]+)"', html).group(1)
    back = pd.read_csv(io.StringIO(base64.b64decode(payload).decode()))
    pd.testing.assert_frame_equal(back, FRAME, check_dtype=False)
    assert '<td class="num" data-value="0.4567">46%</td>' in html
    assert '<td class="num">—</td>' in html and "nan" not in html.split("base64")[0]


def test_formats_skip_text_cells():
    frame = pd.DataFrame({"Published": ["not published", 3.5]})
    html = display.table(frame, caption="c", csv_name="x.csv", formats={"Published": "{:.2f}"}).data
    assert "<td>not published</td>" in html and '<td class="num" data-value="3.5">3.50</td>' in html


def test_run_banner_names_the_run_and_warns_on_synthetic_data():
    params = parse_params(
        {
            "run_name": "fy22",
            "period_start": "2022-04-01",
            "period_end": "2023-03-31",
            "force": "Metropolitan Police",
            "pas_survey_year": "2022-23",
            "mirror": "m",
            "raw_dir": "r",
            "home_office_sources": ["ho"],
            "comparators": ["Metropolitan Police"],
            "extract_dir": "x",
            "dataset_dir": "d",
        }
    )
    html = display.run_banner(params, "synthetic").data
    assert 'class="admonition warning"' in html and "SYNTHETIC" in html
    assert "<code>fy22</code>" in html and "01 April 2022 to 31 March 2023" in html
    assert "fewer than 100" in html


def test_comparison_table_marks_unpublished_values():
    frame = display.comparison_table([("a", None, 2.0), ("b", 3.5, 3.76)])
    assert frame["Published"].tolist() == ["not published", 3.5]


def test_suppression_hides_cells_below_the_threshold_only():
    frame = pd.DataFrame({"area": ["a", "b", "c"], "n": [99, 100, 5000], "rate": [0.5, 0.4, 0.3]})
    shown = display.suppress(frame, ["n", "rate"], frame["n"], 100)
    assert shown["n"].tolist() == ["N<100", 100, 5000]
    assert shown["rate"].tolist() == ["N<100", 0.4, 0.3]
    assert display.suppress(frame, ["n"], frame["n"], 10)["n"].tolist() == [99, 100, 5000]


def test_table_has_a_markdown_form_for_the_pdf():
    frame = pd.DataFrame({"Group": ["a|b", "c"], "Rate": [0.4567, np.nan]})
    markdown = display.table(
        frame, caption="Rates", csv_name="x.csv", formats={"Rate": "{:.0%}"}, note="A note."
    ).markdown.splitlines()
    assert markdown[:6] == ["**Rates**", "", "| Group | Rate |", "|---|---|", "| a\\|b | 46% |", "| c | — |"]
    assert markdown[-1] == "*A note.*"


def test_numbers_are_written_at_the_declared_precision_whatever_the_summation_order():
    # The two reprs seen on two machines for one value (issue: baselines at full repr).
    assert display.declared(1.011115388440882) == display.declared(1.0111153884408821) == 1.01112
    assert display.declared(0.3758161264602964) == display.declared(0.37581612646029644) == 0.375816
    # Whole numbers stay exact, however large, and a float a hair off a whole number is that number.
    assert display.declared(np.float64(1234567.0)) == 1234567 and display.declared(2.9999999999999996) == 3
    assert display.declared(np.int64(7)) == 7 and display.declared(1234567.5) == 1234570.0
    assert np.isnan(display.declared(np.nan)) and display.declared("text") == "text" and display.declared(True) is True


def test_table_sort_keys_csv_and_unformatted_cells_do_not_carry_full_precision():
    frame = pd.DataFrame({"Measure": ["a", "b"], "Value": [0.37581612646029644, 2.0], "Mixed": ["n/a", 1 / 3]})
    table = display.table(frame, caption="c", csv_name="x.csv", formats={"Value": "{:.2f}"})
    assert 'data-value="0.375816">0.38</td>' in table.data and 'data-value="2">2.00</td>' in table.data
    assert '<td class="num" data-value="0.333333">0.333333</td>' in table.data and "| n/a |" in table.markdown
    payload = re.search(r'href="data:text/csv;base64,([^"]+)"', table.data).group(1)
    assert base64.b64decode(payload).decode().splitlines() == [
        "Measure,Value,Mixed",
        "a,0.375816,n/a",
        "b,2.0,0.333333",
    ]
    assert not re.search(r"\d\.\d{7,}", table.data + table.markdown)


def test_a_table_wider_than_a_printed_page_is_printed_in_parts_repeating_its_first_column():
    frame = pd.DataFrame([["Central East", *range(1, 16)]], columns=["BCU", *(f"c{i}" for i in range(1, 16))])
    markdown = display.table(frame, caption="Wide", csv_name="x.csv").markdown
    blocks = markdown.strip().split("\n\n**")
    assert len(blocks) == 3  # 15 figure columns, 6 a part beside the BCU
    assert "**Wide (columns 2-7 of 16)**" in markdown and "Wide (columns 14-16 of 16)**" in blocks[2]
    assert "| BCU | c13 | c14 | c15 |" in markdown and "| Central East | 13 | 14 | 15 |" in markdown
    assert all(line.count("|") <= display.PRINTED_COLUMNS + 1 for line in markdown.splitlines())
    narrow = display.table(frame.iloc[:, :7], caption="Narrow", csv_name="x.csv").markdown
    assert narrow.startswith("**Narrow**\n\n| BCU | c1 |")


def test_a_figure_is_stored_once_with_its_alt_text(monkeypatch):
    import IPython.display
    import matplotlib.pyplot as plt

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *a, **k: shown.append((a, k)))
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    display.show(fig, "Rates rise from 0% to 1%")
    (bundle,), options = shown[0]
    assert set(bundle) == {"image/png", "text/plain"}  # no second copy in an HTML <img>
    assert options["metadata"] == {"image/png": {"alt": "Rates rise from 0% to 1%"}}
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG")
