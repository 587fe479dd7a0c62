"""What the load balancer tests share: quick health checks, waiting, asking a load balancer,
its targets' health, and the two security groups of a web tier in the default VPC."""

import time
import urllib.error
import urllib.request

QUICK = {"HealthCheckIntervalSeconds": 5, "HealthCheckTimeoutSeconds": 2, "HealthyThresholdCount": 2,
         "UnhealthyThresholdCount": 2, "HealthCheckPath": "/id"}


def until(what, timeout: float = 60, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while not (found := what()):
        assert time.monotonic() < deadline, f"not within {timeout}s"
        time.sleep(every)
    return found


def get(address: str, path: str = "/id", host: str | None = None, timeout: float = 3) -> str | None:
    request = urllib.request.Request(f"http://{address}{path}", headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.read().decode().strip()
    except urllib.error.HTTPError as e:
        return f"{e.code} {e.read().decode()}"
    except OSError:
        return None


def health(elb, group: str) -> dict[str, tuple[str, str | None]]:
    return {d["Target"]["Id"]: (d["TargetHealth"]["State"], d["TargetHealth"].get("Reason"))
            for d in elb.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]}


def web_groups(ec2, front_name: str, back_name: str) -> tuple[str, list[str], str, str]:
    """(default VPC, its subnets, front, back): front lets anyone in on 80, back lets in on 80
    only what comes from front's members (the load balancer)."""
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]]
    front = ec2.create_security_group(GroupName=front_name, Description="web", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=front, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    back = ec2.create_security_group(GroupName=back_name, Description="from the ALB", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=back, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "UserIdGroupPairs": [{"GroupId": front}]}])
    return vpc, subnets, front, back
