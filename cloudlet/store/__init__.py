"""State: SQLAlchemy Core on SQLite (WAL), with migrations and account/region scoping."""

from cloudlet.store.db import Store
from cloudlet.store.scoped import Scoped

__all__ = ["Store", "Scoped"]
