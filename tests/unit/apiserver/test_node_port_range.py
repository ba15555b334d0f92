"""--service-node-port-range: the upstream low-high form, and a named error for anything else."""

from __future__ import annotations

import pytest

from kubeadmpy.apiserver.ipalloc import parse_port_range
from kubeadmpy.errors import UserInputError


def test_a_range_parses_inclusively() -> None:
    assert parse_port_range("30000-32767") == (30000, 32767)
    assert parse_port_range("8080-8080") == (8080, 8080)


@pytest.mark.parametrize(("text", "words"), [
    ("30000", "is not a range"),
    ("low-high", "is not a range"),
    ("30000-", "is not a range"),
    ("", "is not a range"),
    ("0-100", "out of bounds"),
    ("32767-30000", "out of bounds"),
    ("30000-70000", "out of bounds"),
    ("-5-10", "is not a range"),
])
def test_a_bad_range_names_the_flag(text: str, words: str) -> None:
    with pytest.raises(UserInputError) as caught:
        parse_port_range(text)
    assert "--service-node-port-range" in str(caught.value) and words in str(caught.value)
