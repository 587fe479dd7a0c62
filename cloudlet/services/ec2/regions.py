"""DescribeRegions and DescribeAvailabilityZones, from the configured region list."""

from cloudlet.config import zones
from cloudlet.edge.errors import AWSError
from cloudlet.services.common import filters


class Regions:
    def describe_regions(self, ctx, request):
        regions = [
            {"RegionName": name, "Endpoint": f"ec2.{name}.amazonaws.com", "OptInStatus": "opt-in-not-required"}
            for name in self.config.regions
        ]
        names = request.get("RegionNames")
        if names:
            unknown = [n for n in names if n not in self.config.regions]
            if unknown:
                raise AWSError("InvalidParameterValue", f"Invalid region: {unknown[0]}")
            regions = [r for r in regions if r["RegionName"] in names]
        getters = {
            "region-name": lambda r: r["RegionName"],
            "endpoint": lambda r: r["Endpoint"],
            "opt-in-status": lambda r: r["OptInStatus"],
        }
        return {"Regions": filters.apply(regions, request.get("Filters"), getters)}

    def describe_availability_zones(self, ctx, request):
        found = [
            {
                **zone,
                "State": "available",
                "OptInStatus": "opt-in-not-required",
                "Messages": [],
                "RegionName": ctx.region,
                "GroupName": ctx.region,
                "NetworkBorderGroup": ctx.region,
                "ZoneType": "availability-zone",
                "GroupLongName": ctx.region,
            }
            for zone in zones(ctx.region)
        ]
        for member, field in (("ZoneNames", "ZoneName"), ("ZoneIds", "ZoneId")):
            wanted = request.get(member)
            if wanted:
                known = {z[field] for z in found}
                missing = [w for w in wanted if w not in known]
                if missing:
                    raise AWSError(
                        "InvalidParameterValue",
                        f"The zone '{missing[0]}' does not exist in the region '{ctx.region}'.",
                    )
                found = [z for z in found if z[field] in wanted]
        getters = {
            "zone-name": lambda z: z["ZoneName"],
            "zone-id": lambda z: z["ZoneId"],
            "region-name": lambda z: z["RegionName"],
            "state": lambda z: z["State"],
            "group-name": lambda z: z["GroupName"],
            "opt-in-status": lambda z: z["OptInStatus"],
            "zone-type": lambda z: z["ZoneType"],
            "network-border-group": lambda z: z["NetworkBorderGroup"],
            "message": lambda z: [m.get("Message") for m in z["Messages"]],
        }
        return {"AvailabilityZones": filters.apply(found, request.get("Filters"), getters)}
