import pytest
from sqlalchemy import inspect

from cloudlet.store import Store
from cloudlet.store import schema
from cloudlet.store.accounts import create_account, find_key, list_credentials
from cloudlet.store.migrations import STEPS


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "state.db")
    yield s
    s.close()


def test_migrations_build_the_tables_queries_use(store):
    inspector = inspect(store.engine)
    for table in schema.metadata.sorted_tables:
        actual = {c["name"]: c for c in inspector.get_columns(table.name)}
        assert set(actual) == {c.name for c in table.columns}, table.name
        pk = set(inspector.get_pk_constraint(table.name)["constrained_columns"])
        assert pk == {c.name for c in table.primary_key.columns}, table.name


def test_migrations_are_recorded_and_not_reapplied(tmp_path):
    Store(tmp_path / "s.db").close()
    again = Store(tmp_path / "s.db")  # would fail on CREATE TABLE if steps ran twice
    with again.begin(write=False) as conn:
        versions = [r[0] for r in conn.exec_driver_sql("SELECT version FROM schema_version")]
    assert versions == list(range(1, len(STEPS) + 1))


def test_wal_mode(store):
    with store.begin(write=False) as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_scoped_queries_see_only_their_account_and_region(store):
    for account, region in (("111", "us-east-1"), ("111", "eu-west-1"), ("222", "us-east-1")):
        with store.scoped(account, region) as db:
            db.insert(schema.tags, resource_id="r-1", key="owner", resource_type="t", value=f"{account}/{region}")
    with store.scoped("111", "us-east-1", write=False) as db:
        rows = db.select(schema.tags)
        assert [r["value"] for r in rows] == ["111/us-east-1"]
        assert db.count(schema.tags) == 1
    with store.scoped("222", "us-east-1") as db:
        assert db.delete(schema.tags) == 1
    with store.scoped("111", "eu-west-1", write=False) as db:
        assert db.count(schema.tags) == 1


def test_scoped_refuses_unscoped_tables(store):
    with store.scoped("111", "us-east-1") as db, pytest.raises(ValueError):
        db.select(schema.accounts)


def test_a_failed_transaction_leaves_nothing(store):
    with pytest.raises(RuntimeError):
        with store.scoped("111", "us-east-1") as db:
            db.insert(schema.tags, resource_id="r-1", key="k", resource_type="t", value="v")
            raise RuntimeError("boom")
    with store.scoped("111", "us-east-1", write=False) as db:
        assert db.count(schema.tags) == 0


def test_accounts_and_keys(store):
    cred = create_account(store, "dev")
    assert len(cred.account_id) == 12 and cred.account_id.isdigit()
    assert cred.access_key_id.startswith("AKIA") and len(cred.access_key_id) == 20
    assert find_key(store, cred.access_key_id) == cred
    assert find_key(store, "AKIANOTAKEY000000000") is None
    with pytest.raises(ValueError):
        create_account(store, "dev")
    other = create_account(store, "qa")
    assert other.account_id != cred.account_id
    assert [c.account_name for c in list_credentials(store)] == ["dev", "qa"]
