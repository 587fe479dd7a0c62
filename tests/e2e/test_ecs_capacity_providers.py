"""ECS capacity providers through boto3: Auto Scaling group providers made, described, updated
and deleted with ECS's defaults and messages, the built-in FARGATE and FARGATE_SPOT, clusters
taking them (PutClusterCapacityProviders, CreateCluster), a provider in use by a cluster not
deleted, hostile names and group ARNs (another account's among them), and a second account
that sees none of the first's providers. The groups stay at 0 instances: no VM is started."""

import uuid

import pytest

from tests.e2e.asg_helpers import asg, ec2, refusal, template  # noqa: F401 (fixtures)

BAD_NAME = ('The specified capacity provider name is invalid. Up to 255 characters are allowed, including letters '
            '(upper and lowercase), numbers, underscores, and hyphens. The name cannot be prefixed with "aws", '
            '"ecs", or "fargate". Specify a valid name and try again.')
BAD_GROUP = "The specified Auto Scaling group ARN is invalid. Specify a valid Auto Scaling group ARN and try again."
NOT_FOUND = "The specified capacity provider does not exist. Specify a valid name or ARN and try again."


@pytest.fixture(scope="module")
def ecs(server):
    return server.client("ecs")


def new_group(asg, ec2, template, **extra) -> dict:
    """A new group of 0 instances in the default VPC's subnets; its description."""
    name = f"cp-{uuid.uuid4().hex[:10]}"
    subnets = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
    asg.create_auto_scaling_group(AutoScalingGroupName=name, MinSize=0, MaxSize=2, DesiredCapacity=0,
                                  LaunchTemplate={"LaunchTemplateName": template["LaunchTemplateName"]},
                                  VPCZoneIdentifier=subnets[0]["SubnetId"], **extra)
    return asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]


def other_account(server) -> tuple:
    """A new account's (ecs, autoscaling, ec2 clients, launch template): new_group's arguments after ecs."""
    key, secret = server.new_account(f"cp-{uuid.uuid4().hex[:6]}")
    ecs, asg, ec2 = (server.client(s, key=key, secret=secret) for s in ("ecs", "autoscaling", "ec2"))
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    template = ec2.create_launch_template(LaunchTemplateName=unique("lt"), LaunchTemplateData={
        "ImageId": ami, "InstanceType": "t3.nano"})["LaunchTemplate"]
    return ecs, asg, ec2, template


def unique(prefix: str = "cp") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_a_provider_with_ecss_defaults(ecs, asg, ec2, template):
    group = new_group(asg, ec2, template)
    name = unique()
    made = ecs.create_capacity_provider(name=name, autoScalingGroupProvider={
        "autoScalingGroupArn": group["AutoScalingGroupARN"]}, tags=[{"key": "team", "value": "blue"}])
    provider = made["capacityProvider"]
    account = provider["capacityProviderArn"].split(":")[4]
    assert provider["capacityProviderArn"] == f"arn:aws:ecs:us-east-1:{account}:capacity-provider/{name}"
    assert (provider["name"], provider["status"], provider["type"], provider["updateStatus"]) == (
        name, "ACTIVE", "EC2_AUTOSCALING", "CREATE_COMPLETE")
    assert provider["autoScalingGroupProvider"] == {
        "autoScalingGroupArn": group["AutoScalingGroupARN"],
        "managedScaling": {"status": "DISABLED", "targetCapacity": 100, "minimumScalingStepSize": 1,
                           "maximumScalingStepSize": 10000, "instanceWarmupPeriod": 300},
        "managedTerminationProtection": "DISABLED", "managedDraining": "ENABLED"}
    assert provider["tags"] == [{"key": "team", "value": "blue"}]
    described = ecs.describe_capacity_providers(capacityProviders=[name, provider["capacityProviderArn"]],
                                                include=["TAGS"])
    assert [p["name"] for p in described["capacityProviders"]] == [name, name] and not described["failures"]
    assert described["capacityProviders"][0]["tags"] == [{"key": "team", "value": "blue"}]
    assert "tags" not in ecs.describe_capacity_providers(capacityProviders=[name])["capacityProviders"][0]
    ecs.tag_resource(resourceArn=provider["capacityProviderArn"], tags=[{"key": "env", "value": "test"}])
    assert ecs.list_tags_for_resource(resourceArn=provider["capacityProviderArn"])["tags"] == [
        {"key": "env", "value": "test"}, {"key": "team", "value": "blue"}]
    # a group's name is taken for its ARN, as ECS takes either
    other = new_group(asg, ec2, template)
    by_name = ecs.create_capacity_provider(name=unique(), autoScalingGroupProvider={
        "autoScalingGroupArn": other["AutoScalingGroupName"]})["capacityProvider"]
    assert by_name["autoScalingGroupProvider"]["autoScalingGroupArn"] == other["AutoScalingGroupARN"]


