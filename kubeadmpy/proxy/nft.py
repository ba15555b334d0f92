"""The one adapter around the `nft` binary: feed it a script on stdin, translate failures.

Rules go through `nft -f -` rather than netlink bindings because a whole script is one kernel
transaction — the table is replaced completely or not at all — and because the text is exactly
what `nft list table ip kube-proxy` shows back, which keeps debugging on a node simple. The
command is a list so tests (and a node whose nft lives elsewhere) can prefix it, e.g.
`["ip", "netns", "exec", "node1", "nft"]`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from kubeadmpy.errors import KubeadmpyError

DEFAULT_COMMAND = ("nft",)


class NftError(KubeadmpyError):
    """nft refused a script or could not be run; the message quotes nft's own words."""


async def run_script(script: str, command: Sequence[str] = DEFAULT_COMMAND, *,
                     check_only: bool = False) -> None:
    """Apply `script` in one transaction (`nft -c` only checks it)."""
    argv = [*command, *(["-c"] if check_only else []), "-f", "-"]
    try:
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
    except OSError as exc:
        raise NftError(f"cannot run {argv[0]!r} ({exc.strerror}); install nftables "
                       "(the nft binary) on this node") from exc
    _, stderr = await process.communicate(script.encode())
    if process.returncode != 0:
        words = stderr.decode(errors="replace").strip() or f"exit status {process.returncode}"
        raise NftError(f"nft -f failed: {words}")


async def table_exists(family: str, table: str, chain: str,
                       command: Sequence[str] = DEFAULT_COMMAND) -> bool:
    """Whether the table is in the kernel now (someone may have flushed the ruleset). One small
    chain of it is listed, not the whole table, which can be megabytes on a large cluster."""
    try:
        process = await asyncio.create_subprocess_exec(
            *command, "list", "chain", family, table, chain, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL)
    except OSError:
        return False
    return await process.wait() == 0
