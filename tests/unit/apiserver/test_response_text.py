"""Text a response cannot carry as it is — a user name from raw header bytes that are not UTF-8,
a field name with a control character in a Warning — is written the way Go writes it instead of
failing the response (a 500, or a dropped connection)."""

from __future__ import annotations

import orjson
import pytest

from kubeadmpy.apiserver.fields import warning_header
from kubeadmpy.apiserver.negotiation import error_response
from kubeadmpy.apiserver.storage import encode
from kubeadmpy.machinery import jsonvalues, status


@pytest.mark.parametrize(("text", "written"), [
    ("fgU\udcb9", "fgU\ufffd"),  # a header byte aiohttp escaped: one U+FFFD per bad byte
    ("\udc80\udc80", "\ufffd\ufffd"),
    ("a\ud800b", "a\ufffd\ufffd\ufffdb"),  # a surrogate no decoder made
    ("plain é", "plain é"),
], ids=["escaped-byte", "two-bytes", "lone-surrogate", "valid"])
def test_text_that_is_not_utf8_is_written_with_replacement_characters(text: str,
                                                                      written: str) -> None:
    assert orjson.loads(jsonvalues.dumps({"user": text, text: [text]})) == {
        "user": written, written: [written]}


def test_a_forbidden_status_for_an_impersonated_non_utf8_user_is_json() -> None:
    response = error_response(status.forbidden('User "\udc80" cannot list resource "pods"'))
    assert response.status == 403
    assert isinstance(response.body, bytes)
    assert '"\ufffd" cannot list' in orjson.loads(response.body)["message"]


def test_an_object_with_a_non_utf8_field_manager_can_be_stored() -> None:
    obj = {"metadata": {"name": "c", "managedFields": [{"manager": "agent\udcff"}]}}
    assert orjson.loads(encode(obj))["metadata"]["managedFields"][0]["manager"] == \
        "agent\ufffd"


def test_a_warning_header_carries_no_control_characters() -> None:
    header = warning_header(['unknown field "\x1f\x7f\n"', 'unknown field "\udc80"'])["Warning"]
    assert all(ch >= " " and ch != "\x7f" for ch in header)
    assert header == ('299 - "unknown field \\"   \\"", '
                      '299 - "unknown field \\"\ufffd\\""')
