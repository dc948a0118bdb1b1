"""Where an SMS may go: the number plan's kinds, the fictitious 555 range, numbers of unknown line type."""

import pytest

from photolane_common.phones import line_unknown, sms_refusal

COUNTRIES = frozenset({"US", "CA", "GB", "AU"})


@pytest.mark.parametrize("phone", ["+14155550100", "+14155550123", "+14155550199", "+12125550150",
                                   "+16135550142"])  # US and Canadian area codes alike
def test_the_nanp_fictitious_range_is_refused(phone: str) -> None:
    refusal = sms_refusal(phone, COUNTRIES)
    assert refusal is not None and "555-0100 to 555-0199" in refusal and "films and examples" in refusal


@pytest.mark.parametrize("phone", ["+14155550099", "+14155550200", "+14155552671", "+14155511234",
                                   "+14155560123"])  # beside the range: 555-0099, 555-0200, …, 556-0123
def test_numbers_beside_the_fictitious_range_pass(phone: str) -> None:
    assert sms_refusal(phone, COUNTRIES) is None


def test_the_kind_is_said_before_the_range() -> None:
    assert "premium-rate" in sms_refusal("+19005550123", COUNTRIES)  # a 900 number in 555-01xx: premium first
    assert "toll-free" in sms_refusal("+18005550123", COUNTRIES)


@pytest.mark.parametrize(("phone", "unknown"), [
    ("+14155552671", True),  # US: FIXED_LINE_OR_MOBILE, the plan does not say
    ("+16135552671", True),  # Canada too
    ("+447911123456", False),  # a UK mobile: MOBILE
    ("+61491570156", False),  # an Australian mobile
    ("+442079460958", False),  # a London landline (FIXED_LINE: refused anyway)
    ("not a number", False),
])
def test_numbers_of_unknown_line_type_are_told_apart(phone: str, unknown: bool) -> None:
    assert line_unknown(phone) is unknown
