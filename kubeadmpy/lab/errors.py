"""Errors the lab reports: a lab that cannot be made, found or reached, with the fix."""

from __future__ import annotations

from kubeadmpy.errors import KubeadmpyError


class LabError(KubeadmpyError):
    """A lab operation failed; the message says what to run next."""


class LabExistsError(LabError):
    """`up` was asked for a lab name that already has a (possibly half-made) lab."""


class LabNotFoundError(LabError):
    """No lab of that name exists."""
