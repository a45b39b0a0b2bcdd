"""Figures the pack publishes, pasted into the book's pages from data/published/, never typed.

    {published}`home_office_statements:ew_all_crime_avg`     -> 39%
    {published-period}`home_office_statements:ew_all_crime_avg` -> 2021/22 to 2023/24
    {published-times}`withdrawal_headlines:or_arrested_later` -> 3.7× (an odds ratio below 1 as
                                                                 "times less likely", as the pack writes it)

The value is written with its unit (percent, percentage points, times, counts); a file or key
that does not exist is an error, so a page cannot quote a figure the data does not hold.
"""

from functools import cache

from docutils import nodes
from sphinx.util import logging

from helpers import published

UNITS = {"percent": "{}%", "percentage points": "{} pp", "times": "{}×", "odds ratio": "{}×"}

logger = logging.getLogger(__name__)
_load = cache(published.load)  # a page pastes many figures from one file: read each file once


def _figure(text: str, lineno: int, inliner):
    # A key's "|" is written with a backslash before it inside a Markdown table, where a bare one ends the cell.
    name, _, key = text.replace("\\|", "|").partition(":")
    try:
        return _load(name).loc[key]
    except (FileNotFoundError, KeyError) as error:
        logger.warning(f"published figure {text!r} not found ({error})", location=inliner.document.current_source)
        return None


def format_value(value: float, unit: str) -> str:
    number = f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"
    return UNITS.get(unit, "{}").format(number)


def value_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    row = _figure(text, lineno, inliner)
    shown = "?" if row is None else format_value(row["value"], row["unit"])
    return [nodes.inline(rawtext, shown, classes=["published-figure"])], []


def times_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    row = _figure(text, lineno, inliner)
    shown = "?" if row is None else f"{max(row['value'], 1 / row['value']):.1f}×"
    return [nodes.inline(rawtext, shown, classes=["published-figure"])], []


def period_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    row = _figure(text, lineno, inliner)
    return [nodes.inline(rawtext, "?" if row is None else str(row["period"]), classes=["published-period"])], []


def setup(app):
    app.add_role("published", value_role)
    app.add_role("published-period", period_role)
    app.add_role("published-times", times_role)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
