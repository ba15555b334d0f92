"""containerLogs query parameters, read as upstream reads them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web

from kubeadmpy.cri import LogLine
from kubeadmpy.kubelet.server.logs import LogOptions, _Joiner, parse_options, render

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_no_parameters_mean_the_whole_log_once() -> None:
    assert parse_options({}) == LogOptions()


def test_parameters_are_read_with_upstream_names() -> None:
    options = parse_options({"follow": "true", "tailLines": "5", "timestamps": "1",
                             "sinceSeconds": "60", "limitBytes": "100", "previous": "false"},
                            NOW)
    assert options == LogOptions(follow=True, tail_lines=5, timestamps=True,
                                 since=NOW - timedelta(seconds=60), limit_bytes=100)


@pytest.mark.parametrize("query", [
    pytest.param({"tailLines": "-1"}, id="negative tailLines"),
    pytest.param({"tailLines": "many"}, id="a tailLines that is not a number"),
    pytest.param({"sinceSeconds": "0"}, id="sinceSeconds below 1"),
    pytest.param({"limitBytes": "0"}, id="limitBytes below 1"),
    pytest.param({"sinceTime": "yesterday"}, id="a sinceTime that is not RFC 3339"),
])
def test_bad_values_are_400s(query: dict[str, str]) -> None:
    with pytest.raises(web.HTTPBadRequest):
        parse_options(query)


def test_partial_records_are_joined_across_reads_per_stream() -> None:
    joiner = _Joiner()
    first = joiner.feed([LogLine("t1", "stdout", True, "ab"), LogLine("t2", "stderr", False, "e")])
    second = joiner.feed([LogLine("t3", "stdout", False, "cd")])
    assert [(line.timestamp, line.text) for line in first + second] == [("t2", "e"),
                                                                        ("t1", "abcd")]


def test_timestamps_prefix_the_line() -> None:
    line = LogLine("2026-01-01T00:00:00.123456789Z", "stdout", False, "hi")
    assert render(line, True) == b"2026-01-01T00:00:00.123456789Z hi\n"
    assert render(line, False) == b"hi\n"
