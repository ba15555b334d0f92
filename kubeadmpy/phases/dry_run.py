"""`--dry-run` as a redirected write directory: where the run writes, and how its files are shown.

A dry run writes into a scratch root instead of `/`; afterwards every file found there is shown
under the logical path a real run would write. Key material is never printed.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

DRY_RUN_DIR_ENV = "KUBEADMPY_INIT_DRYRUN_DIR"
SECRET_MARKERS = ("PRIVATE KEY", "client-key-data", "BEGIN CERTIFICATE", "token:",
                  "kind: EncryptionConfiguration")


def dry_run_root(environ: Mapping[str, str], command: str = "init") -> Path:
    """`$KUBEADMPY_<COMMAND>_DRYRUN_DIR` (created if missing), else a fresh temporary directory."""
    wanted = environ.get(DRY_RUN_DIR_ENV.replace("INIT", command.upper()))
    if wanted:
        Path(wanted).mkdir(parents=True, exist_ok=True)
        return Path(wanted)
    return Path(tempfile.mkdtemp(prefix=f"kubeadmpy-{command}-dryrun-"))


def describe_written_files(root: Path) -> list[str]:
    """One block per file under `root`: its logical path, mode and (unless secret) content."""
    lines = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        logical = "/" + str(path.relative_to(root))
        data = path.read_bytes()
        mode = path.stat().st_mode & 0o777
        text = data.decode(errors="replace")
        if any(marker in text for marker in SECRET_MARKERS):
            lines.append(
                f'[dryrun] Would write file "{logical}" (mode {mode:04o}, '
                f"{len(data)} bytes; key material not shown)"
            )
        else:
            lines.append(f'[dryrun] Would write file "{logical}" (mode {mode:04o}) with content:')
            lines.extend(f"\t{line}" for line in text.splitlines())
    lines.append(f'[dryrun] Finished dry-running. The files are in "{root}"')
    return lines
