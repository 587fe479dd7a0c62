"""Table definitions used by queries. The DDL that creates them lives in migrations.py;
tests/unit/test_store.py checks that both agree."""

from sqlalchemy import Column, Float, Integer, LargeBinary, MetaData, String, Table, Text

metadata = MetaData()

accounts = Table(
    "accounts",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("name", String, nullable=False, unique=True),
    Column("created_at", String, nullable=False),
)

access_keys = Table(
    "access_keys",
    metadata,
    Column("access_key_id", String, primary_key=True),
    Column("secret_access_key", String, nullable=False),
    Column("account_id", String, nullable=False),
    Column("user_name", String, nullable=False),
    Column("user_id", String, nullable=False),
    Column("status", String, nullable=False),
    Column("created_at", String, nullable=False),
)

key_pairs = Table(
    "key_pairs",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("key_name", String, primary_key=True),
    Column("key_pair_id", String, nullable=False, unique=True),
    Column("key_type", String, nullable=False),
    Column("fingerprint", String, nullable=False),
    Column("public_key", Text, nullable=False),
    Column("created_at", String, nullable=False),
)

# One row per tag of any resource, for EC2-style resource IDs and ARNs alike.
tags = Table(
    "tags",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("resource_id", String, primary_key=True),
    Column("key", String, primary_key=True),
    Column("resource_type", String, nullable=False),
    Column("value", String, nullable=False),
)

ecr_repositories = Table(
    "ecr_repositories",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("name", String, primary_key=True),
    Column("arn", String, nullable=False),
    Column("created_at", String, nullable=False),
    Column("tag_mutability", String, nullable=False),
    Column("scan_on_push", Integer, nullable=False),
    Column("encryption_type", String, nullable=False),
    Column("kms_key", String),
    Column("data_key", String, nullable=False),  # wrapped by the key-management key (registry/keys.py)
    Column("policy", Text),
    Column("lifecycle_policy", Text),
    Column("lifecycle_evaluated_at", String),
    Column("lifecycle_preview", Text),  # JSON: the last StartLifecyclePolicyPreview's policy and results
)

# One row per manifest (image or index) a repository holds.
ecr_images = Table(
    "ecr_images",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("repository", String, primary_key=True),
    Column("digest", String, primary_key=True),
    Column("media_type", String, nullable=False),
    Column("artifact_type", String),
    Column("subject", String),  # the digest this manifest refers to (referrers API)
    Column("size", Integer, nullable=False),  # config and layers, compressed, as ECR counts
    Column("pushed_at", String, nullable=False),
    Column("last_pulled_at", String),
)

ecr_tags = Table(
    "ecr_tags",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("repository", String, primary_key=True),
    Column("tag", String, primary_key=True),
    Column("digest", String, nullable=False),
)

# The blobs a repository may serve: uploaded to it or mounted into it.
ecr_blobs = Table(
    "ecr_blobs",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("repository", String, primary_key=True),
    Column("digest", String, primary_key=True),
    Column("size", Integer, nullable=False),
    Column("wrapped_key", String, nullable=False),  # the blob's data key under the repository's
    Column("linked_at", String, nullable=False),  # garbage collection spares fresh links (a push under way)
)

# Key-management keys (what KMS keys are to ECR), wrapped by the host's master key.
kms_keys = Table(
    "kms_keys",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("key_id", String, primary_key=True),
    Column("material", String, nullable=False),
)

ecr_uploads = Table(
    "ecr_uploads",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("upload_id", String, primary_key=True),
    Column("repository", String, nullable=False),
    Column("created_at", String, nullable=False),
)

# A registry's settings, one row per kind: "policy" (body: the policy text as given),
# "replication" and "scanning" (body: the configuration as DescribeRegistry and
# GetRegistryScanningConfiguration return it, JSON).
ecr_registry_settings = Table(
    "ecr_registry_settings",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("kind", String, primary_key=True),
    Column("body", Text, nullable=False),
)

# Where each image pushed to a repository was replicated to, as
# DescribeImageReplicationStatus reports it (in the source's account and region).
ecr_replications = Table(
    "ecr_replications",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("repository", String, primary_key=True),
    Column("digest", String, primary_key=True),
    Column("destination_region", String, primary_key=True),
    Column("destination_registry", String, primary_key=True),
    Column("status", String, nullable=False),
    Column("failure_code", String),
)

