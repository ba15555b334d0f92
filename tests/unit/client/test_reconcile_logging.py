"""Log lines written inside a reconcile call carry its reconcile id."""

from __future__ import annotations

import logging

from kubeadmpy.client import ReconcileIdFilter, reconcile_id


def record() -> logging.LogRecord:
    return logging.LogRecord("x", logging.INFO, __file__, 1, "msg", None, None)


def test_records_carry_the_current_reconcile_id_or_a_dash() -> None:
    plain = record()
    ReconcileIdFilter().filter(plain)
    assert plain.reconcile_id == "-"
    token = reconcile_id.set("mirror-7")
    try:
        inside = record()
        ReconcileIdFilter().filter(inside)
        assert inside.reconcile_id == "mirror-7"
    finally:
        reconcile_id.reset(token)
