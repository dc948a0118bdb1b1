"""Where an SMS may go: a mobile number of an allowed country, never a premium-rate or shared-cost one,
never a number reserved for fiction.

SMS pumping sends texts to numbers whose owner is paid per message; refusing the number at upload
(and again before sending) keeps photolane from paying for it.

In the North American plan (+1: US, CA, ...) a number does not tell a mobile from a landline:
``phonenumbers`` says FIXED_LINE_OR_MOBILE. Such numbers may take an SMS, but the upload service counts
them against a lower per-client limit (``line_unknown``), and NANP 555-0100 … 555-0199, reserved for
films and examples, are refused: no SMS can reach one, and a script making up numbers loves them.
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


def fictitious(number: phonenumbers.PhoneNumber) -> bool:
    """A NANP number of 555-0100 … 555-0199 (any area code): reserved for fiction, never in service."""
    national = phonenumbers.national_significant_number(number)
    return number.country_code == 1 and len(national) == 10 and national[3:6] == "555" and \
        "0100" <= national[6:] <= "0199"


def line_unknown(phone: str) -> bool:
    """True when the number plan cannot tell a mobile from a landline (FIXED_LINE_OR_MOBILE: +1 NANP)."""
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.number_type(number) == PhoneNumberType.FIXED_LINE_OR_MOBILE


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
    if fictitious(number):
        return (f"{phone} is in 555-0100 to 555-0199, the numbers reserved for films and examples: "
                "no SMS can reach it; give a real mobile number, or none")
    return None
