"""Redaction for screen sharing: IPs, tokens and configured patterns, masked consistently."""

from __future__ import annotations

import pytest

from cockpit.domain.redact import Redactor


def test_ipv4_and_ipv6_are_masked_and_the_same_address_keeps_its_mask():
    r = Redactor()
    first = r.redact("worker-3 at 10.0.0.13, gateway 10.0.0.1, again 10.0.0.13")
    assert first == "worker-3 at ip-1, gateway ip-2, again ip-1"
    assert r.redact("ping 10.0.0.13") == "ping ip-1"  # consistent across calls
    assert r.redact("fe80::1%eth0 2001:db8::7/64 and ::1") == "ip-3%eth0 ip-4 and ip-5"


def test_versions_times_and_mac_addresses_are_not_addresses():
    text = "kubelet v1.33.1 at 07:19:17, mac aa:bb:cc:dd:ee:ff, 999.1.1.1, image web:1.4.0"
    assert Redactor().redact(text) == text


@pytest.mark.parametrize("text, masked", [
    ("Authorization: Bearer abcdefghijklmnop123", "Authorization: Bearer token-1"),
    ("token=s3cr3tvalue99 next", "token=token-1 next"),
    ('password: "hunter2hunter"', 'password: "token-1"'),
    ("jwt eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.SflKxwRJSMeKKF2QT4f", "jwt token-1"),
])
def test_tokens_are_masked_but_their_labels_stay(text, masked):
    assert Redactor().redact(text) == masked


def test_configured_patterns_mask_names_and_never_re_mask_a_mask():
    r = Redactor([r"\bacme-[a-z]+\b", r"\d"])
    assert r.redact("ns acme-prod on 10.0.0.9") == "ns name-1 on ip-1"
    assert r.redact("acme-prod again") == "name-1 again"


def test_disabled_redactor_returns_text_unchanged_and_bad_patterns_are_named():
    assert Redactor(enabled=False).redact("10.0.0.1") == "10.0.0.1"
    with pytest.raises(ValueError, match=r"'\(' is not a valid"):
        Redactor(["("])


def test_keep_width_pads_or_cuts_each_mask_to_what_it_replaces():
    r = Redactor([r"\bw\d\b"])
    assert r.redact("10.0.0.13 | w3 | 1.2.3.4 |", keep_width=True) == "ip-1      | na | ip-2    |"
