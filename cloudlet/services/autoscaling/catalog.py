"""What EC2 Auto Scaling lists about itself: DescribeAccountLimits (AWS's default quotas),
DescribeAdjustmentTypes, DescribeLifecycleHookTypes and DescribeTerminationPolicyTypes."""

from __future__ import annotations

from cloudlet.control import asg_records as records
from cloudlet.control.asg_choice import POLICIES
from cloudlet.control.asg_lifecycle import TRANSITIONS
from cloudlet.services.common.scaling import ADJUSTMENT_TYPES

from .groups import MAX_GROUPS

MAX_LAUNCH_CONFIGURATIONS = 200  # AWS's quota; none can be made here (launch templates instead)


class Catalog:
    def describe_account_limits(self, ctx, request):
        with ctx.read() as db:
            groups = records.count(db, records.GROUP)
        return {"MaxNumberOfAutoScalingGroups": MAX_GROUPS, "MaxNumberOfLaunchConfigurations":
                MAX_LAUNCH_CONFIGURATIONS, "NumberOfAutoScalingGroups": groups, "NumberOfLaunchConfigurations": 0}

    def describe_adjustment_types(self, ctx, request):
        return {"AdjustmentTypes": [{"AdjustmentType": t} for t in ADJUSTMENT_TYPES]}

    def describe_lifecycle_hook_types(self, ctx, request):
        return {"LifecycleHookTypes": list(TRANSITIONS)}

    def describe_termination_policy_types(self, ctx, request):
        return {"TerminationPolicyTypes": sorted(POLICIES)}
