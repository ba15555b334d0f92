"""Go-style durations: parsing flags like ``--validity-period 8760h`` and kubeadm's short output.

Validity periods are written the Go way in kubeadm flags and config files (``8760h``,
``1h30m``), and `certs check-expiration` prints residual times as Go's ShortHumanDuration does
(``364d``, ``9y``, ``<invalid>``), so both directions live here.
"""

from __future__ import annotations

import re
from datetime import timedelta

from kubeadmpy.errors import UserInputError

_UNITS = {
    "ns": timedelta(microseconds=0.001),
    "us": timedelta(microseconds=1),
    "µs": timedelta(microseconds=1),
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_duration(text: str, field: str) -> timedelta:
    """A Go duration string (``24h``, ``1h30m``, ``90s``); a bad one names `field` and the fix."""
    body = text.strip()
    sign = -1 if body.startswith("-") else 1
    body = body.lstrip("+-")
    position, total = 0, timedelta(0)
    while position < len(body):
        match = _PART.match(body, position)
        if not match:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if not body or position != len(body):
        if body == "0":
            return timedelta(0)
        raise UserInputError(
            field,
            f"{text!r} is not a duration",
            "Use Go duration syntax such as 24h, 8760h or 1h30m",
        )
    return sign * total


def short_human_duration(delta: timedelta) -> str:
    """Go's ShortHumanDuration: ``<invalid>`` below -1s, then s, m, h (<24h), d (<365d), y."""
    seconds = int(delta.total_seconds())
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 24:
        return f"{hours}h"
    if hours < 24 * 365:
        return f"{hours // 24}d"
    return f"{hours // (24 * 365)}y"