# Keys the server makes once and keeps (e.g. the one that signs registry tokens).
secrets = Table(
    "secrets",
    metadata,
    Column("name", String, primary_key=True),
    Column("value", String, nullable=False),
)

# The last scan of each image: its findings as DescribeImageScanFindings reports them.
ecr_scans = Table(
    "ecr_scans",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("repository", String, primary_key=True),
    Column("digest", String, primary_key=True),
    Column("status", String, nullable=False),
    Column("description", String, nullable=False),
    Column("completed_at", String),
    Column("source_updated_at", String),
    Column("findings", Text),
)

# OSV advisories (`cloudlet scan-db import`), one row per package each affects; shared by all.
advisories = Table(
    "advisories",
    metadata,
    Column("id", String, primary_key=True),
    Column("ecosystem", String, primary_key=True),  # "Debian:12", "PyPI", ...
    Column("package", String, primary_key=True),
    Column("modified", String, nullable=False),
    Column("data", Text, nullable=False),
)

advisory_sources = Table(
    "advisory_sources",
    metadata,
    Column("source", String, primary_key=True),
    Column("imported_at", String, nullable=False),
    Column("advisories", Integer, nullable=False),
)

# A VPC's body is the Vpc as DescribeVpcs returns it, with its attributes and the ids of its
# main route table, default network ACL and default security group. Default VPCs take
# ranges of the host's VPC pool no other one has; accounts' own VPCs may overlap anything.
vpcs = Table(
    "vpcs",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("vpc_id", String, primary_key=True),
    Column("cidr", String, nullable=False),
    Column("is_default", Integer, nullable=False),
    Column("security_group_id", String, nullable=False),  # the VPC's default security group
    Column("body", Text, nullable=False),
)

subnets = Table(
    "subnets",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("subnet_id", String, primary_key=True),
    Column("vpc_id", String, nullable=False),
    Column("zone", String, nullable=False),
    Column("cidr", String, nullable=False),
    Column("default_for_az", Integer, nullable=False),
    Column("body", Text, nullable=False),  # what DescribeSubnets shows beyond the columns (attributes)
)

# The other objects of a VPC, one row each, kind "security-group", "route-table",
# "internet-gateway" (vpc_id: the VPC it is attached to, if any), "nat-gateway" or
# "network-acl"; the body is the object as its Describe* operation returns it.
ec2_vpc_objects = Table(
    "ec2_vpc_objects",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("object_id", String, primary_key=True),
    Column("kind", String, nullable=False),
    Column("vpc_id", String),
    Column("body", Text, nullable=False),
)

# An ENI's body is the NetworkInterface as DescribeNetworkInterfaces returns it;
# attached_to is the instance id or task ARN it belongs to.
ec2_network_interfaces = Table(
    "ec2_network_interfaces",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("eni_id", String, primary_key=True),
    Column("vpc_id", String, nullable=False),
    Column("subnet_id", String, nullable=False),
    Column("attached_to", String),
    Column("body", Text, nullable=False),
)

# Every private address in use in a VPC, by the ENI that has it: one row each keeps two ENIs
# of a VPC from ever getting the same one.
ec2_private_ips = Table(
    "ec2_private_ips",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("vpc_id", String, primary_key=True),
    Column("ip", String, primary_key=True),
    Column("subnet_id", String, nullable=False),
    Column("eni_id", String, nullable=False),
)

# Public addresses of the host's public pool, unique across accounts: Elastic IPs (the body
# is the Address as DescribeAddresses returns it) and the public IPs given at launch
# (allocation ids "ipv4pool-..." that DescribeAddresses does not list).
ec2_addresses = Table(
    "ec2_addresses",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("allocation_id", String, primary_key=True),
    Column("public_ip", String, nullable=False, unique=True),
    Column("eni_id", String),
    Column("private_ip", String),
    Column("body", Text, nullable=False),
)

ecs_clusters = Table(
    "ecs_clusters",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("name", String, primary_key=True),
    Column("arn", String, nullable=False),
    Column("status", String, nullable=False),
    Column("settings", Text, nullable=False),  # JSON, as the API has them
    Column("capacity_providers", Text, nullable=False),
    Column("default_strategy", Text, nullable=False),
    Column("created_at", String, nullable=False),
    # new at every change to the cluster's container instances: placement keeps what it read
    # of them while the stamp it read them under holds (control/capacity.py)
    Column("fleet_stamp", String, nullable=False, default=""),
)

