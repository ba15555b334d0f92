"""Go-style durations: parsing flags like ``--validity-period 8760h`` and kubeadm's short output.

Validity periods are written the Go way in kubeadm flags and config files (``8760h``,
``1h30m``), and `certs check-expiration` prints residual times as Go's ShortHumanDuration does
(``364d``, ``9y``, ``<invalid>``), so both directions live here.
"""

from __future__ import annotations

from datetime import timedelta

from kubeadmpy.config.durations import DurationSyntaxError, parse_go_duration
from kubeadmpy.errors import UserInputError


def parse_duration(text: str, field: str) -> timedelta:
    """A Go duration string (``24h``, ``1h30m``, ``90s``); a bad one names `field` and the fix."""
    try:
        return parse_go_duration(text)
    except DurationSyntaxError:
        raise UserInputError(
            field,
            f"{text!r} is not a duration",
            "Use Go duration syntax such as 24h, 8760h or 1h30m",
        ) from None


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
