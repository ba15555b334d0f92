"""kubeadm's ArgumentsToCommand rules, on the merge function itself."""

from __future__ import annotations

import pytest

from kubeadmpy.render.arguments import Arg, args, arguments_to_command

MERGE_CASES = [
    ("defaults alone come out sorted by name",
     args(("b", "2"), ("a", "1")), (), ["--a=1", "--b=2"]),
    ("an extra name replaces every default of that name",
     args(("v", "1"), ("v", "2"), ("x", "0")), args(("v", "9")), ["--v=9", "--x=0"]),
    ("repeated extras are all kept, sorted by value",
     args(("x", "0")), args(("t", "b"), ("t", "a")), ["--t=a", "--t=b", "--x=0"]),
    ("an empty extra value still replaces the default",
     args(("s", "/ca.key")), args(("s", "")), ["--s="]),
    ("names sort bytewise as in Go", args(("a-b", "1"), ("a", "1"), ("aB", "1")), (),
     ["--a=1", "--a-b=1", "--aB=1"]),
]


@pytest.mark.parametrize(("defaults", "extra", "expected"), [c[1:] for c in MERGE_CASES],
                         ids=[c[0] for c in MERGE_CASES])
def test_arguments_to_command_follows_kubeadm(defaults: tuple[Arg, ...], extra: tuple[Arg, ...],
                                              expected: list[str]) -> None:
    assert arguments_to_command(defaults, extra) == expected
