"""The authorizer union for `--authorization-mode` (upstream order: privileged groups first).

system:masters is allowed everything before any mode is asked, as kube-apiserver does; then each
configured mode (Node, RBAC, AlwaysAllow, AlwaysDeny) is asked in order and the first decision
other than "no opinion" wins. No opinion from all of them is a denial whose reason joins theirs.
An authorizer that raises is reported as an evaluation error, never as a server error.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from kubeadmpy.errors import UserInputError
from kubeadmpy.security.identity import MASTERS, Attributes, Decision, Verdict

log = logging.getLogger(__name__)
MODES = ("AlwaysAllow", "AlwaysDeny", "Node", "RBAC", "ABAC", "Webhook")


class Authorizer(Protocol):
    def authorize(self, attrs: Attributes) -> Verdict: ...


class PrivilegedGroups:
    def authorize(self, attrs: Attributes) -> Verdict:
        if MASTERS in attrs.user.groups:
            return Verdict(Decision.ALLOW)  # upstream gives no reason here either
        return Verdict(Decision.NO_OPINION)


class AlwaysAllow:
    def authorize(self, attrs: Attributes) -> Verdict:
        return Verdict(Decision.ALLOW)


class AlwaysDeny:
    def authorize(self, attrs: Attributes) -> Verdict:
        return Verdict(Decision.DENY, "Everything is forbidden.")


def parse_modes(flag: str) -> list[str]:
    """--authorization-mode as a list, refusing unknown or unsupported modes."""
    modes = [m.strip() for m in flag.split(",") if m.strip()]
    if not modes:
        raise UserInputError("--authorization-mode", "is empty", "Use Node,RBAC as kubeadm does")
    for mode in modes:
        if mode not in MODES:
            raise UserInputError("--authorization-mode", f"unknown mode {mode!r}",
                                 f"Use a comma-separated list of {', '.join(MODES[:4])}")
        if mode in ("ABAC", "Webhook"):
            raise UserInputError("--authorization-mode", f"{mode} is not supported by "
                                 "kubeadmpy-apiserver", "Use Node,RBAC")
    if len(set(modes)) != len(modes):
        raise UserInputError("--authorization-mode", f"{flag!r} repeats a mode",
                             "Name each mode once")
    return modes


_PRIVILEGED = PrivilegedGroups()


@dataclass
class AuthorizerChain:
    authorizers: Sequence[Authorizer]

    def authorize(self, attrs: Attributes) -> Verdict:
        reasons: list[str] = []
        errors: list[str] = []
        for authorizer in (_PRIVILEGED, *self.authorizers):
            try:
                verdict = authorizer.authorize(attrs)
            except Exception as exc:
                log.exception("authorizer %s failed", type(authorizer).__name__)
                errors.append(f"{type(authorizer).__name__}: {exc}")
                continue
            if verdict.decision is not Decision.NO_OPINION:
                return verdict
            if verdict.reason:
                reasons.append(verdict.reason)
            if verdict.error:
                errors.append(verdict.error)
        return Verdict(Decision.NO_OPINION, ", ".join(reasons), ", ".join(errors))

    __call__ = authorize
