"""Masquerading pod traffic that leaves the cluster network (`--ip-masq`), in nftables.

Upstream flanneld writes iptables chains FLANNEL-POSTRTG and FLANNEL-FWD; we write the same
decisions as one nftables table of our own, `table ip kubeadmpy-flannel`, so it never collides
with kube-proxy's or anyone else's rules and `reset` removes it with one command. The table is
replaced in one `nft -f` transaction (declare, delete, re-create), which is atomic and
idempotent. Rules, in upstream's order: traffic kube-proxy marked (0x4000) is left to it; pod
traffic inside the cluster network keeps its source; pod traffic leaving it is masqueraded;
traffic from outside to remote pods is masqueraded so replies come back through this node.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Sequence

from kubeadmpy.network.errors import NetworkError

FAMILY = "ip"
TABLE = "kubeadmpy-flannel"
KUBE_PROXY_MASQ_MARK = 0x4000
MULTICAST = ipaddress.IPv4Network("224.0.0.0/4")


def render(network: ipaddress.IPv4Network, subnet: ipaddress.IPv4Network,
           forward_rules: bool = True) -> str:
    """The table's text, as `nft list table ip kubeadmpy-flannel` shows it back."""
    lines = [
        f"table {FAMILY} {TABLE} {{",
        "\tchain postrouting {",
        "\t\ttype nat hook postrouting priority srcnat; policy accept;",
        f"\t\tmeta mark & {KUBE_PROXY_MASQ_MARK:#010x} == {KUBE_PROXY_MASQ_MARK:#010x} return",
        f"\t\tip saddr {subnet} ip daddr {network} return",
        f"\t\tip saddr {network} ip daddr {subnet} return",
        f"\t\tip saddr != {network} ip daddr {subnet} return",
        f"\t\tip saddr {network} ip daddr != {MULTICAST} masquerade fully-random",
        f"\t\tip saddr != {network} ip daddr {network} masquerade fully-random",
        "\t}",
    ]
    if forward_rules:
        lines += [
            "\tchain forward {",
            "\t\ttype filter hook forward priority filter; policy accept;",
            f"\t\tip saddr {network} accept",
            f"\t\tip daddr {network} accept",
            "\t}",
        ]
    lines.append("}")
    return "\n".join(lines) + "\n"


def replace_script(table_text: str) -> str:
    """Declare (so the delete cannot fail), delete, re-create: one atomic transaction."""
    return f"table {FAMILY} {TABLE}\ndelete table {FAMILY} {TABLE}\n{table_text}"


def delete_script() -> str:
    return f"table {FAMILY} {TABLE}\ndelete table {FAMILY} {TABLE}\n"


async def _nft(command: Sequence[str], args: Sequence[str], stdin: str | None = None
               ) -> tuple[int, str]:
    argv = [*command, *args]
    try:
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE)
    except OSError as exc:
        raise NetworkError(f"--ip-masq needs nftables: cannot run {argv[0]!r} "
                           f"({exc.strerror}); install the nftables package") from exc
    _, err = await process.communicate(stdin.encode() if stdin is not None else None)
    return int(process.returncode or 0), err.decode(errors="replace").strip()


async def apply(table_text: str, command: Sequence[str] = ("nft",)) -> None:
    code, err = await _nft(command, ["-f", "-"], replace_script(table_text))
    if code != 0:
        raise NetworkError(f"nft refused table {FAMILY} {TABLE}: {err or f'exit {code}'}")


async def table_present(command: Sequence[str] = ("nft",)) -> bool:
    """Whether the table is in the kernel; without nft it cannot be (reset on a node that never
    had nftables must not warn), and `apply` reports the missing binary itself."""
    try:
        code, _ = await _nft(command, ["list", "table", FAMILY, TABLE])
    except NetworkError:
        return False
    return code == 0


async def remove(command: Sequence[str] = ("nft",)) -> None:
    """Delete the table (no error when it is not there)."""
    code, err = await _nft(command, ["-f", "-"], delete_script())
    if code != 0:
        raise NetworkError(f"nft could not delete table {FAMILY} {TABLE}: {err}")
