"""Go duration strings ("8760h0m0s", "24h", "1.5s") <-> `datetime.timedelta`.

kubeadm config files carry durations in Go's `time.Duration` text form, and kubeadm prints them
with Go's `Duration.String()` ("24h0m0s", "4m0s"). We read every form Go accepts and print the
canonical Go form, so a file printed by us reads the same in kubeadm and back. Python's timedelta
holds microseconds, so nanosecond remainders are truncated (no kubeadm field needs them).
"""

from __future__ import annotations

import re
from datetime import timedelta
from fractions import Fraction

_NANOS_PER_UNIT = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,  # U+00B5 micro sign
    "μs": 1_000,  # U+03BC Greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
}
_TERM = re.compile(r"(\d*\.?\d*)(ns|us|µs|μs|ms|s|m|h)")
_NANOS_PER_SECOND = 1_000_000_000
_MAX_NANOS = 2**63 - 1  # Go's time.Duration is an int64 of nanoseconds (about 2562047h)


DURATION_HINT = 'Write numbers with units h, m, s, ms, us or ns, such as "24h", "1h30m" or "90s"'


class DurationSyntaxError(ValueError):
    """`text` is not a Go duration."""


def parse_go_duration(text: str) -> timedelta:
    """Parse a Go duration such as "24h", "1h30m", "-1.5s" or "0" into a timedelta."""
    body = text.strip()
    sign = 1
    if body and body[0] in "+-":
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if body == "0":
        return timedelta(0)
    if not body:
        raise DurationSyntaxError(f"{text!r} is not a duration")
    total = Fraction(0)
    position = 0
    while position < len(body):
        match = _TERM.match(body, position)
        if match is None or match.group(1) in ("", "."):
            raise DurationSyntaxError(f"{text!r} is not a duration")
        total += Fraction(match.group(1)) * _NANOS_PER_UNIT[match.group(2)]
        position = match.end()
    if total > _MAX_NANOS:
        raise DurationSyntaxError(f"{text!r} is not a duration (longer than Go allows, ~2562047h)")
    nanos = int(total) * sign
    return timedelta(microseconds=nanos // 1000 if nanos >= 0 else -((-nanos) // 1000))


def format_go_duration(value: timedelta) -> str:
    """Print `value` as Go's `Duration.String()` does: "24h0m0s", "4m0s", "1.5s", "500ms", "0s"."""
    micros = (value.days * 86400 + value.seconds) * 1_000_000 + value.microseconds
    if micros == 0:
        return "0s"
    sign = "-" if micros < 0 else ""
    micros = abs(micros)
    if micros < 1_000_000:
        if micros < 1000:
            return f"{sign}{micros}µs"
        return f"{sign}{_trim(Fraction(micros, 1000))}ms"
    hours, rest = divmod(micros, 3600 * 1_000_000)
    minutes, rest = divmod(rest, 60 * 1_000_000)
    seconds = _trim(Fraction(rest, 1_000_000))
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}s"
    if minutes:
        return f"{sign}{minutes}m{seconds}s"
    return f"{sign}{seconds}s"


def _trim(value: Fraction) -> str:
    """A decimal without trailing zeros: 1.500 -> "1.5", 2 -> "2"."""
    whole, remainder = divmod(value.numerator, value.denominator)
    if remainder == 0:
        return str(whole)
    digits = str(int(Fraction(remainder, value.denominator) * 1_000_000)).rjust(6, "0")
    return f"{whole}.{digits.rstrip('0')}"
