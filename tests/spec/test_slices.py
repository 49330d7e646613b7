"""The slice grammar: numbers for numeric columns, quoted text and lists for text columns."""

from __future__ import annotations

import pytest

from mlops.spec.slices import SliceFilter, parse_slice


@pytest.mark.parametrize(("text", "parsed"), [
    ("mean_radius > 15", SliceFilter("mean_radius", ">", (15.0,))),
    ("x<=-1.5e3", SliceFilter("x", "<=", (-1500.0,))),
    ("plan == 'basic'", SliceFilter("plan", "==", ("basic",))),
    ('plan != "pro plan"', SliceFilter("plan", "!=", ("pro plan",))),
    ("country in ['US', 'DE']", SliceFilter("country", "in", ("US", "DE"))),
    ("country not  in ['a,b', \"c\"]", SliceFilter("country", "not in", ("a,b", "c"))),
    ("code in [1, 2]", SliceFilter("code", "in", (1.0, 2.0))),
])
def test_filters_parse(text: str, parsed: SliceFilter) -> None:
    assert parse_slice(text) == parsed


@pytest.mark.parametrize(("text", "message"), [
    ("mean_radius is big", "expected a filter like 'mean_radius > 15', \"plan == 'basic'\" or "
                           "\"country in ['US', 'DE']\", got 'mean_radius is big'"),
    ("plan == basic", "expected a number or quoted text, got 'basic' in 'plan == basic' (e.g. "
                      "'mean_radius > 15', \"plan == 'basic'\" or \"country in ['US', 'DE']\")"),
    ("plan > 'a'", "'>' compares numbers; text takes == or != (got \"plan > 'a'\")"),
    ("country in 'US'", "'in' needs a list like ['US', 'DE'], got \"'US'\" in \"country in 'US'\""),
    ("country in []", "'in' needs at least one value, got an empty list in 'country in []'"),
    ("c in ['a', 1]", "mix of text and numbers in \"c in ['a', 1]\"; use one kind"),
])
def test_bad_filters_say_what_was_expected(text: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_slice(text)
    assert str(raised.value) == message


def test_describe_round_trips() -> None:
    for text in ("plan == 'basic'", "country in ['US', 'DE']", "mean_radius > 15"):
        assert parse_slice(parse_slice(text).describe()) == parse_slice(text)
