"""The book's Sphinx extensions: tables fitted to the printed page (print_tables) and
pasted figures a run could not compute (missing_figures)."""

import sys

from docutils import nodes

from helpers.paths import ROOT

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import print_tables  # noqa: E402  (a Sphinx extension, not a package)


def _table(rows: list[list[str]]) -> nodes.table:
    tgroup = nodes.tgroup(cols=len(rows[0]))
    tgroup += [nodes.colspec(colwidth=1) for _ in rows[0]]
    body = nodes.tbody()
    for cells in rows:
        row = nodes.row()
        for cell in cells:
            row += nodes.entry("", nodes.paragraph(text=cell))
        body += row
    tgroup += body
    table = nodes.table(classes=["colwidths-auto"])
    table += tgroup
    return table


def test_columns_are_as_wide_as_their_longest_entry_within_bounds():
    table = _table([["BCU", "Rate", "Note"], ["Central East", "12.5", "x" * 100]])
    assert print_tables.column_widths(next(table.findall(nodes.tgroup))) == [12, 4, 40]


def test_long_words_get_a_break_every_eight_characters_and_short_ones_none():
    sha = "4ca6ca6812b4354224405f6eef0e473dec960003032d61b38a877c9405918972"
    broken = print_tables.breakable(f"sha {sha} end")
    assert broken.replace("\u200b", "") == f"sha {sha} end" and broken.count("\u200b") == 7
    assert print_tables.breakable("Violence with injury") == "Violence with injury"


class _Builder:
    format = "latex"


class _App:
    builder = _Builder()


def test_latex_tables_get_given_widths_and_breakable_cells():
    table = _table([["File", "sha256"], ["a.csv", "f" * 64]])
    document = nodes.document(None, None)
    document += table
    print_tables.fit_tables(_App(), document, "data_log")
    assert "colwidths-given" in table["classes"] and "colwidths-auto" not in table["classes"]
    assert [spec["colwidth"] for spec in table.findall(nodes.colspec)] == [5, 40]
    assert "\u200b" in table.astext()


def test_a_pasted_figure_a_run_could_not_compute_reads_as_a_dash():
    import missing_figures

    document = nodes.document(None, None)
    paragraph = nodes.paragraph()
    paragraph += [
        nodes.inline("nan", "nan", classes=["pasted-text"]),
        nodes.Text(" and "),
        nodes.inline("12", "12", classes=["pasted-text"]),
        nodes.inline("nan", "nan"),
    ]
    document += paragraph
    missing_figures.show_missing(None, document, "key_insights")
    assert [n.astext() for n in paragraph.children] == ["-", " and ", "12", "nan"]  # only pasted figures change


def test_published_figures_are_written_with_their_unit():
    import published_figures

    assert published_figures.format_value(39.0, "percent") == "39%"
    assert published_figures.format_value(3.9, "percent") == "3.9%"
    assert published_figures.format_value(273298.0, "reports") == "273,298"
    assert published_figures.format_value(3.2, "odds ratio") == "3.2×"
    assert published_figures.format_value(18.0, "percentage points") == "18 pp"


def test_a_published_figure_is_read_from_its_file_and_an_unknown_key_warns(monkeypatch):
    import published_figures

    warnings = []
    monkeypatch.setattr(published_figures.logger, "warning", lambda message, **_: warnings.append(message))

    class Inliner:
        class document:
            current_source = "page.md"

    key = published_figures.published.load("regression_models").index[0]
    (node,), _ = published_figures.value_role("published", "", f"regression_models:{key}", 1, Inliner)
    assert node.astext() != "?" and warnings == []
    (node,), _ = published_figures.value_role("published", "", "regression_models:no_such_key", 1, Inliner)
    assert node.astext() == "?" and "no_such_key" in warnings[0]


def test_an_odds_ratio_below_one_is_written_as_times_less_likely():
    import published_figures

    class Inliner:
        class document:
            current_source = "page.md"

    (node,), _ = published_figures.times_role("", "", "withdrawal_headlines:or_arrested_later", 1, Inliner)
    assert node.astext() == "3.7×"
    (node,), _ = published_figures.times_role("", "", "withdrawal_headlines:or_rape", 1, Inliner)
    assert node.astext() == "3.2×"
