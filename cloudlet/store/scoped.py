"""Account/region scoping that queries cannot forget.

Services get a Scoped handle, never a raw connection: every select, update and delete it
builds is filtered on the handle's account and region, and every insert is stamped with them.
"""

from sqlalchemy import and_, delete, func, insert, select, update


class Scoped:
    def __init__(self, conn, account_id: str, region: str):
        self.conn = conn
        self.account_id = account_id
        self.region = region

    def _where(self, table):
        if "account_id" not in table.c or "region" not in table.c:
            raise ValueError(f"table {table.name} is not account/region scoped")
        return and_(table.c.account_id == self.account_id, table.c.region == self.region)

    def select(self, table, *where, order_by=None, limit=None):
        stmt = select(table).where(self._where(table), *where)
        if order_by is not None:
            stmt = stmt.order_by(*order_by) if isinstance(order_by, (list, tuple)) else stmt.order_by(order_by)
        if limit is not None:
            stmt = stmt.limit(limit)
        return [dict(row._mapping) for row in self.conn.execute(stmt)]

    def column(self, column, *where) -> list:
        """One column of the rows where: what a hot path reads (a row's mapping costs more than
        a small body's parse)."""
        return list(self.conn.execute(select(column).where(self._where(column.table), *where)).scalars())

    def one(self, table, *where):
        rows = self.select(table, *where, limit=1)
        return rows[0] if rows else None

    def count(self, table, *where) -> int:
        stmt = select(func.count()).select_from(table).where(self._where(table), *where)
        return self.conn.execute(stmt).scalar_one()

    def insert(self, table, **values):
        self._where(table)
        values.update(account_id=self.account_id, region=self.region)
        self.conn.execute(insert(table).values(**values))

    def update(self, table, *where, **values) -> int:
        stmt = update(table).where(self._where(table), *where).values(**values)
        return self.conn.execute(stmt).rowcount

    def delete(self, table, *where) -> int:
        return self.conn.execute(delete(table).where(self._where(table), *where)).rowcount
