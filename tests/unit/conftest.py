import pytest

from cloudlet.store import Store


@pytest.fixture
def db(tmp_path):
    """A scoped handle on a new store, for an account in us-east-1."""
    store = Store(tmp_path / "s.db")
    with store.scoped("123456789012", "us-east-1") as handle:
        yield handle
    store.close()
