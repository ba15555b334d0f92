"""SPDY/3 framing: the header dictionary, compressed header blocks across frames, frame
layout."""

from __future__ import annotations

import struct
import zlib

import pytest

from kubeadmpy.kubelet.server.spdy import (
    FLAG_FIN,
    HEADER_DICTIONARY,
    SYN_REPLY,
    HeaderCodec,
    SpdyProtocolError,
    control_frame,
    data_frame,
)


def test_the_header_dictionary_is_spdy3s() -> None:
    assert len(HEADER_DICTIONARY) == 1423
    assert HEADER_DICTIONARY.startswith(b"\x00\x00\x00\x07options\x00\x00\x00\x04head")
    assert HEADER_DICTIONARY.endswith(b"charset=iso-8859-1,utf-,*,enq=0.")
    assert b"\x00\x00\x00\x06200 OK" in HEADER_DICTIONARY


def test_header_blocks_share_one_compression_context_per_direction() -> None:
    sender, receiver = HeaderCodec(), HeaderCodec()
    blocks = [sender.encode({"streamType": "error"}), sender.encode({"streamtype": "stdout"}),
              sender.encode({"streamtype": "data", "port": "80", "requestid": "0"})]
    assert [receiver.decode(block) for block in blocks] == [
        {"streamtype": "error"}, {"streamtype": "stdout"},
        {"streamtype": "data", "port": "80", "requestid": "0"}]
    with pytest.raises(SpdyProtocolError):
        HeaderCodec().decode(blocks[1])  # out of context: the dictionary state is missing


def test_a_block_is_zlib_with_the_dictionary_id() -> None:
    block = HeaderCodec().encode({"a": "b"})
    (dict_id,) = struct.unpack(">I", block[2:6])
    assert block[1] & 0x20  # FDICT
    assert dict_id == zlib.adler32(HEADER_DICTIONARY)


def test_frame_headers() -> None:
    assert control_frame(SYN_REPLY, 0, b"\x00\x00\x00\x01")[:8] == \
        b"\x80\x03\x00\x02\x00\x00\x00\x04"
    assert data_frame(5, b"hi", fin=True) == b"\x00\x00\x00\x05" + bytes([FLAG_FIN]) + \
        b"\x00\x00\x02hi"
