"""The address policy on IPv6 forms that hide an IPv4 address."""

from __future__ import annotations

import pytest

from linkpatrol.model.addresses import AddressPolicy


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 form of the cloud metadata address
        ("64:ff9b::7f00:1", False),  # NAT64 form of 127.0.0.1
        ("64:ff9b::808:808", True),  # NAT64 form of a public address
        ("::127.0.0.1", False),  # IPv4-compatible, deprecated
        ("::ffff:10.0.0.1", False),  # IPv4-mapped private
        ("2606:4700::1111", True),
    ],
)
def test_ipv6_forms_of_ipv4_addresses(address: str, allowed: bool) -> None:
    assert AddressPolicy().allows(address) is allowed
    assert AddressPolicy(allow_private=True).allows(address)
