"""The limits count an IPv6 client by its /64: one subscriber cannot spread over its 2^64 addresses."""

import pytest

from photolane_upload.guards import subscriber_of


@pytest.mark.parametrize(("address", "counted"), [
    ("203.0.113.7", "203.0.113.7"),
    ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
    ("::ffff:203.0.113.7", "203.0.113.7"),  # an IPv4 client on a dual-stack socket
    (None, "unknown"),
    ("not an address", "not an address"),
])
def test_who_the_limits_count(address: str | None, counted: str) -> None:
    assert subscriber_of(address) == counted


def test_two_addresses_of_one_slash_64_are_one_subscriber_and_the_next_64_another() -> None:
    assert subscriber_of("2001:db8::1") == subscriber_of("2001:db8::ffff:1:2:3")
    assert subscriber_of("2001:db8::1") != subscriber_of("2001:db8:0:1::1")
