"""Byte code compiled at image build time, valid whatever the files' mtimes are.

Image layers carry fixed mtimes, so the interpreter's usual timestamp-checked .pyc files would
look stale inside a container and be recompiled at every start. Unchecked hash-based .pyc files
(PEP 552) are trusted as they are and depend only on the source, which keeps images
reproducible.
"""

from __future__ import annotations

import importlib.util
import marshal

_UNCHECKED_HASH_FLAGS = (0b01).to_bytes(4, "little")  # hash-based, not checked at import


def compiled_pyc(source: bytes, image_path: str) -> bytes:
    """The .pyc of `source` as the interpreter would write it for /`image_path`."""
    code = compile(source, "/" + image_path.lstrip("/"), "exec", dont_inherit=True)
    return (importlib.util.MAGIC_NUMBER + _UNCHECKED_HASH_FLAGS
            + importlib.util.source_hash(source) + marshal.dumps(code))
