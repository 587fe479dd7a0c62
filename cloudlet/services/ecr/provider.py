"""The ECR provider: the registry's settings, repositories, images and layers over the
registry core (which the /v2/ distribution API shares), one method per operation."""

from cloudlet.registry import open_registry
from cloudlet.registry.registry import Scope
from cloudlet.registry.scanning.scanner import Scanner
from cloudlet.registry.tokens import Tokens
from cloudlet.services.common.tags import ArnTagging

from .images import Images
from .layers import Layers
from .lifecycle import Lifecycle, LifecycleJob
from .registry import RegistrySettings
from .replication import Replication
from .repositories import Repositories
from .scans import Scans


class ECR(Repositories, Images, Layers, Scans, Lifecycle, RegistrySettings, Replication, ArnTagging):
    def __init__(self, config, store):
        self.config = config
        self.registry = open_registry(store, config.data_dir)
        self.tokens = Tokens(store)
        self.scanner = Scanner(self.registry)
        self.registry.pushed = self.image_pushed
        self.lifecycle_job = LifecycleJob(self.registry, config.lifecycle_interval)

    def image_pushed(self, scope: Scope, repo: str, digest: str, new: bool, image: bool) -> None:
        if new and image:  # an index is not scanned; its images were, as they came
            self.scan_pushed(scope, repo, digest)
        self.replicate_pushed(scope, repo, digest)

    @staticmethod
    def scope(ctx) -> Scope:
        return Scope(ctx.account_id, ctx.region)
