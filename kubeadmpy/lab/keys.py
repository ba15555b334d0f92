"""SSH keys of a lab: one client key pair for the lab and one host key per machine.

Keys are made in-process with `cryptography` (Ed25519, OpenSSH encoding), which takes
microseconds, instead of one ssh-keygen process per key. The machines' public host keys are
pinned in a per-lab known_hosts file, so every client (paramiko, OpenSSH, Ansible) checks them
strictly from the first connection on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kubeadmpy.files import write_file


@dataclass(frozen=True)
class KeyPair:
    private_openssh: bytes
    public_line: str  # "ssh-ed25519 AAAA... comment"

    def write(self, private_path: Path) -> None:
        """Write the private key (0600) and ``<path>.pub`` (0644), as ssh-keygen does."""
        write_file(private_path, self.private_openssh, mode=0o600, dir_mode=0o700)
        write_file(private_path.with_name(private_path.name + ".pub"), self.public_line + "\n")


def new_key_pair(comment: str) -> KeyPair:
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    return KeyPair(private, f"{public} {comment}")


def known_hosts_line(names: list[str], public_line: str) -> str:
    """A known_hosts entry for a host known under several names/addresses (port 22)."""
    key_type, key_data = public_line.split()[:2]
    return f"{','.join(names)} {key_type} {key_data}"
