"""Number statistics: the pure part of the stats flow."""

import pytest

from photolane_processor.numbers import MAX_NUMBERS, BadNumbers, Summary, summarize


def test_min_max_mean_median() -> None:
    assert summarize([3, 1, 2]) == Summary(3, 1, 3, 2, 2)
    assert summarize([4, 1, 3, 2]) == Summary(4, 1, 4, 2.5, 2.5)
    assert summarize([-1.5]) == Summary(1, -1.5, -1.5, -1.5, -1.5)


def test_numbers_typed_on_a_command_line_are_numbers() -> None:
    assert summarize(["3", " 1 ", "2.5e1", "-.5"]) == Summary(4, -0.5, 25, 7.125, 2)


def test_large_values_are_averaged_exactly() -> None:
    assert summarize([1e308, -1e308, 1.0]).mean == pytest.approx(1 / 3)
    assert summarize([1.7e308, 1.7e308]).mean == 1.7e308
    assert summarize([1e308, 1.5e308, -1e308, -1e308]).median == pytest.approx(0)
    assert summarize([1.5e308, 1.7e308, -1.7e308, -1.5e308]).median == 0


@pytest.mark.parametrize(("raw", "message"), [
    ("3 1 2", "as a list"),
    ({"a": 1}, "as a list"),
    (None, "as a list"),
    ([], "at least one"),
    ([1, "x", 2], "'x'"),
    ([1, True], "True"),
    (["nan", "inf", "1_000", "0x10"], "'nan', 'inf', '1_000', '0x10'"),
    ([float("inf")], "inf"),
    ([[1]], "[1]"),
    ([None] * 7, "and 2 more"),
    ([1] * (MAX_NUMBERS + 1), f"at most {MAX_NUMBERS}"),
])
def test_what_is_not_numbers_is_refused_with_the_reason(raw: object, message: str) -> None:
    with pytest.raises(BadNumbers, match=None) as refused:
        summarize(raw)
    assert message in str(refused.value)


@pytest.mark.parametrize("huge", ["1" * 401, 10**401, "1e999", "-" + "9" * 400])
def test_a_finite_number_too_large_to_compute_with_is_refused_plainly_and_never_cut_mid_number(huge: object) -> None:
    with pytest.raises(BadNumbers) as refused:
        summarize([1, huge])
    message = str(refused.value)
    assert message.startswith("beyond the largest number the statistics are computed with (±1.8e+308)")
    assert "not a finite number" not in message
    if len(str(huge)) > 40:
        assert "…" in message and f"({sum(c.isdigit() for c in str(huge))} digits)" in message


def test_negative_numbers_are_numbers() -> None:
    assert summarize(["-5", "3", -1.5]) == Summary(3, -5.0, 3.0, -3.5 / 3, -1.5)
