"""Where an SMS may go: a mobile number of an allowed country, never a premium-rate or shared-cost one.

SMS pumping sends texts to numbers whose owner is paid per message; refusing the number at upload
(and again before sending) keeps photolane from paying for it.
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import PhoneNumberType

# Numbers that can take an SMS; every other kind (premium rate, shared cost, toll free, pager, ...) is refused.
TEXTABLE = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
KIND_NAMES = {
    PhoneNumberType.PREMIUM_RATE: "a premium-rate number",
    PhoneNumberType.SHARED_COST: "a shared-cost number",
    PhoneNumberType.TOLL_FREE: "a toll-free number",
    PhoneNumberType.FIXED_LINE: "a landline",
}


def sms_refusal(phone: str, countries: frozenset[str]) -> str | None:
    """Why no SMS may go to this E.164 number, or None when one may."""
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return f"{phone} is not a phone number"
    country = phonenumbers.region_code_for_number(number)
    if country not in countries:
        allowed = ", ".join(sorted(countries)) or "none"
        return (f"SMS are not sent to numbers of {country or 'that region'} (+{number.country_code}); "
                f"allowed countries: {allowed}")
    kind = phonenumbers.number_type(number)
    if kind not in TEXTABLE:
        return f"{phone} is {KIND_NAMES.get(kind, 'not a mobile number')}; SMS go only to mobile numbers"
    return None
