"""reset's kernel cleanup on a machine without the `ip` and `nft` binaries (an upstream-flavor
node never gets nftables): nothing of flannel or kube-proxy is there, so reset must say nothing
and go on, not crash with a traceback or warn about tables that never existed.

The cleanup runs in a child process in a new, empty network namespace (`unshare --net`), so the
test never touches this machine's links or rules.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CHILD = """
import json
from kubeadmpy.phases import reset_network
said, warned = [], []
removed = reset_network.remove_kernel_state(said.append, warned.append)
print(json.dumps({"removed": removed, "said": said, "warned": warned}))
"""


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                    reason="needs root and unshare for a private network namespace")
def test_reset_without_ip_and_nft_binaries_removes_nothing_and_does_not_crash(
        tmp_path: Path) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    unshare = shutil.which("unshare")
    assert unshare is not None
    env = {**os.environ, "PATH": str(empty_bin)}
    done = subprocess.run([unshare, "--net", sys.executable, "-c", CHILD], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert json.loads(done.stdout) == {"removed": [], "said": [], "warned": []}
