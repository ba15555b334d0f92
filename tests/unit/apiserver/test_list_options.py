"""List and watch query strings: every malformed value is a 400 or 422 that names it."""

from __future__ import annotations

import pytest
from multidict import MultiDict

from kubeadmpy.apiserver.listing import parse_list_options
from kubeadmpy.apiserver.resources import build_registry
from kubeadmpy.apiserver.storage import decode_continue, encode_continue
from kubeadmpy.machinery.registry import ResourceSpec
from kubeadmpy.machinery.status import APIStatusError


def configmaps() -> ResourceSpec:
    spec = build_registry().lookup("", "v1", "configmaps")
    assert spec is not None
    return spec


def test_good_query_fills_the_options() -> None:
    query = MultiDict([("resourceVersion", "12"), ("resourceVersionMatch", "NotOlderThan"),
                       ("limit", "5"), ("watch", "true"), ("sendInitialEvents", "true"),
                       ("allowWatchBookmarks", "true"), ("timeoutSeconds", "30")])
    options = parse_list_options(configmaps(), "ns", query)
    assert (options.resource_version, options.match, options.limit, options.watch,
            options.send_initial_events, options.bookmarks, options.timeout_seconds) == (
        "12", "NotOlderThan", 5, True, True, True, 30)
    assert parse_list_options(configmaps(), "ns", MultiDict([("limit", "-3")])).limit == 0


@pytest.mark.parametrize(("query", "code", "words"), [
    ({"resourceVersion": "abc"}, 400, 'invalid resource version "abc"'),
    ({"resourceVersion": "-1"}, 400, 'invalid resource version "-1"'),
    ({"resourceVersion": "²"}, 400, 'invalid resource version "²"'),
    ({"limit": "ten"}, 400, 'invalid value for limit: "ten": must be an integer'),
    ({"watch": "1", "timeoutSeconds": "soon"}, 400, "invalid value for timeoutSeconds"),
    ({"watch": "maybe"}, 400, 'invalid value for watch: "maybe"'),
    ({"resourceVersion": "1", "resourceVersionMatch": "Newest"}, 422,
     'Unsupported value: "Newest"'),
    ({"resourceVersionMatch": "NotOlderThan"}, 422,
     "resourceVersionMatch is forbidden unless resourceVersion is provided"),
    ({"resourceVersion": "0", "resourceVersionMatch": "Exact"}, 422,
     'resourceVersionMatch "exact" is forbidden'),
    ({"resourceVersion": "1", "resourceVersionMatch": "Exact", "continue": "x"}, 422,
     "forbidden when continue is provided"),
    ({"watch": "true", "resourceVersionMatch": "NotOlderThan"}, 422,
     "forbidden for watch unless sendInitialEvents"),
    ({"sendInitialEvents": "true"}, 422, "sendInitialEvents is forbidden for list"),
    ({"watch": "true", "sendInitialEvents": "true"}, 422,
     "sendInitialEvents requires setting resourceVersionMatch"),
    ({"resourceVersion": "3", "continue": "x"}, 422,
     "specifying resource version is not allowed when using continue"),
])
def test_bad_list_query_is_rejected(query: dict[str, str], code: int, words: str) -> None:
    with pytest.raises(APIStatusError) as caught:
        parse_list_options(configmaps(), "ns", MultiDict(query))
    assert caught.value.code == code
    assert words in str(caught.value) or words in str(caught.value.to_status())


def test_continue_token_round_trips() -> None:
    assert decode_continue(encode_continue(42, "ns/name")) == (42, "ns/name\0")


@pytest.mark.parametrize("token", ["!!!", "e30", "eyJydiI6ICJ4In0"])
def test_bad_continue_token_is_a_400(token: str) -> None:
    with pytest.raises(APIStatusError) as caught:
        decode_continue(token)
    assert caught.value.code == 400 and "continue key is not valid" in str(caught.value)