# A revision's body is the TaskDefinition as DescribeTaskDefinition returns it (JSON).
ecs_task_definitions = Table(
    "ecs_task_definitions",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("family", String, primary_key=True),
    Column("revision", Integer, primary_key=True),
    Column("arn", String, nullable=False),
    Column("status", String, nullable=False),
    Column("body", Text, nullable=False),
)

# A task's body is the Task as DescribeTasks returns it (JSON), plus "_run": what the task
# controller needs to run it (its definition, network, engine container ids).
ecs_tasks = Table(
    "ecs_tasks",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("task_id", String, primary_key=True),
    Column("cluster", String, nullable=False),
    Column("desired_status", String, nullable=False),
    Column("last_status", String, nullable=False),
    Column("body", Text, nullable=False),
    Column("updated_at", String, nullable=False),
)

# A container instance's body is the ContainerInstance as DescribeContainerInstances returns
# it, without its remaining resources (counted from its tasks when asked).
ecs_container_instances = Table(
    "ecs_container_instances",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("cluster", String, nullable=False),
    Column("instance_id", String, primary_key=True),
    Column("status", String, nullable=False),
    Column("body", Text, nullable=False),
)

# A service's body is the Service as DescribeServices returns it (JSON), plus "_run": the
# resolved network and definitions of its deployments, for the service controller.
ecs_services = Table(
    "ecs_services",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("cluster", String, primary_key=True),
    Column("name", String, primary_key=True),
    Column("status", String, nullable=False),
    Column("body", Text, nullable=False),
    Column("updated_at", String, nullable=False),
)

# An ECS capacity provider of the account's own (FARGATE and FARGATE_SPOT are built in, never
# stored); body is the CapacityProvider as DescribeCapacityProviders returns it, without tags.
ecs_capacity_providers = Table(
    "ecs_capacity_providers",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("name", String, primary_key=True),
    Column("status", String, nullable=False),
    Column("body", Text, nullable=False),
)

# CloudWatch Logs. Times are milliseconds since the epoch, as the API has them.
log_groups = Table(
    "log_groups",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("name", String, primary_key=True),
    Column("created_at", Integer, nullable=False),
    Column("retention_days", Integer),
    Column("kms_key_id", String),
)

log_streams = Table(
    "log_streams",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("log_group", String, primary_key=True),
    Column("name", String, primary_key=True),
    Column("created_at", Integer, nullable=False),
    Column("first_event", Integer),
    Column("last_event", Integer),
    Column("last_ingestion", Integer),
    Column("stored_bytes", Integer, nullable=False),
)

log_events = Table(
    "log_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),  # arrival order; the eventId
    Column("account_id", String, nullable=False),
    Column("region", String, nullable=False),
    Column("log_group", String, nullable=False),
    Column("log_stream", String, nullable=False),
    Column("timestamp", Integer, nullable=False),
    Column("ingestion", Integer, nullable=False),
    Column("message", Text, nullable=False),
)

