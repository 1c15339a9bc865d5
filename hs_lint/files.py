"""Reading a checked file without trusting what the name points at.

A ``*.py`` name may be a FIFO (opening it waits for a writer forever), a device (``/dev/zero``
never ends) or a socket, and a regular file may be larger than hs-lint analyses. So the name must
``stat`` as a regular file of at most the limit before it is opened (without blocking), the file
opened must ``fstat`` the same, and at most the limit is ever read, even if the file grows.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

MAX_FILE_BYTES = 1_000_000  # libcst needs about a second and 100 MB per 10,000 lines: larger files are not read

_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory"))


class Unreadable(Exception):
    """The file is not read; the message says why, in words for ``<path>: <message>``."""


class TooLarge(Exception):
    """A regular file larger than the limit: not read."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"{size / 1e6:.1f} MB is more than the {limit / 1e6:g} MB hs-lint analyses per file; "
                         "exclude it or split it")
        self.size = size


def kind(mode: int) -> str | None:
    """What a ``st_mode`` that is not a regular file is, in words (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_source(path: Path | str, limit: int | None = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (None: any size); raises Unreadable or TooLarge.

    The name is ``stat``-ed before it is opened (opening some devices has effects of its own), and the
    file opened is checked again (the name may have been replaced in between).
    """
    try:
        _check(os.stat(path), limit)
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise Unreadable(f"cannot read: {exc.strerror or exc}") from None
    try:
        _check(os.fstat(descriptor), limit)
        with os.fdopen(descriptor, "rb", closefd=False) as stream:
            data = stream.read() if limit is None else stream.read(limit + 1)
    except OSError as exc:
        raise Unreadable(f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(descriptor)
    if limit is not None and len(data) > limit:  # it grew between the fstat and the read
        raise TooLarge(len(data), limit)
    return data


def _check(status: os.stat_result, limit: int | None) -> None:
    what = kind(status.st_mode)
    if what is not None:
        raise Unreadable(f"not checked: {what}, not a regular file")
    if limit is not None and status.st_size > limit:
        raise TooLarge(status.st_size, limit)
