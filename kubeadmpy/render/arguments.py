"""Component command lines: defaults merged with user extraArgs the way kubeadm does it.

kubeadm's ArgumentsToCommand rule, kept exactly so upstream manifests come out byte-identical:
a name given in extraArgs replaces *every* default of that name, repeated extraArgs are all kept,
and the result is sorted by (name, value) and written ``--name=value``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kubeadmpy.errors import ConfigError

_ARG_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True, order=True)
class Arg:
    """One command-line flag: kubeadm v1beta4's ``{name, value}`` pair (name without dashes)."""

    name: str
    value: str


ArgList = Sequence[Arg]


def args(*pairs: tuple[str, str]) -> tuple[Arg, ...]:
    """Build an Arg tuple from ``(name, value)`` pairs."""
    return tuple(Arg(name, value) for name, value in pairs)


def check_extra_args(extra: Iterable[Arg], field: str) -> None:
    """Reject extraArgs a component could not parse, naming the offending entry."""
    for index, arg in enumerate(extra):
        where = f"{field}[{index}].name"
        if arg.name.startswith("-"):
            raise ConfigError(where, f"{arg.name!r} starts with a dash",
                              f"write the flag name without dashes, e.g. {arg.name.lstrip('-')!r}")
        if not _ARG_NAME.fullmatch(arg.name):
            raise ConfigError(where, f"{arg.name!r} is not a flag name",
                              "use letters, digits, '-', '_' or '.' only")
        if "\n" in arg.value or "\0" in arg.value:
            raise ConfigError(f"{field}[{index}].value", f"{arg.value!r} holds a newline or NUL",
                              "give the value on one line")


def merge_args(defaults: Iterable[Arg], extra: Iterable[Arg]) -> list[Arg]:
    """kubeadm's merge: extra names replace all defaults of that name; sorted by (name, value)."""
    extra = list(extra)
    overridden = {arg.name for arg in extra}
    merged = extra + [arg for arg in defaults if arg.name not in overridden]
    return sorted(merged, key=lambda arg: (arg.name.encode(), arg.value.encode()))


def arguments_to_command(defaults: Iterable[Arg], extra: Iterable[Arg]) -> list[str]:
    """The ``--name=value`` words of a component command line."""
    return [f"--{arg.name}={arg.value}" for arg in merge_args(defaults, extra)]


def last_value(extra: Iterable[Arg], name: str) -> str | None:
    """The value of the last extraArg called `name` (kubeadm's GetArgValue with index -1)."""
    found = None
    for arg in extra:
        if arg.name == name:
            found = arg.value
    return found
