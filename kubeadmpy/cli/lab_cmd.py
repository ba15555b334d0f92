"""`kubeadmpy lab`: many machines on one host (no VMs, no Docker), reached over SSH.

Thin commands: they parse options, call `kubeadmpy.lab`, and print. Progress of `up` is shown
with rich, one line per machine with its elapsed time.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn
from rich.table import Table

from kubeadmpy import lab as labs
from kubeadmpy.errors import KubeadmpyError, UserInputError

app = typer.Typer(
    help=f"A lab of machines on this host: namespaces + sshd, reached over SSH. Machines get "
         f"addresses in {labs.LAB_RANGE} (one /24 per lab; this host has the first address of "
         f"each), and nothing they send leaves the lab.",
    no_args_is_help=True,
)

NameOption = Annotated[str, typer.Option("--name", "-n", help="Name of the lab.")]
StateRootOption = Annotated[
    Path | None,
    typer.Option("--state-root", envvar="KUBEADMPY_LAB_ROOT",
                 help="Directory holding the labs' state (default /var/lib/kubeadmpy-lab)."),
]

STAGE_TEXT = {
    labs.Stage.PLANNED: "[dim]planned",
    labs.Stage.WIRED: "[cyan]network wired",
    labs.Stage.STARTING: "[yellow]starting sshd",
    labs.Stage.READY: "[green]ready",
}


def _require_root() -> None:
    if os.geteuid() != 0:
        raise KubeadmpyError("the lab creates namespaces, links and mounts: run it as root")


@app.command()
def up(
    control_planes: Annotated[int, typer.Option("--control-planes", help="Control-plane machines.")] = 1,
    workers: Annotated[int, typer.Option("--workers", help="Worker machines.")] = 0,
    name: NameOption = labs.DEFAULT_LAB_NAME,
    state_root: StateRootOption = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for sshd.")] = 30.0,
) -> None:
    """Create a lab: every machine gets its own network, files, hostname and sshd."""
    spec = labs.LabSpec(name=name, control_planes=control_planes, workers=workers,
                        state_root=state_root, ready_timeout=timeout).validate()
    _require_root()
    console = Console(stderr=True)
    # Machines come up in well under a second: show elapsed time in hundredths.
    columns = (SpinnerColumn(finished_text="[green]✓"), TextColumn("{task.fields[machine]:<8}"),
               TextColumn("{task.description:<28}"), TextColumn("{task.fields[elapsed]}"))
    started = time.monotonic()
    with Progress(*columns, console=console) as progress:
        tasks: dict[str, TaskID] = {}

        def report(machine: str, stage: labs.Stage) -> None:
            elapsed = f"{time.monotonic() - started:6.2f}s"
            if machine not in tasks:
                tasks[machine] = progress.add_task(STAGE_TEXT[stage], total=1, machine=machine,
                                                   elapsed=elapsed)
            done = 1 if stage is labs.Stage.READY else 0
            progress.update(tasks[machine], description=STAGE_TEXT[stage], completed=done,
                            elapsed=elapsed)

        lab = labs.up(spec, progress=report)
    if not lab.created:
        console.print(f"Lab [bold]{lab.name}[/] is already up with the same machines; "
                      "nothing to do.")
    _print_next_steps(console, lab)


def _print_next_steps(console: Console, lab: labs.Lab) -> None:
    first = lab.machines[0].name
    flag = "" if lab.name == labs.DEFAULT_LAB_NAME else f" --name {lab.name}"
    console.print(
        f"\nLab [bold]{lab.name}[/]: {len(lab.machines)} machines on {lab.manifest.subnet} "
        f"(this host is {lab.manifest.gateway} on bridge {lab.manifest.bridge}).\n"
        "Next steps:\n"
        f"  kubeadmpy lab status{flag}\n"
        f"  kubeadmpy lab ssh {first}{flag}                 # a shell on {first}\n"
        f"  ssh -F {lab.ssh_config_path} {first}\n"
        f"  ansible -i {lab.inventory_path} all -m ping\n"
        f"  kubeadmpy lab down{flag}                     # remove it all again",
        highlight=False, soft_wrap=True,
    )


@app.command()
def down(
    name: NameOption = labs.DEFAULT_LAB_NAME,
    all_labs: Annotated[bool, typer.Option("--all", help="Remove every lab on this host.")] = False,
    state_root: StateRootOption = None,
) -> None:
    """Stop every process of the lab's machines and remove namespaces, links, seal and state."""
    _require_root()
    if all_labs:
        removed = labs.down_all(state_root)
        typer.echo(f"removed labs: {', '.join(removed)}" if removed else "no labs to remove")
        return
    found = labs.down(name, state_root)
    if found.empty:
        typer.echo(f"lab {name!r}: nothing to remove")
    else:
        typer.echo(f"lab {name!r} removed: {len(found.netns)} machines, "
                   f"{len(found.processes)} processes, {len(found.links)} links")


@app.command()
def status(name: NameOption = labs.DEFAULT_LAB_NAME, state_root: StateRootOption = None) -> None:
    """Show the lab's machines, their addresses and whether they answer over SSH."""
    lab = labs.load(name, state_root)
    table = Table(title=f"lab {lab.name} ({lab.manifest.subnet})")
    for column in ("MACHINE", "ROLE", "IP", "SSH", "STATE", "ANCHOR PID"):
        table.add_column(column)
    for each in lab.status():
        state = ("[green]ready" if each.reachable else
                 "[yellow]no sshd answer" if each.running else "[red]stopped")
        table.add_row(each.machine.name, str(each.machine.role), each.machine.ip,
                      str(each.machine.ssh_port), state, str(each.machine.anchor_pid or "-"))
    Console().print(table)


@app.command()
def ssh(
    machine: Annotated[str, typer.Argument(help="Machine to log in to, e.g. cp1.")],
    command: Annotated[list[str] | None, typer.Argument(help="Command to run (after --).")] = None,
    name: NameOption = labs.DEFAULT_LAB_NAME,
    state_root: StateRootOption = None,
) -> None:
    """Open a shell on MACHINE, or run a command there (`kubeadmpy lab ssh cp1 -- uptime`)."""
    lab = labs.load(name, state_root)
    args = lab.ssh_args(machine)
    if shutil.which(args[0]) is None:
        raise UserInputError("ssh", "the OpenSSH client is not installed",
                             "Install openssh-client (scripts/setup.sh does)")
    if sys.stdin.isatty() and not command:
        args.insert(1, "-t")
    sys.stdout.flush()
    os.execvp(args[0], [*args, *(command or [])])


@app.command()
def inventory(
    name: NameOption = labs.DEFAULT_LAB_NAME,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file.")] = None,
    state_root: StateRootOption = None,
) -> None:
    """Print the lab's Ansible inventory (groups kube_control_plane, kube_node, etcd, k8s_cluster)."""
    text = labs.load(name, state_root).inventory()
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
        typer.echo(f"wrote {output}", err=True)
