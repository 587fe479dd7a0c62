"""A full disk under the registry, told to its clients as an error of the registry's rather
than as a dropped connection, once what the failed write took is given back."""

import contextlib
import errno
import logging
import sqlite3

from sqlalchemy.exc import DBAPIError

from . import errors

log = logging.getLogger(__name__)


@contextlib.contextmanager
def unless_full(code: str, what: str, cleanup=None):
    """Raise storage_full(code, what) for a full disk, after cleanup() gave back what the
    failed write took."""
    try:
        yield
    except (OSError, DBAPIError) as e:
        if not is_full(e):
            raise
        if cleanup:
            try:
                cleanup()
            except Exception:  # the client hears of the full disk all the same
                log.exception("cleaning up after a full disk")
        raise errors.storage_full(code, what) from None


def is_full(e: Exception) -> bool:
    """ENOSPC or EDQUOT from the content store, SQLITE_FULL from the state."""
    if isinstance(e, OSError):
        return e.errno in (errno.ENOSPC, errno.EDQUOT)
    return getattr(e.orig, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
