"""The ECR provider: repositories, images and layers over the registry core (which the
/v2/ distribution API shares), one method per operation."""

from cloudlet.registry import open_registry
from cloudlet.registry.registry import Scope
from cloudlet.registry.tokens import Tokens
from cloudlet.services.common.tags import ArnTagging

from .images import Images
from .layers import Layers
from .repositories import Repositories


class ECR(Repositories, Images, Layers, ArnTagging):
    def __init__(self, config, store):
        self.config = config
        self.registry = open_registry(store, config.data_dir)
        self.tokens = Tokens(store)

    @staticmethod
    def scope(ctx) -> Scope:
        return Scope(ctx.account_id, ctx.region)
