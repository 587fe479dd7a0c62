"""How the group controller launches and terminates: as a client of EC2's own RunInstances
and TerminateInstances, acting for the group's account through Auto Scaling's service-linked
role, so that an instance of a group is checked and made exactly as one a user asks for. The
launch template is pinned to the version it names now (so the instance's record says which
it came from), and the instance gets the aws:autoscaling:groupName tag AWS puts on it.
Lifecycle notifications go to SNS topics through SNS's own publishing (there is no SQS here
to send to)."""

from __future__ import annotations

from cloudlet.control import asg_records as records
from cloudlet.control.autoscaling import LaunchFailed
from cloudlet.edge.errors import AWSError
from cloudlet.services.common import tags
from cloudlet.services.context import acting_for
from cloudlet.services.ec2 import launch_templates
from cloudlet.services.sns import delivery

GROUP_TAG = "aws:autoscaling:groupName"


def _shown(found: dict) -> dict:
    return {k: found[k] for k in ("LaunchTemplateId", "LaunchTemplateName", "Version")}


class Launcher:
    def __init__(self, config, store, providers):
        self.config, self.store = config, store
        self.providers = providers  # service -> its provider (the edge's)

    def _ctx(self, account: str, region: str):
        return acting_for(self.store, self.config, account, region, records.ROLE)

    def template(self, db, spec: dict) -> dict | None:
        """The template and version spec names now, or None if it names none any more."""
        try:
            return _shown(launch_templates.resolve(db, spec))
        except AWSError:
            return None

    def launch(self, account: str, region: str, group: str, request: dict) -> dict:
        """One instance of group: {"InstanceId", "InstanceType", "LaunchTemplate"}; LaunchFailed
        with EC2's reason when EC2 refuses."""
        ctx = self._ctx(account, region)
        try:
            with ctx.read() as db:
                found = launch_templates.resolve(db, request["LaunchTemplate"])
            pinned = {**request, "LaunchTemplate": {"LaunchTemplateId": found["LaunchTemplateId"],
                                                    "Version": found["Version"]}}
            instance = self.providers("ec2").run_instances(ctx, pinned)["Instances"][0]
        except AWSError as error:
            raise LaunchFailed(error.message) from None
        with ctx.write() as db:
            tags.put_reserved(db, instance["InstanceId"], "instance", {GROUP_TAG: group})
        return {"InstanceId": instance["InstanceId"], "InstanceType": instance["InstanceType"],
                "LaunchTemplate": _shown(found)}

    def terminate(self, account: str, region: str, instance_id: str) -> None:
        try:
            self.providers("ec2").terminate_instances(self._ctx(account, region), {"InstanceIds": [instance_id]})
        except AWSError as error:
            if error.code != "InvalidInstanceID.NotFound":  # gone already is what was wanted
                raise LaunchFailed(error.message) from None

    def notify(self, account: str, region: str, target: str, subject: str, message: str) -> None:
        if target.startswith("arn:aws:sns:"):
            delivery.publish(self.store, account, region, target, message, subject)
