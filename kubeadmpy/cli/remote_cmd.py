"""`kubeadmpy remote`: run commands on machines over SSH, and the shared ``--ssh-*`` options.

Real machines (servers, Vagrant VMs) are reached with the options defined here once, so every
command that needs SSH spells them the same way. Lab machines do not need them: the lab pins
its own keys (``kubeadmpy lab ssh``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from kubeadmpy.errors import KubeadmpyError
from kubeadmpy.remote import HostKeyPolicy, SSHSettings, parse_host, run_on_all

app = typer.Typer(help="Run commands on machines over SSH (servers, VMs, lab machines).",
                  no_args_is_help=True)

SSHUserOption = Annotated[str, typer.Option("--ssh-user", help="User to log in as.")]
SSHPortOption = Annotated[int, typer.Option("--ssh-port", help="TCP port of sshd.")]
SSHKeyOption = Annotated[
    Path | None,
    typer.Option("--ssh-key", help="Private key file (default: ssh-agent and ~/.ssh keys)."),
]
SSHKnownHostsOption = Annotated[
    Path | None,
    typer.Option("--ssh-known-hosts", help="known_hosts file (default ~/.ssh/known_hosts)."),
]
SSHHostKeyPolicyOption = Annotated[
    HostKeyPolicy,
    typer.Option("--ssh-strict-host-key-checking",
                 help="yes: only pinned keys; accept-new: pin unknown keys on first use; "
                      "no: accept any key (throw-away machines only)."),
]
SSHConnectTimeoutOption = Annotated[
    float, typer.Option("--ssh-connect-timeout", help="Seconds to wait for a connection.")]
HostsArgument = Annotated[list[str], typer.Argument(help="Machines as [USER@]ADDRESS[:PORT].")]


def ssh_settings(user: str, port: int, key: Path | None, known_hosts: Path | None,
                 policy: HostKeyPolicy, connect_timeout: float) -> SSHSettings:
    """Settings from the ``--ssh-*`` options, validated (a bad key file is a clear error)."""
    return SSHSettings(user=user, port=port, key_file=key, known_hosts=known_hosts,
                       host_key_policy=policy, connect_timeout=connect_timeout).validate()


@app.command()
def run(
    hosts: HostsArgument,
    command: Annotated[str, typer.Option("--command", "-c", help="Shell command to run.")],
    ssh_user: SSHUserOption = "root",
    ssh_port: SSHPortOption = 22,
    ssh_key: SSHKeyOption = None,
    ssh_known_hosts: SSHKnownHostsOption = None,
    ssh_strict_host_key_checking: SSHHostKeyPolicyOption = HostKeyPolicy.STRICT,
    ssh_connect_timeout: SSHConnectTimeoutOption = 10.0,
) -> None:
    """Run a command on every HOST at once, printing output as ``[HOST] line``.

    Exits with the highest exit code of any host.
    """
    defaults = ssh_settings(ssh_user, ssh_port, ssh_key, ssh_known_hosts,
                            ssh_strict_host_key_checking, ssh_connect_timeout)
    targets = [parse_host(spec, defaults) for spec in hosts]
    try:
        results = run_on_all(targets, command, stream=True)
    finally:
        for host in targets:
            host.close()
    worst = 0
    for name, result in results.items():
        if result.exit_code:
            typer.echo(f"[{name}] exit code {result.exit_code}", err=True)
            worst = max(worst, result.exit_code)
    raise typer.Exit(worst)


@app.command()
def check(
    hosts: HostsArgument,
    ssh_user: SSHUserOption = "root",
    ssh_port: SSHPortOption = 22,
    ssh_key: SSHKeyOption = None,
    ssh_known_hosts: SSHKnownHostsOption = None,
    ssh_strict_host_key_checking: SSHHostKeyPolicyOption = HostKeyPolicy.STRICT,
    ssh_connect_timeout: SSHConnectTimeoutOption = 10.0,
) -> None:
    """Check that every HOST can be logged in to; exit 1 if any cannot, saying why."""
    defaults = ssh_settings(ssh_user, ssh_port, ssh_key, ssh_known_hosts,
                            ssh_strict_host_key_checking, ssh_connect_timeout)
    table = Table()
    for column in ("HOST", "STATUS", "DETAIL"):
        table.add_column(column)
    failed = False
    for spec in hosts:
        host = parse_host(spec, defaults)
        try:
            with host:
                name = host.run("hostname", check=True).stdout.strip()
            table.add_row(spec, "[green]ok", f"hostname {name}")
        except KubeadmpyError as exc:  # reported per host; the other hosts are still checked
            failed = True
            table.add_row(spec, "[red]failed", str(exc))
    Console().print(table)
    raise typer.Exit(1 if failed else 0)
