"""DeleteOptions from a body and a query string: good values parse, bad ones are a clear 400/422."""

from __future__ import annotations

from typing import Any

import pytest
from multidict import MultiDict

from kubeadmpy.apiserver.writes import DeleteRequest, parse_delete_options
from kubeadmpy.machinery.status import APIStatusError


def test_body_and_query_fill_the_request() -> None:
    body = {"gracePeriodSeconds": 5, "propagationPolicy": "Foreground", "dryRun": ["All"],
            "preconditions": {"uid": "u1", "resourceVersion": "7"}}
    assert parse_delete_options(body, MultiDict()) == DeleteRequest(5, "Foreground", "u1", "7",
                                                                    True)
    query = MultiDict([("gracePeriodSeconds", "0"), ("dryRun", "All")])
    assert parse_delete_options(None, query) == DeleteRequest(0, "", "", "", True)
    assert parse_delete_options({"orphanDependents": True}, MultiDict()).propagation == "Orphan"


@pytest.mark.parametrize(("body", "query", "code", "words"), [
    (["not", "an", "object"], {}, 400, "DeleteOptions must be a JSON object"),
    ("text", {}, 400, "DeleteOptions must be a JSON object"),
    ({"propagationPolicy": "Sideways"}, {}, 422, 'Unsupported value: "Sideways"'),
    ({}, {"propagationPolicy": "Sideways"}, 422, 'Unsupported value: "Sideways"'),
    ({"dryRun": ["Some"]}, {}, 400, 'dryRun: unsupported value "Some"'),
    ({}, {"dryRun": "Some"}, 400, 'dryRun: unsupported value "Some"'),
    ({"dryRun": "All"}, {}, 400, "dryRun: must be a list of strings"),
    ({"gracePeriodSeconds": "soon"}, {}, 400, 'gracePeriodSeconds: invalid value "soon"'),
    ({}, {"gracePeriodSeconds": "-x"}, 400, 'gracePeriodSeconds: invalid value "-x"'),
    ({"gracePeriodSeconds": 1.5}, {}, 400, 'gracePeriodSeconds: invalid value "1.5"'),
    ({"gracePeriodSeconds": True}, {}, 400, 'gracePeriodSeconds: invalid value "True"'),
    ({"gracePeriodSeconds": [3]}, {}, 400, 'gracePeriodSeconds: invalid value "[3]"'),
    ({"preconditions": "u1"}, {}, 400, "preconditions: must be an object"),
])
def test_bad_delete_options_are_rejected(body: Any, query: dict[str, str], code: int,
                                         words: str) -> None:
    with pytest.raises(APIStatusError) as caught:
        parse_delete_options(body, MultiDict(query))
    assert caught.value.code == code
    assert words in str(caught.value)
