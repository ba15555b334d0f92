"""Fixtures of the preflight unit tests (defined in preflight_machine)."""

from preflight_machine import machine

__all__ = ["machine"]
