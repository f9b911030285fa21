"""A delivery's body as it arrives: hashed while it is read, held in memory only while it is small.

The signature can only be checked once the whole body is in, and until then the body is from an
unknown sender. So the body is read in chunks that feed the HMAC (with the webhook secret) and a
plain SHA-256 (replays are recognised by it); the bytes go to a spool that stays in memory up to
`IN_MEMORY` and moves to a temporary file beyond, so forty unsigned 5 MB bodies do not become
200 MB of RSS. `content()` is read only after the signature verified.
"""
from __future__ import annotations

import hashlib
import hmac
import tempfile
from dataclasses import dataclass, field
from typing import IO, BinaryIO

# Push payloads are a few KB; anything bigger waits on disk until its signature is known.
IN_MEMORY = 256 * 1024
CHUNK = 64 * 1024


class ClientGone(ConnectionError):
    """The client closed the connection before sending the body it announced."""


@dataclass
class ReceivedBody:
    """A body's size and digests, and its bytes (spooled) for after the signature check."""

    size: int
    sha256: str  # hex, identifies the payload whatever delivery id comes with it
    hmac_sha256: str | None  # hex HMAC-SHA256 keyed with the webhook secret; None without a secret
    spool: IO[bytes] = field(repr=False)

    def content(self) -> bytes:
        self.spool.seek(0)
        return self.spool.read()

    def close(self) -> None:
        self.spool.close()

    @classmethod
    def of(cls, data: bytes, *, secret: bytes | None) -> "ReceivedBody":
        """A body already in memory (a test, a caller that has the bytes)."""
        spool = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY)
        spool.write(data)
        return cls(size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                   hmac_sha256=hmac.new(secret, data, hashlib.sha256).hexdigest() if secret is not None else None, spool=spool)


def receive_body(stream: BinaryIO, length: int, *, secret: bytes | None) -> ReceivedBody:
    """Read exactly `length` bytes from `stream` (ClientGone when it ends early), hashing as they come."""
    plain = hashlib.sha256()
    keyed = hmac.new(secret, digestmod=hashlib.sha256) if secret is not None else None
    spool = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY)
    left = length
    try:
        while left > 0:
            chunk = stream.read(min(CHUNK, left))
            if not chunk:
                raise ClientGone(f"the client sent {length - left} of {length} bytes and closed the connection")
            plain.update(chunk)
            if keyed is not None:
                keyed.update(chunk)
            spool.write(chunk)
            left -= len(chunk)
    except BaseException:
        spool.close()
        raise
    return ReceivedBody(size=length, sha256=plain.hexdigest(), hmac_sha256=keyed.hexdigest() if keyed else None, spool=spool)
