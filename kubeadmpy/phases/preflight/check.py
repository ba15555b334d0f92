"""The shape of one preflight check: a kubeadm name plus a function returning findings.

A check is plain data so that check sets can be built, listed, filtered and tested as values.
Its `name` is exactly kubeadm's (users already pass these names to
`--ignore-preflight-errors`); the runner matches it case-insensitively.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import NamedTuple


class Findings(NamedTuple):
    """What one check found: warnings never stop a workflow, errors do unless ignored."""

    warnings: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()

    @classmethod
    def ok(cls) -> Findings:
        return cls()

    @classmethod
    def warning(cls, *messages: str) -> Findings:
        return cls(warnings=messages)

    @classmethod
    def error(cls, *messages: str) -> Findings:
        return cls(errors=messages)

    def __add__(self, other: object) -> Findings:
        if not isinstance(other, Findings):
            return NotImplemented
        return Findings(self.warnings + other.warnings, self.errors + other.errors)


@dataclass(frozen=True)
class Check:
    """One named check; `run` reads the machine and never changes it."""

    name: str
    run: Callable[[], Findings]
    what: str = ""  # one line saying what is verified, for listings and the summary table


def path_check_name(kind: str, logical_path: str | PurePosixPath) -> str:
    """kubeadm's name for a path check: every '/' becomes '-', so absolute paths give '--'.

    >>> path_check_name("FileAvailable", "/etc/kubernetes/manifests/etcd.yaml")
    'FileAvailable--etc-kubernetes-manifests-etcd.yaml'
    """
    return f"{kind}-{str(logical_path).replace('/', '-')}"
