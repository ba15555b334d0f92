"""The two machines of the join e2e lab (a separate module so tests can import the type)."""

from __future__ import annotations

from dataclasses import dataclass

from init_e2e import Node


@dataclass
class TwoNodeLab:
    cp: Node
    worker: Node