def test_fargate_providers_are_built_in(ecs, asg, ec2, template):
    ecs.create_capacity_provider(name=unique(), autoScalingGroupProvider={
        "autoScalingGroupArn": new_group(asg, ec2, template)["AutoScalingGroupARN"]})
    everything, token = [], None
    while True:
        page = ecs.describe_capacity_providers(maxResults=2, **({"nextToken": token} if token else {}))
        assert len(page["capacityProviders"]) <= 2
        everything += page["capacityProviders"]
        token = page.get("nextToken")
        if not token:
            break
    assert [p["name"] for p in everything[:2]] == ["FARGATE", "FARGATE_SPOT"]
    assert everything[0]["status"] == "ACTIVE" and everything[0]["type"] == "FARGATE"
    assert all(p["type"] == "EC2_AUTOSCALING" for p in everything[2:]) and len(everything) >= 3
    assert len(ecs.describe_capacity_providers()["capacityProviders"]) == min(len(everything), 10)
    assert refusal(ecs.delete_capacity_provider, capacityProvider="FARGATE")[0] == "ClientException"
    missing = ecs.describe_capacity_providers(capacityProviders=["FARGATE_SPOT", "nope"])
    assert [p["name"] for p in missing["capacityProviders"]] == ["FARGATE_SPOT"]
    assert missing["failures"] == [{"arn": everything[2]["capacityProviderArn"].rsplit("/", 1)[0] + "/nope",
                                    "reason": "MISSING"}]
    for bad in (0, 11):
        assert refusal(ecs.describe_capacity_providers, maxResults=bad)[0] == "InvalidParameterException"
    assert refusal(ecs.describe_capacity_providers, nextToken="garbage")[0] == "InvalidParameterException"


@pytest.mark.parametrize("name", ["aws-mine", "ECS_mine", "Fargate2", "fargate", "has space", "dots.no",
                                  "slash/no", "x" * 256, "é", ""])
def test_bad_names_are_refused(ecs, asg, ec2, template, name):
    arn = new_group(asg, ec2, template)["AutoScalingGroupARN"]
    code, message = refusal(ecs.create_capacity_provider, name=name, autoScalingGroupProvider={
        "autoScalingGroupArn": arn})
    assert (code, message) == ("ClientException", BAD_NAME)
    # nothing half-made: the group is still free for a provider of a good name
    ecs.create_capacity_provider(name=unique(), autoScalingGroupProvider={"autoScalingGroupArn": arn})


def test_a_name_of_255_is_taken(ecs, asg, ec2, template):
    name = "n" + uuid.uuid4().hex + "x" * (255 - 33)
    made = ecs.create_capacity_provider(name=name, autoScalingGroupProvider={
        "autoScalingGroupArn": new_group(asg, ec2, template)["AutoScalingGroupARN"]})
    assert made["capacityProvider"]["name"] == name


