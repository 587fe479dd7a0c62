"""Accounts and their access keys: the only rows that live outside any region."""

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import insert, select

from cloudlet import ids
from cloudlet.store.schema import access_keys, accounts
from cloudlet.store.sealing import access_key_purpose


@dataclass(frozen=True)
class Credential:
    access_key_id: str
    secret_access_key: str
    account_id: str
    account_name: str
    user_name: str
    user_id: str


def create_account(store, name: str, user_name: str = "admin") -> Credential:
    now = datetime.now(timezone.utc).isoformat()
    with store.begin() as conn:
        if conn.execute(select(accounts.c.account_id).where(accounts.c.name == name)).first():
            raise ValueError(f"an account named {name!r} already exists")
        account = ids.account_id()
        while conn.execute(select(accounts.c.account_id).where(accounts.c.account_id == account)).first():
            account = ids.account_id()
        conn.execute(insert(accounts).values(account_id=account, name=name, created_at=now))
        cred = Credential(ids.access_key_id(), ids.secret_access_key(), account, name, user_name, ids.user_id())
        conn.execute(insert(access_keys).values(
            access_key_id=cred.access_key_id,
            secret_access_key=store.sealer.seal(cred.secret_access_key, access_key_purpose(cred.access_key_id)),
            account_id=account, user_name=user_name, user_id=cred.user_id, status="Active", created_at=now,
        ))
    return cred


def _joined():
    return select(access_keys, accounts.c.name).join(accounts, accounts.c.account_id == access_keys.c.account_id)


def _credential(store, row) -> Credential:
    secret = store.sealer.open(row.secret_access_key, access_key_purpose(row.access_key_id))
    return Credential(row.access_key_id, secret, row.account_id, row.name, row.user_name, row.user_id)


def find_key(store, access_key_id: str) -> Credential | None:
    with store.begin(write=False) as conn:
        row = conn.execute(_joined().where(
            access_keys.c.access_key_id == access_key_id, access_keys.c.status == "Active"
        )).first()
    return _credential(store, row) if row else None


def list_credentials(store) -> list[Credential]:
    with store.begin(write=False) as conn:
        return [_credential(store, r) for r in conn.execute(_joined().order_by(access_keys.c.created_at))]
