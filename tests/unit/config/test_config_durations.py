from __future__ import annotations

from datetime import timedelta

import pytest

from kubeadmpy.config import format_go_duration, parse_go_duration
from kubeadmpy.config.durations import DurationSyntaxError

PARSED = [
    ("24h", timedelta(hours=24)),
    ("8760h0m0s", timedelta(hours=8760)),
    ("1h30m", timedelta(hours=1, minutes=30)),
    ("5m", timedelta(minutes=5)),
    ("1.5s", timedelta(seconds=1.5)),
    ("500ms", timedelta(milliseconds=500)),
    ("250us", timedelta(microseconds=250)),
    ("0", timedelta(0)),
    ("0s", timedelta(0)),
    ("-2m", timedelta(minutes=-2)),
    ("+90s", timedelta(seconds=90)),
]


@pytest.mark.parametrize(("text", "expected"), PARSED, ids=[t for t, _ in PARSED])
def test_go_duration_text_parses_to_the_same_span(text: str, expected: timedelta) -> None:
    assert parse_go_duration(text) == expected


FORMATTED = [
    (timedelta(hours=24), "24h0m0s"),
    (timedelta(hours=87600), "87600h0m0s"),
    (timedelta(minutes=4), "4m0s"),
    (timedelta(seconds=1.5), "1.5s"),
    (timedelta(milliseconds=500), "500ms"),
    (timedelta(microseconds=7), "7µs"),
    (timedelta(0), "0s"),
    (timedelta(minutes=-2), "-2m0s"),
]


@pytest.mark.parametrize(("value", "expected"), FORMATTED, ids=[e for _, e in FORMATTED])
def test_durations_print_as_go_prints_them(value: timedelta, expected: str) -> None:
    assert format_go_duration(value) == expected
    assert parse_go_duration(expected) == value


@pytest.mark.parametrize("text", ["", "24", "h", "1d", "5 m", "1.2.3s", "abc", "2562048h", "99999999999999999h"])
def test_text_that_go_rejects_is_not_a_duration(text: str) -> None:
    with pytest.raises(DurationSyntaxError, match="is not a duration"):
        parse_go_duration(text)
