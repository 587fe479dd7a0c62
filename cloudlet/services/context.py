"""What a provider method receives besides its request: who asks, where, and the state."""

from dataclasses import dataclass

from cloudlet import ids
from cloudlet.config import Config
from cloudlet.store import Store
from cloudlet.store.accounts import Credential


@dataclass
class Context:
    store: Store
    config: Config
    credential: Credential
    region: str
    request_id: str
    # the Host header the request came with, as the client sent it (None when a service acts
    # on its own): what the client used to reach this server, for names it must reach again
    host: str | None = None

    @property
    def account_id(self) -> str:
        return self.credential.account_id

    def read(self):
        """A read-only transaction scoped to this account and region."""
        return self.store.scoped(self.account_id, self.region, write=False)

    def write(self):
        """A read-write transaction scoped to this account and region."""
        return self.store.scoped(self.account_id, self.region, write=True)

    @property
    def caller_arn(self) -> str:
        """The IAM user ARN of whoever signed the request."""
        return f"arn:aws:iam::{self.account_id}:user/{self.credential.user_name}"

    def arn(self, service: str, resource: str, region: str | None = None) -> str:
        return ids.arn(service, self.region if region is None else region, self.account_id, resource)


def acting_for(store: Store, config: Config, account_id: str, region: str, role: str) -> Context:
    """A context for a service acting on an account's behalf (an alarm stopping an instance,
    a scaling policy changing a service), as AWS's services act through service-linked roles:
    it calls the same operations a user would, so it is held to the same checks."""
    credential = Credential(access_key_id="", secret_access_key="", account_id=account_id, account_name="",
                            user_name=role, user_id="")
    return Context(store, config, credential, region, ids.request_id())
