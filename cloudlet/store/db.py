"""The store: one SQLite file in WAL mode under the data dir."""

import os
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event

from cloudlet.store.migrations import migrate
from cloudlet.store.sealing import Sealer
from cloudlet.store.scoped import Scoped


class Store:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _owner_only(self.path)
        self.sealer = Sealer(self.path.parent)
        self.engine = create_engine(f"sqlite:///{self.path}")
        event.listen(self.engine, "connect", _pragmas)
        event.listen(self.engine, "begin", _begin)
        with self.begin() as conn:
            migrate(conn)
            self.sealer.seal_plaintext(conn)

    @contextmanager
    def begin(self, write: bool = True):
        """A transaction on the whole store (accounts, credentials, migrations).

        write=False runs a plain deferred transaction, so readers proceed beside a writer (WAL)."""
        with self.engine.connect() as conn:
            conn.execution_options(cloudlet_write=write)
            with conn.begin():
                yield conn

    @contextmanager
    def scoped(self, account_id: str, region: str, write: bool = True):
        """A transaction that can only see and write one account's rows in one region."""
        with self.begin(write) as conn:
            yield Scoped(conn, account_id, region)

    def close(self):
        self.engine.dispose()


def _owner_only(path: Path) -> None:
    """The database and its WAL files readable by their owner alone: SQLite gives its -wal
    and -shm files the mode of the database file, so that file is made 0600 first."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists():
            file.chmod(0o600)


def _begin(conn):
    # pysqlite opens transactions lazily and lets reads escape them; a writer takes the
    # write lock at BEGIN so read-modify-write sequences cannot interleave.
    write = conn.get_execution_options().get("cloudlet_write", True)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _pragmas(dbapi_conn, _record):
    # Autocommit at the driver level so SQLAlchemy's "begin" event issues the real BEGIN.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()