def test_group_arns_that_name_no_group_of_ours(server, ecs, asg, ec2, template):
    group = new_group(asg, ec2, template)
    arn = group["AutoScalingGroupARN"]
    head, _, tail = arn.partition(":autoScalingGroup:")
    account = arn.split(":")[4]
    other_uuid = f"{head}:autoScalingGroup:{uuid.uuid4()}:autoScalingGroupName/{group['AutoScalingGroupName']}"
    other_region = arn.replace(":us-east-1:", ":eu-west-1:")
    for bad in (other_uuid, other_region, arn.replace(account, "000000000000"), "arn:aws:autoscaling:nonsense",
                "no-such-group", arn + "x", "arn:aws:ecs:us-east-1:" + account + ":cluster/x"):
        assert refusal(ecs.create_capacity_provider, name=unique(), autoScalingGroupProvider={
            "autoScalingGroupArn": bad}) == ("ClientException", BAD_GROUP), bad
    # another account's real group, named by its real ARN, and by its name where ours has one alike
    theirs = new_group(*other_account(server)[1:])
    assert refusal(ecs.create_capacity_provider, name=unique(), autoScalingGroupProvider={
        "autoScalingGroupArn": theirs["AutoScalingGroupARN"]}) == ("ClientException", BAD_GROUP)
    assert refusal(ecs.create_capacity_provider, name=unique(), autoScalingGroupProvider={
        "autoScalingGroupArn": theirs["AutoScalingGroupName"]}) == ("ClientException", BAD_GROUP)


def test_a_group_serves_one_provider_and_a_name_one_provider(ecs, asg, ec2, template):
    arn = new_group(asg, ec2, template)["AutoScalingGroupARN"]
    name = unique()
    ecs.create_capacity_provider(name=name, autoScalingGroupProvider={"autoScalingGroupArn": arn})
    assert refusal(ecs.create_capacity_provider, name=unique(), autoScalingGroupProvider={
        "autoScalingGroupArn": arn}) == ("ClientException", "The specified Auto Scaling group ARN is already being "
                                         "used by another capacity provider. Specify a unique Auto Scaling group "
                                         "ARN and try again.")
    assert refusal(ecs.create_capacity_provider, name=name, autoScalingGroupProvider={
        "autoScalingGroupArn": new_group(asg, ec2, template)["AutoScalingGroupARN"]}) == (
        "ClientException", "The specified capacity provider already exists. To change the configuration of an "
                           "existing capacity provider, update the capacity provider.")


def test_managed_scaling_ranges_and_updates(server, ecs, asg, ec2, template):
    raw = server.client("ecs", validate=False)  # the server, not botocore, must refuse what is out of range
    arn = new_group(asg, ec2, template)["AutoScalingGroupARN"]
    name = unique()
    for scaling in ({"targetCapacity": 0}, {"targetCapacity": 101}, {"minimumScalingStepSize": 0},
                    {"maximumScalingStepSize": 10001}, {"instanceWarmupPeriod": -1},
                    {"instanceWarmupPeriod": 10001}, {"minimumScalingStepSize": 5, "maximumScalingStepSize": 4}):
        code, _ = refusal(raw.create_capacity_provider, name=name, autoScalingGroupProvider={
            "autoScalingGroupArn": arn, "managedScaling": scaling})
        assert code == "InvalidParameterException", scaling
    assert ecs.describe_capacity_providers(capacityProviders=[name])["failures"][0]["reason"] == "MISSING"
    made = ecs.create_capacity_provider(name=name, autoScalingGroupProvider={
        "autoScalingGroupArn": arn, "managedScaling": {"status": "ENABLED", "targetCapacity": 90}})
    assert made["capacityProvider"]["autoScalingGroupProvider"]["managedScaling"] == {
        "status": "ENABLED", "targetCapacity": 90, "minimumScalingStepSize": 1, "maximumScalingStepSize": 10000,
        "instanceWarmupPeriod": 300}
    updated = ecs.update_capacity_provider(name=name, autoScalingGroupProvider={
        "managedScaling": {"maximumScalingStepSize": 5}, "managedDraining": "DISABLED"})["capacityProvider"]
    assert updated["updateStatus"] == "UPDATE_COMPLETE"
    assert updated["autoScalingGroupProvider"]["managedScaling"] == {
        "status": "ENABLED", "targetCapacity": 90, "minimumScalingStepSize": 1, "maximumScalingStepSize": 5,
        "instanceWarmupPeriod": 300}
    assert updated["autoScalingGroupProvider"]["managedDraining"] == "DISABLED"
    assert refusal(ecs.update_capacity_provider, name=name, autoScalingGroupProvider={
        "managedScaling": {"minimumScalingStepSize": 6}})[0] == "InvalidParameterException"
    shown = ecs.describe_capacity_providers(capacityProviders=[name])["capacityProviders"][0]
    assert shown["autoScalingGroupProvider"]["managedScaling"]["minimumScalingStepSize"] == 1  # unchanged
    assert refusal(ecs.update_capacity_provider, name=unique(), autoScalingGroupProvider={
        "managedDraining": "ENABLED"}) == ("ClientException", NOT_FOUND)


