import pytest

from tests.e2e.server import Server


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("cloudlet")).start()
    yield srv
    srv.stop()
