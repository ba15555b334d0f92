"""Output handling of `kubeadmpy.remote` that lab commands rely on (pure, no processes)."""

from __future__ import annotations

import io

import pytest

from kubeadmpy.remote import CommandFailedError, CommandResult, prefixed_printer
from kubeadmpy.remote.host import LineSplitter, StreamName, command_text


@pytest.mark.parametrize("command,text", [
    ("echo $HOME | wc -c", "echo $HOME | wc -c"),
    (["echo", "two words", "$HOME"], "echo 'two words' '$HOME'"),
    (["touch", "it's"], "touch 'it'\"'\"'s'"),
], ids=["a string is taken as shell", "arguments are quoted", "a single quote survives"])
def test_commands_become_one_shell_line(command: str | list[str], text: str) -> None:
    assert command_text(command) == text


def test_chunks_split_anywhere_still_give_whole_lines_and_all_text() -> None:
    seen: list[tuple[StreamName, str]] = []
    splitter = LineSplitter("stdout", lambda stream, line: seen.append((stream, line)))
    for chunk in (b"fir", b"st\nsec", b"ond\n\nla", "st \u00e9".encode()[:-1], b"\xa9"):
        splitter.feed(chunk)
    assert seen == [("stdout", "first"), ("stdout", "second"), ("stdout", "")]
    assert splitter.finish() == "first\nsecond\n\nlast \u00e9"
    assert seen[-1] == ("stdout", "last \u00e9")


def test_the_prefixed_printer_tags_each_line_with_its_host_and_stream() -> None:
    out, err = io.StringIO(), io.StringIO()
    emit = prefixed_printer("cp1", out, err)
    emit("stdout", "hello")
    emit("stderr", "warning")
    assert (out.getvalue(), err.getvalue()) == ("[cp1] hello\n", "[cp1] warning\n")


def test_a_failed_result_raises_with_the_last_stderr_lines_when_checked() -> None:
    result = CommandResult("w1", "make", 2, "", "\n".join(f"line {i}" for i in range(10)))
    with pytest.raises(CommandFailedError, match=r"w1: command 'make' exited with code 2; "
                       r"stderr: line 5 \| line 6 \| line 7 \| line 8 \| line 9"):
        result.check()
    assert CommandResult("w1", "true", 0, "", "").check().ok
