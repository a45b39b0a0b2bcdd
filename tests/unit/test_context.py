import pandas as pd
import pytest

from helpers import context
from helpers.errors import InputError

MONTHS = pd.period_range("2021-04", "2021-06", freq="M")


def _monthly(violence, robbery):
    return pd.DataFrame({"Violence against the person": violence, "Robbery": robbery}, index=MONTHS)


def test_largest_group_in_every_month():
    # 300 of 330 offences = 91%
    sentence = context.largest_group_sentence(_monthly([100, 100, 100], [10, 10, 10]))
    assert sentence == (
        "Violence against the person was the largest of the in-scope groups over the period "
        "(91% of in-scope offences) and the largest in every month."
    )


def test_the_sentence_follows_reversed_data():
    sentence = context.largest_group_sentence(_monthly([10, 10, 10], [100, 100, 100]))
    assert sentence.startswith("Robbery was the largest") and sentence.endswith("in every month.")


def test_largest_in_only_some_months():
    # Violence 100 + 100 + 5 = 205 against robbery 10 + 10 + 150 = 170: largest in 2 of 3 months.
    sentence = context.largest_group_sentence(_monthly([100, 100, 5], [10, 10, 150]))
    assert sentence.endswith("(55% of in-scope offences) and the largest in 2 of the 3 months.")


def test_a_tie_and_no_data_are_said_as_such():
    assert context.largest_group_sentence(_monthly([10, 10, 10], [10, 10, 10])) == (
        "Violence against the person and Robbery recorded the same number of offences over the period."
    )
    assert context.largest_group_sentence(pd.DataFrame()) == "No in-scope offences were recorded in the period."


def test_check_force_is_the_met_only():
    context.check_force("Metropolitan Police")
    with pytest.raises(InputError, match="Greater Manchester"):
        context.check_force("Greater Manchester")


def test_context_sources_are_the_pack_references():
    sources = context.context_sources()
    assert sources["Ref"].tolist() == list(range(1, 19))