def test_managed_termination_protection_needs_scaling_and_a_protected_group(ecs, asg, ec2, template):
    plain = new_group(asg, ec2, template)["AutoScalingGroupARN"]
    protected = new_group(asg, ec2, template, NewInstancesProtectedFromScaleIn=True)["AutoScalingGroupARN"]
    enabled = {"status": "ENABLED"}
    code, message = refusal(ecs.create_capacity_provider, name=unique(), autoScalingGroupProvider={
        "autoScalingGroupArn": plain, "managedScaling": enabled, "managedTerminationProtection": "ENABLED"})
    assert code == "ClientException" and "instance protection from scale in enabled" in message
    code, message = refusal(ecs.create_capacity_provider, name=unique(), autoScalingGroupProvider={
        "autoScalingGroupArn": protected, "managedTerminationProtection": "ENABLED"})
    assert code == "ClientException" and "managed scaling must also be enabled" in message
    made = ecs.create_capacity_provider(name=unique(), autoScalingGroupProvider={
        "autoScalingGroupArn": protected, "managedScaling": enabled, "managedTerminationProtection": "ENABLED"})
    assert made["capacityProvider"]["autoScalingGroupProvider"]["managedTerminationProtection"] == "ENABLED"


def test_clusters_take_providers_and_keep_them_from_deletion(ecs, asg, ec2, template):
    name = unique()
    provider = ecs.create_capacity_provider(name=name, autoScalingGroupProvider={
        "autoScalingGroupArn": new_group(asg, ec2, template)["AutoScalingGroupARN"]})["capacityProvider"]
    cluster = unique("cluster")
    ecs.create_cluster(clusterName=cluster)
    strategy = [{"capacityProvider": name, "weight": 1, "base": 1}]
    shown = ecs.put_cluster_capacity_providers(cluster=cluster, capacityProviders=["FARGATE", name],
                                               defaultCapacityProviderStrategy=strategy)["cluster"]
    assert shown["capacityProviders"] == ["FARGATE", name]
    assert shown["defaultCapacityProviderStrategy"] == strategy
    kept = ecs.delete_capacity_provider(capacityProvider=provider["capacityProviderArn"])["capacityProvider"]
    assert (kept["status"], kept["updateStatus"]) == ("ACTIVE", "DELETE_FAILED")
    assert kept["updateStatusReason"] == (f"The capacity provider cannot be deleted because it is associated with "
                                          f"cluster: {cluster}. Remove the capacity provider from the cluster and "
                                          "try again.")
    assert ecs.describe_capacity_providers(capacityProviders=[name])["capacityProviders"][0]["status"] == "ACTIVE"
    ecs.put_cluster_capacity_providers(cluster=cluster, capacityProviders=[], defaultCapacityProviderStrategy=[])
    gone = ecs.delete_capacity_provider(capacityProvider=name)["capacityProvider"]
    assert (gone["status"], gone["updateStatus"]) == ("INACTIVE", "DELETE_COMPLETE")
    assert "updateStatusReason" not in gone
    assert name not in [p["name"] for p in ecs.describe_capacity_providers(maxResults=10)["capacityProviders"]]
    assert ecs.describe_capacity_providers(capacityProviders=[name])["capacityProviders"][0]["status"] == "INACTIVE"
    assert refusal(ecs.delete_capacity_provider, capacityProvider=name) == ("ClientException", NOT_FOUND)
    assert refusal(ecs.put_cluster_capacity_providers, cluster=cluster, capacityProviders=[name],
                   defaultCapacityProviderStrategy=[]) == (
        "InvalidParameterException", f"The specified capacity provider '{name}' is not in an ACTIVE state. "
                                     "Specify a valid capacity provider and try again.")
    assert refusal(ecs.tag_resource, resourceArn=provider["capacityProviderArn"], tags=[
        {"key": "k", "value": "v"}])[0] == "InvalidParameterException"
    # the name is free again, with none of the deleted one's tags
    again = ecs.create_capacity_provider(name=name, autoScalingGroupProvider={
        "autoScalingGroupArn": provider["autoScalingGroupProvider"]["autoScalingGroupArn"]})["capacityProvider"]
    assert again["status"] == "ACTIVE" and again.get("tags", []) == []


