"""Workflows (`init`, `join`, `reset`) as ordered trees of small phases, and their runner."""
