import pytest

from tests.e2e.registry_http import V2
from tests.e2e.server import Server


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("cloudlet")).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def ecr(server):
    return server.client("ecr")


@pytest.fixture(scope="module")
def v2(server, ecr):
    """The raw /v2/ client, logged in as the admin account."""
    return V2.login(server, ecr)
