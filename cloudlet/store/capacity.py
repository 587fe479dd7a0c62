"""Whether a failure is the data dir running out of space, however it surfaced: an OSError
from a file write, or SQLite's "database or disk is full" wrapped by SQLAlchemy."""

import errno
import sqlite3

_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def no_space(error: BaseException) -> BaseException | None:
    """The error down `error`'s chain that says the disk is full, if one does."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in _NO_SPACE:
            return error
        if isinstance(error, sqlite3.Error) and getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
            return error
        # SQLAlchemy keeps the driver's error as .orig; other wrappers chain it
        error = getattr(error, "orig", None) or error.__cause__ or error.__context__
    return None
