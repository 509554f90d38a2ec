"""The blocklist of common and breached passwords that ships inside the package (see ``data/README.md``)."""

from __future__ import annotations

import functools
import gzip
from importlib import resources

from kairos.identity.domain.passwords import folded

COMMON_PASSWORDS_FILE = "common-passwords.txt.gz"


@functools.cache
def common_passwords() -> frozenset[str]:
    """Every listed password, normalised and case-folded as the policy compares them.

    Reads and decompresses the file on the first call (a few milliseconds), then answers from memory;
    call it once while the service starts (``await asyncio.to_thread(common_passwords)``) rather than
    on a request path.
    """
    compressed = resources.files("kairos.identity").joinpath("data", COMMON_PASSWORDS_FILE).read_bytes()
    lines = gzip.decompress(compressed).decode("utf-8").splitlines()
    return frozenset(folded(line) for line in lines if line.strip())
