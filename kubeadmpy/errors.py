"""The one exception tree of kubeadmpy.

Every error a user can cause or meet derives from `KubeadmpyError`; the CLI prints its message
(never a traceback) and exits non-zero. Third-party errors are translated into these at the
adapter that calls the library, always with ``raise ... from exc``.
"""

from __future__ import annotations


class KubeadmpyError(Exception):
    """Base of every error kubeadmpy reports to a user."""

    exit_code: int = 1


class UserInputError(KubeadmpyError):
    """Bad input (flag, config file, token, inventory): names the field, the value and the fix."""

    def __init__(self, field: str, problem: str, fix: str = "", *, source: str = "") -> None:
        self.field = field
        self.problem = problem
        self.fix = fix
        self.source = source
        where = f"{source}: " if source else ""
        text = f"{where}{field}: {problem}"
        if fix:
            text += f". {fix}"
        super().__init__(text)


class ConfigError(UserInputError):
    """A configuration document is malformed or invalid."""


class PKIError(KubeadmpyError):
    """Certificates or keys on disk are missing, invalid or inconsistent."""


class PreflightError(KubeadmpyError):
    """One or more preflight checks failed and were not ignored."""


class PhaseError(KubeadmpyError):
    """A workflow phase failed; the message starts with the phase name."""

    def __init__(self, phase: str, message: str) -> None:
        self.phase = phase
        super().__init__(f"[{phase}] {message}")


class NeedsControlPlaneError(KubeadmpyError):
    """A phase needs a running API server that this machine does not have (yet)."""
