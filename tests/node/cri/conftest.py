"""One private containerd (own root, state, socket, CNI bridge and /24) per test module."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubeadmpy.cri.scratch import ScratchContainerd


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScratchContainerd]:
    scratch = ScratchContainerd(Path(tmp_path_factory.mktemp("containerd")))
    try:
        asyncio.run(scratch.start())
        yield scratch
    finally:
        problems = asyncio.run(scratch.close())
        assert not problems, problems
