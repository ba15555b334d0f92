"""Shared API machinery: Status errors, selectors, object metadata helpers and the resource registry.

Used by the apiserver and, later, by clients and controllers; nothing here does I/O.
"""
