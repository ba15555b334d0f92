"""Shared test set-up: every test under tests/<tier>/ carries the marker of its tier."""

from __future__ import annotations

from pathlib import Path

import pytest

TIERS = ("unit", "integration", "node", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).parts
        for tier in TIERS:
            if tier in parts:
                item.add_marker(getattr(pytest.mark, tier))