def test_clusters_refuse_what_is_no_provider(ecs):
    cluster = unique("cluster")
    not_found = ("InvalidParameterException", "The specified capacity provider was not found. Specify a valid "
                                              "capacity provider and try again.")
    for bad in ("nope", "x" * 300, "../etc", ""):
        assert refusal(ecs.create_cluster, clusterName=cluster, capacityProviders=[bad]) == not_found
    assert ecs.describe_clusters(clusters=[cluster])["failures"][0]["reason"] == "MISSING"  # nothing half-made
    ecs.create_cluster(clusterName=cluster, capacityProviders=["FARGATE_SPOT"])
    code, message = refusal(ecs.put_cluster_capacity_providers, cluster=cluster, capacityProviders=["FARGATE"],
                            defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}])
    assert code == "InvalidParameterException" and message.startswith(
        "The specified capacity provider strategy cannot contain a capacity provider that is not associated")
    assert ecs.describe_clusters(clusters=[cluster])["clusters"][0]["capacityProviders"] == ["FARGATE_SPOT"]
    assert refusal(ecs.put_cluster_capacity_providers, cluster=cluster, capacityProviders=[
        f"p{i}" for i in range(21)], defaultCapacityProviderStrategy=[]) == (
        "InvalidParameterException", "The maximum number of capacity providers per cluster has been exceeded.")


def test_a_second_account_sees_none_of_the_firsts(server, ecs, asg, ec2, template):
    name = unique()
    provider = ecs.create_capacity_provider(name=name, autoScalingGroupProvider={
        "autoScalingGroupArn": new_group(asg, ec2, template)["AutoScalingGroupARN"]})["capacityProvider"]
    theirs, *their_group_args = other_account(server)
    assert [p["name"] for p in theirs.describe_capacity_providers()["capacityProviders"]] == [
        "FARGATE", "FARGATE_SPOT"]
    seen = theirs.describe_capacity_providers(capacityProviders=[name, provider["capacityProviderArn"]])
    assert seen["capacityProviders"] == [] and [f["reason"] for f in seen["failures"]] == ["MISSING", "MISSING"]
    for ref in (name, provider["capacityProviderArn"]):
        assert refusal(theirs.delete_capacity_provider, capacityProvider=ref) == ("ClientException", NOT_FOUND)
        assert refusal(theirs.update_capacity_provider, name=ref, autoScalingGroupProvider={
            "managedDraining": "DISABLED"}) == ("ClientException", NOT_FOUND)
    assert refusal(theirs.create_cluster, clusterName=unique("c"), capacityProviders=[name])[0] == \
        "InvalidParameterException"
    assert refusal(theirs.list_tags_for_resource, resourceArn=provider["capacityProviderArn"])[0] == \
        "InvalidParameterException"
    # their own provider of the same name is theirs alone
    theirs.create_capacity_provider(name=name, autoScalingGroupProvider={
        "autoScalingGroupArn": new_group(*their_group_args)["AutoScalingGroupARN"]})
    mine = ecs.describe_capacity_providers(capacityProviders=[name])["capacityProviders"][0]
    assert mine["autoScalingGroupProvider"] == provider["autoScalingGroupProvider"]