# SSM parameters; a SecureString's value is sealed (AES-GCM) under the host's parameter key.
ssm_parameters = Table(
    "ssm_parameters",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("name", String, primary_key=True),
    Column("type", String, nullable=False),
    Column("value", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("description", String),
    Column("key_id", String),
    Column("modified_at", String, nullable=False),
)

# An instance's body is the Instance as DescribeInstances returns it (JSON), plus "_run";
# desired is what the API asked for (running, stopped, terminated), state where it is.
ec2_instances = Table(
    "ec2_instances",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("instance_id", String, primary_key=True),
    Column("desired", String, nullable=False),
    Column("state", String, nullable=False),
    Column("body", Text, nullable=False),
    Column("updated_at", String, nullable=False),
)

ec2_volumes = Table(
    "ec2_volumes",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("volume_id", String, primary_key=True),
    Column("state", String, nullable=False),  # creating, available, in-use, deleting
    Column("instance_id", String),  # the instance it is attached to
    Column("body", Text, nullable=False),
    Column("updated_at", String, nullable=False),
)

ec2_snapshots = Table(
    "ec2_snapshots",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("snapshot_id", String, primary_key=True),
    Column("state", String, nullable=False),  # pending, completed, error
    Column("body", Text, nullable=False),
    Column("updated_at", String, nullable=False),
)

ec2_images = Table(
    "ec2_images",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("image_id", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("state", String, nullable=False),  # pending, available, failed
    Column("body", Text, nullable=False),
    Column("updated_at", String, nullable=False),
)

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("applied_at", String, nullable=False),
)


# CloudWatch metrics: a series per (namespace, name, dimensions) of an account and region, and
# its points as aggregates per period (1 s for high-resolution metrics, 60 s, 5 min, 1 h: the
# roll-ups AWS keeps), one row per period, start and unit however many values came in.
metric_series = Table(
    "metric_series",
    metadata,
    Column("series_id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String, nullable=False),
    Column("region", String, nullable=False),
    Column("namespace", String, nullable=False),
    Column("name", String, nullable=False),
    Column("dimensions", Text, nullable=False),  # JSON [[name, value], ...] sorted by name
    Column("high_resolution", Integer, nullable=False),
    Column("last_put", Integer, nullable=False),  # epoch seconds of the newest point's arrival
)

# samples: the values seen, as packed float64 (value, count) pairs sorted by value, merged to
# at most a few hundred pairs (for percentiles); NULL once a statistic set came in (AWS has no
# percentiles for those)
metric_points = Table(
    "metric_points",
    metadata,
    Column("series_id", Integer, primary_key=True),
    Column("period", Integer, primary_key=True),
    Column("start", Integer, primary_key=True),
    Column("unit", String, primary_key=True),
    Column("count", Float, nullable=False),
    Column("sum", Float, nullable=False),
    Column("min", Float, nullable=False),
    Column("max", Float, nullable=False),
    Column("samples", LargeBinary),
)

# A metric alarm; body is the MetricAlarm as DescribeAlarms returns it (JSON), plus "_evaluated"
# (when it was last evaluated, epoch seconds).
cloudwatch_alarms = Table(
    "cloudwatch_alarms",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("name", String, primary_key=True),
    Column("state", String, nullable=False),
    Column("body", Text, nullable=False),
)

cloudwatch_alarm_history = Table(
    "cloudwatch_alarm_history",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String, nullable=False),
    Column("region", String, nullable=False),
    Column("name", String, nullable=False),
    Column("at", Integer, nullable=False),  # epoch milliseconds
    Column("kind", String, nullable=False),  # ConfigurationUpdate, StateUpdate, Action
    Column("summary", Text, nullable=False),
    Column("data", Text, nullable=False),
)

# SNS: a topic's body is its attributes (GetTopicAttributes' map) plus "Tags"; a subscription's
# body is its attributes (GetSubscriptionAttributes' map), its confirmation token while pending.
sns_topics = Table(
    "sns_topics",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("arn", String, primary_key=True),
    Column("body", Text, nullable=False),
)

sns_subscriptions = Table(
    "sns_subscriptions",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("arn", String, primary_key=True),
    Column("topic_arn", String, nullable=False),
    Column("body", Text, nullable=False),
)

# A CloudWatch Logs metric filter; body is the MetricFilter as DescribeMetricFilters returns it.
log_metric_filters = Table(
    "log_metric_filters",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("log_group", String, primary_key=True),
    Column("name", String, primary_key=True),
    Column("body", Text, nullable=False),
)

# CloudWatch Logs' objects besides groups, streams and metric filters, by kind: "policy" (a
# resource policy, log_group ""), "subscription-filter" (per group), "query" (an Insights query,
# log_group "", name its queryId). Body is the object as its Describe* operation returns it, plus
# "_"-prefixed private fields; created_at in milliseconds, for the order Describe* lists them in.
log_objects = Table(
    "log_objects",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("kind", String, primary_key=True),
    Column("log_group", String, primary_key=True),
    Column("name", String, primary_key=True),
    Column("created_at", Integer, nullable=False),
    Column("body", Text, nullable=False),
)

# An EC2 launch template (body: the LaunchTemplate as DescribeLaunchTemplates returns it) and
# its versions (body: the LaunchTemplateVersion as DescribeLaunchTemplateVersions returns it).
ec2_launch_templates = Table(
    "ec2_launch_templates",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("template_id", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("body", Text, nullable=False),
)

ec2_launch_template_versions = Table(
    "ec2_launch_template_versions",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("template_id", String, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("body", Text, nullable=False),
)

# EC2 Auto Scaling's objects, by kind ("group" with group_name = name, and per group:
# "policy", "lifecycle-hook", "scheduled-action", "instance", "instance-refresh", ...);
# body is the object as its Describe* operation returns it, plus "_"-prefixed private fields.
autoscaling_objects = Table(
    "autoscaling_objects",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("kind", String, primary_key=True),
    Column("group_name", String, primary_key=True),
    Column("name", String, primary_key=True),
    Column("body", Text, nullable=False),
)

autoscaling_activities = Table(
    "autoscaling_activities",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String, nullable=False),
    Column("region", String, nullable=False),
    Column("group_name", String, nullable=False),
    Column("at", Integer, nullable=False),  # epoch milliseconds
    Column("body", Text, nullable=False),  # the Activity as DescribeScalingActivities returns it
)

# Application Auto Scaling's objects by kind ("target", "policy", "scheduled-action"); key is
# "<namespace>|<resource id>|<dimension>" for a target and that plus "|<name>" for the others.
appscaling_objects = Table(
    "appscaling_objects",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("kind", String, primary_key=True),
    Column("key", String, primary_key=True),
    Column("body", Text, nullable=False),
)

appscaling_activities = Table(
    "appscaling_activities",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String, nullable=False),
    Column("region", String, nullable=False),
    Column("target_key", String, nullable=False),
    Column("at", Integer, nullable=False),  # epoch milliseconds
    Column("body", Text, nullable=False),
)

# An ECS account setting a principal (the root user or a user) set for itself, or the root user
# for everyone (PutAccountSettingDefault).
ecs_account_settings = Table(
    "ecs_account_settings",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("principal_arn", String, primary_key=True),
    Column("name", String, primary_key=True),
    Column("value", String, nullable=False),
)

# Tables whose rows belong to one account and one region; Scoped enforces it.
# ELBv2's load balancers, target groups, listeners and rules (kind: "load-balancer",
# "target-group", "listener", "rule"); parent: the load balancer of a listener, the listener
# of a rule, "" for the others; body: the object as its Describe* operation returns it, plus
# "_"-prefixed private fields (attributes, tags).
elbv2_objects = Table(
    "elbv2_objects",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("arn", String, primary_key=True),
    Column("kind", String, nullable=False),
    Column("name", String, nullable=False),
    Column("parent", String, nullable=False),
    Column("body", Text, nullable=False),
)

# A target group's registered targets and their health, as DescribeTargetHealth shows it:
# state (initial, healthy, unhealthy, unused, draining, unavailable), reason (Target.* or
# Elb.* code), since (epoch seconds the state began: a draining target's deregistration).
elbv2_targets = Table(
    "elbv2_targets",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("group_arn", String, primary_key=True),
    Column("target_id", String, primary_key=True),
    Column("port", Integer, primary_key=True),
    Column("zone", String),
    Column("state", String, nullable=False),
    Column("reason", String),
    Column("since", Float, nullable=False),
)

# ACM certificates: body is the CertificateDetail DescribeCertificate returns; the PEMs
# beside it, the private key sealed (store/sealing.py) under the host key.
acm_certificates = Table(
    "acm_certificates",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("region", String, primary_key=True),
    Column("arn", String, primary_key=True),
    Column("body", Text, nullable=False),
    Column("certificate", Text, nullable=False),
    Column("chain", Text, nullable=False),
    Column("private_key", Text, nullable=False),
)

SCOPED = {key_pairs.name, tags.name, ecr_repositories.name, ecr_images.name, ecr_tags.name, ecr_blobs.name,
          ecr_uploads.name, kms_keys.name, ecr_scans.name, ecr_registry_settings.name, vpcs.name, subnets.name, ecs_clusters.name,
          ecs_task_definitions.name, ecs_tasks.name, ecs_services.name, ecs_container_instances.name,
          log_groups.name, log_streams.name, log_events.name, ssm_parameters.name, ec2_instances.name,
          ec2_volumes.name, ec2_snapshots.name, ec2_images.name, ec2_vpc_objects.name, ec2_network_interfaces.name,
          ec2_private_ips.name, ec2_addresses.name, sns_topics.name, sns_subscriptions.name,
          log_metric_filters.name, ec2_launch_templates.name, ec2_launch_template_versions.name,
          autoscaling_objects.name, appscaling_objects.name, ecs_account_settings.name,
          elbv2_objects.name, elbv2_targets.name, acm_certificates.name, log_objects.name,
          ecs_capacity_providers.name}
