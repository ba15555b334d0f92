"""A private containerd without preloaded images: the tests here import them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubeadmpy.cri.scratch import ScratchContainerd


@pytest.fixture(scope="module")
def bare_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScratchContainerd]:
    scratch = ScratchContainerd(Path(tmp_path_factory.mktemp("containerd")))
    try:
        asyncio.run(scratch.start(images=False))
        yield scratch
    finally:
        problems = asyncio.run(scratch.close())
        assert not problems, problems
