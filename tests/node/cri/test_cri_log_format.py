"""Parsing CRI log records: full and partial lines, both streams, malformed input."""

from __future__ import annotations

import pytest

from kubeadmpy.cri import LogFormatError, parse_log_line, read_log


@pytest.mark.parametrize("line, expected", [
    ("2026-01-02T03:04:05.123456789Z stdout F hello world", ("stdout", False, "hello world")),
    ("2026-01-02T03:04:05.1Z stderr P part", ("stderr", True, "part")),
    ("2026-01-02T03:04:05.000000001+02:00 stdout F ", ("stdout", False, "")),
    ("2026-01-02T03:04:05Z stdout F", ("stdout", False, "")),
], ids=["a full stdout line keeps its spaces", "a partial stderr record",
        "an empty line with an offset time", "an empty line without text"])
def test_records_are_parsed(line: str, expected: tuple[str, bool, str]) -> None:
    record = parse_log_line(line)
    assert (record.stream, record.partial, record.text) == expected


@pytest.mark.parametrize("line", ["hello", "2026-01-02T03:04:05Z stdin F x",
                                  "2026-01-02T03:04:05Z stdout X x"],
                         ids=["plain text", "an unknown stream", "an unknown tag"])
def test_malformed_lines_are_refused(line: str) -> None:
    with pytest.raises(LogFormatError):
        parse_log_line(line)


def test_partial_records_join_per_stream() -> None:
    text = "\n".join([
        "2026-01-02T03:04:05.1Z stdout P abc",
        "2026-01-02T03:04:05.2Z stderr F err",
        "2026-01-02T03:04:05.3Z stdout P def",
        "2026-01-02T03:04:05.4Z stdout F ghi",
    ]) + "\n"
    lines = read_log(text)
    assert [(line.stream, line.text, line.timestamp) for line in lines] == [
        ("stderr", "err", "2026-01-02T03:04:05.2Z"),
        ("stdout", "abcdefghi", "2026-01-02T03:04:05.1Z"),
    ]


def test_nanosecond_times_become_microsecond_datetimes() -> None:
    record = parse_log_line("2026-01-02T03:04:05.123456789Z stdout F x")
    assert record.time.microsecond == 123456 and record.time.utcoffset() is not None
