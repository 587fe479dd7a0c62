"""Ordered schema migrations. Never edit a released step: append a new one."""

from datetime import datetime, timezone

from sqlalchemy import text

STEPS: list[list[str]] = [
    # 1: accounts, credentials, key pairs, tags
    [
        """CREATE TABLE accounts (
            account_id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL)""",
        """CREATE TABLE access_keys (
            access_key_id TEXT PRIMARY KEY,
            secret_access_key TEXT NOT NULL,
            account_id TEXT NOT NULL REFERENCES accounts(account_id),
            user_name TEXT NOT NULL,
            user_id TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at TEXT NOT NULL)""",
        """CREATE TABLE key_pairs (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            key_name TEXT NOT NULL,
            key_pair_id TEXT NOT NULL UNIQUE,
            key_type TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            public_key TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (account_id, region, key_name))""",
        """CREATE TABLE tags (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            resource_id TEXT NOT NULL,
            key TEXT NOT NULL,
            resource_type TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (account_id, region, resource_id, key))""",
        "CREATE INDEX tags_by_key ON tags (account_id, region, key)",
    ],
    # 2: ECR: repositories, images (manifests), tags, blob links, uploads, their keys; server secrets
    [
        """CREATE TABLE ecr_repositories (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            name TEXT NOT NULL,
            arn TEXT NOT NULL,
            created_at TEXT NOT NULL,
            tag_mutability TEXT NOT NULL,
            scan_on_push INTEGER NOT NULL,
            encryption_type TEXT NOT NULL,
            kms_key TEXT,
            data_key TEXT NOT NULL,
            policy TEXT,
            lifecycle_policy TEXT,
            lifecycle_evaluated_at TEXT,
            lifecycle_preview TEXT,
            PRIMARY KEY (account_id, region, name))""",
        """CREATE TABLE ecr_images (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            repository TEXT NOT NULL,
            digest TEXT NOT NULL,
            media_type TEXT NOT NULL,
            artifact_type TEXT,
            subject TEXT,
            size INTEGER NOT NULL,
            pushed_at TEXT NOT NULL,
            last_pulled_at TEXT,
            PRIMARY KEY (account_id, region, repository, digest))""",
        "CREATE INDEX ecr_images_by_subject ON ecr_images (account_id, region, repository, subject)",
        """CREATE TABLE ecr_tags (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            repository TEXT NOT NULL,
            tag TEXT NOT NULL,
            digest TEXT NOT NULL,
            PRIMARY KEY (account_id, region, repository, tag))""",
        """CREATE TABLE ecr_blobs (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            repository TEXT NOT NULL,
            digest TEXT NOT NULL,
            size INTEGER NOT NULL,
            wrapped_key TEXT NOT NULL,
            linked_at TEXT NOT NULL,
            PRIMARY KEY (account_id, region, repository, digest))""",
        """CREATE TABLE kms_keys (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            key_id TEXT NOT NULL,
            material TEXT NOT NULL,
            PRIMARY KEY (account_id, region, key_id))""",
        """CREATE TABLE ecr_uploads (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            upload_id TEXT NOT NULL,
            repository TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (account_id, region, upload_id))""",
        """CREATE TABLE secrets (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL)""",
        """CREATE TABLE ecr_scans (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            repository TEXT NOT NULL,
            digest TEXT NOT NULL,
            status TEXT NOT NULL,
            description TEXT NOT NULL,
            completed_at TEXT,
            source_updated_at TEXT,
            findings TEXT,
            PRIMARY KEY (account_id, region, repository, digest))""",
        """CREATE TABLE advisories (
            id TEXT NOT NULL,
            ecosystem TEXT NOT NULL,
            package TEXT NOT NULL,
            modified TEXT NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (id, ecosystem, package))""",
        "CREATE INDEX advisories_by_package ON advisories (ecosystem, package)",
        """CREATE TABLE advisory_sources (
            source TEXT PRIMARY KEY,
            imported_at TEXT NOT NULL,
            advisories INTEGER NOT NULL)""",
    ],
    # 3: the default VPC of each account and region, its subnets and default security group
    [
        """CREATE TABLE vpcs (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            vpc_id TEXT NOT NULL,
            cidr TEXT NOT NULL UNIQUE,
            is_default INTEGER NOT NULL,
            security_group_id TEXT NOT NULL,
            PRIMARY KEY (account_id, region, vpc_id))""",
        """CREATE TABLE subnets (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            subnet_id TEXT NOT NULL,
            vpc_id TEXT NOT NULL,
            zone TEXT NOT NULL,
            cidr TEXT NOT NULL,
            default_for_az INTEGER NOT NULL,
            PRIMARY KEY (account_id, region, subnet_id))""",
    ],
    # 4: ECS clusters, task definitions and tasks
    [
        """CREATE TABLE ecs_clusters (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            name TEXT NOT NULL,
            arn TEXT NOT NULL,
            status TEXT NOT NULL,
            settings TEXT NOT NULL,
            capacity_providers TEXT NOT NULL,
            default_strategy TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (account_id, region, name))""",
        """CREATE TABLE ecs_task_definitions (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            family TEXT NOT NULL,
            revision INTEGER NOT NULL,
            arn TEXT NOT NULL,
            status TEXT NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (account_id, region, family, revision))""",
        """CREATE TABLE ecs_tasks (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            task_id TEXT NOT NULL,
            cluster TEXT NOT NULL,
            desired_status TEXT NOT NULL,
            last_status TEXT NOT NULL,
            body TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (account_id, region, task_id))""",
        "CREATE INDEX ecs_tasks_by_cluster ON ecs_tasks (account_id, region, cluster, last_status)",
        """CREATE TABLE ecs_container_instances (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            cluster TEXT NOT NULL,
            instance_id TEXT NOT NULL,
            status TEXT NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (account_id, region, instance_id))""",
        """CREATE TABLE ecs_services (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            cluster TEXT NOT NULL,
            name TEXT NOT NULL,
            status TEXT NOT NULL,
            body TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (account_id, region, cluster, name))""",
    ],
    # 5: CloudWatch Logs: groups, streams, events
    [
        """CREATE TABLE log_groups (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            name TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            retention_days INTEGER,
            kms_key_id TEXT,
            PRIMARY KEY (account_id, region, name))""",
        """CREATE TABLE log_streams (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            log_group TEXT NOT NULL,
            name TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            first_event INTEGER,
            last_event INTEGER,
            last_ingestion INTEGER,
            stored_bytes INTEGER NOT NULL,
            PRIMARY KEY (account_id, region, log_group, name))""",
        """CREATE TABLE log_events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            log_group TEXT NOT NULL,
            log_stream TEXT NOT NULL,
            timestamp INTEGER NOT NULL,
            ingestion INTEGER NOT NULL,
            message TEXT NOT NULL)""",
        "CREATE INDEX log_events_by_stream ON log_events (account_id, region, log_group, log_stream, timestamp)",
        "CREATE INDEX log_events_by_group ON log_events (account_id, region, log_group, timestamp)",
    ],
    # 6: SSM Parameter Store (what ECS secrets come from)
    [
        """CREATE TABLE ssm_parameters (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            name TEXT NOT NULL,
            type TEXT NOT NULL,
            value TEXT NOT NULL,
            version INTEGER NOT NULL,
            description TEXT,
            key_id TEXT,
            modified_at TEXT NOT NULL,
            PRIMARY KEY (account_id, region, name))""",
    ],
    # 7: EC2 instances
    [
        """CREATE TABLE ec2_instances (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            instance_id TEXT NOT NULL,
            desired TEXT NOT NULL,
            state TEXT NOT NULL,
            body TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (account_id, region, instance_id))""",
    ],
    # 8: EBS volumes and snapshots, and AMIs made by accounts
    [
        """CREATE TABLE ec2_volumes (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            volume_id TEXT NOT NULL,
            state TEXT NOT NULL,
            instance_id TEXT,
            body TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (account_id, region, volume_id))""",
        """CREATE TABLE ec2_snapshots (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            snapshot_id TEXT NOT NULL,
            state TEXT NOT NULL,
            body TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (account_id, region, snapshot_id))""",
        """CREATE TABLE ec2_images (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            image_id TEXT NOT NULL,
            name TEXT NOT NULL,
            state TEXT NOT NULL,
            body TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (account_id, region, image_id))""",
    ],
    # 9: VPCs of the accounts' own (their CIDRs may overlap: each VPC has a router of its own),
    # their objects (security groups, route tables, gateways, network ACLs), network
    # interfaces with their private addresses, and public addresses (Elastic IPs and those
    # given at launch), which are unique on the host
    [
        """CREATE TABLE vpcs_9 (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            vpc_id TEXT NOT NULL,
            cidr TEXT NOT NULL,
            is_default INTEGER NOT NULL,
            security_group_id TEXT NOT NULL,
            body TEXT NOT NULL DEFAULT '{}',
            PRIMARY KEY (account_id, region, vpc_id))""",
        """INSERT INTO vpcs_9 (account_id, region, vpc_id, cidr, is_default, security_group_id)
            SELECT account_id, region, vpc_id, cidr, is_default, security_group_id FROM vpcs""",
        "DROP TABLE vpcs",
        "ALTER TABLE vpcs_9 RENAME TO vpcs",
        "CREATE INDEX vpcs_by_cidr ON vpcs (cidr)",
        "ALTER TABLE subnets ADD COLUMN body TEXT NOT NULL DEFAULT '{}'",
        """CREATE TABLE ec2_vpc_objects (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            object_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            vpc_id TEXT,
            body TEXT NOT NULL,
            PRIMARY KEY (account_id, region, object_id))""",
        "CREATE INDEX ec2_vpc_objects_by_kind ON ec2_vpc_objects (account_id, region, kind, vpc_id)",
        """CREATE TABLE ec2_network_interfaces (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            eni_id TEXT NOT NULL,
            vpc_id TEXT NOT NULL,
            subnet_id TEXT NOT NULL,
            attached_to TEXT,
            body TEXT NOT NULL,
            PRIMARY KEY (account_id, region, eni_id))""",
        "CREATE INDEX ec2_network_interfaces_by_attachment ON ec2_network_interfaces (attached_to)",
        """CREATE TABLE ec2_private_ips (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            vpc_id TEXT NOT NULL,
            ip TEXT NOT NULL,
            subnet_id TEXT NOT NULL,
            eni_id TEXT NOT NULL,
            PRIMARY KEY (account_id, region, vpc_id, ip))""",
        """CREATE TABLE ec2_addresses (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            allocation_id TEXT NOT NULL,
            public_ip TEXT NOT NULL UNIQUE,
            eni_id TEXT,
            private_ip TEXT,
            body TEXT NOT NULL,
            PRIMARY KEY (account_id, region, allocation_id))""",
    ],
    # 10: CloudWatch metrics, as aggregates per period (not one row per request), and alarms
    [
        """CREATE TABLE metric_series (
            series_id INTEGER PRIMARY KEY AUTOINCREMENT,
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            namespace TEXT NOT NULL,
            name TEXT NOT NULL,
            dimensions TEXT NOT NULL,
            high_resolution INTEGER NOT NULL,
            last_put INTEGER NOT NULL,
            UNIQUE (account_id, region, namespace, name, dimensions))""",
        """CREATE TABLE metric_points (
            series_id INTEGER NOT NULL,
            period INTEGER NOT NULL,
            start INTEGER NOT NULL,
            unit TEXT NOT NULL,
            count REAL NOT NULL,
            sum REAL NOT NULL,
            min REAL NOT NULL,
            max REAL NOT NULL,
            samples BLOB,
            PRIMARY KEY (series_id, period, start, unit)) WITHOUT ROWID""",
        "CREATE INDEX metric_points_by_age ON metric_points (period, start)",
        """CREATE TABLE cloudwatch_alarms (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            name TEXT NOT NULL,
            state TEXT NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (account_id, region, name))""",
        """CREATE TABLE cloudwatch_alarm_history (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            name TEXT NOT NULL,
            at INTEGER NOT NULL,
            kind TEXT NOT NULL,
            summary TEXT NOT NULL,
            data TEXT NOT NULL)""",
        "CREATE INDEX cloudwatch_alarm_history_by_name ON cloudwatch_alarm_history (account_id, region, name, at)",
    ],
    # 11: SNS, Logs metric filters, EC2 launch templates, EC2 Auto Scaling, Application Auto Scaling
    [
        """CREATE TABLE sns_topics (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            arn TEXT NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (account_id, region, arn))""",
        """CREATE TABLE sns_subscriptions (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            arn TEXT NOT NULL,
            topic_arn TEXT NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (account_id, region, arn))""",
        "CREATE INDEX sns_subscriptions_by_topic ON sns_subscriptions (account_id, region, topic_arn)",
        """CREATE TABLE log_metric_filters (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            log_group TEXT NOT NULL,
            name TEXT NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (account_id, region, log_group, name))""",
        """CREATE TABLE ec2_launch_templates (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            template_id TEXT NOT NULL,
            name TEXT NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (account_id, region, template_id),
            UNIQUE (account_id, region, name))""",
        """CREATE TABLE ec2_launch_template_versions (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            template_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (account_id, region, template_id, version))""",
        """CREATE TABLE autoscaling_objects (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            kind TEXT NOT NULL,
            group_name TEXT NOT NULL,
            name TEXT NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (account_id, region, kind, group_name, name))""",
        """CREATE TABLE autoscaling_activities (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            group_name TEXT NOT NULL,
            at INTEGER NOT NULL,
            body TEXT NOT NULL)""",
        "CREATE INDEX autoscaling_activities_by_group ON autoscaling_activities (account_id, region, group_name, at)",
        """CREATE TABLE appscaling_objects (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (account_id, region, kind, key))""",
        """CREATE TABLE appscaling_activities (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            target_key TEXT NOT NULL,
            at INTEGER NOT NULL,
            body TEXT NOT NULL)""",
        "CREATE INDEX appscaling_activities_by_target ON appscaling_activities (account_id, region, target_key, at)",
    ],
    # 12: ECS account settings, per principal
    [
        """CREATE TABLE ecs_account_settings (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            principal_arn TEXT NOT NULL,
            name TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (account_id, region, principal_arn, name))""",
    ],
    # 13: Elastic Load Balancing v2 and Certificate Manager
    [
        """CREATE TABLE elbv2_objects (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            arn TEXT NOT NULL,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            parent TEXT NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (account_id, region, arn))""",
        "CREATE INDEX elbv2_objects_by_kind ON elbv2_objects (account_id, region, kind, name)",
        "CREATE INDEX elbv2_objects_by_parent ON elbv2_objects (account_id, region, parent)",
        """CREATE TABLE elbv2_targets (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            group_arn TEXT NOT NULL,
            target_id TEXT NOT NULL,
            port INTEGER NOT NULL,
            zone TEXT,
            state TEXT NOT NULL,
            reason TEXT,
            since REAL NOT NULL,
            PRIMARY KEY (account_id, region, group_arn, target_id, port))""",
        """CREATE TABLE acm_certificates (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            arn TEXT NOT NULL,
            body TEXT NOT NULL,
            certificate TEXT NOT NULL,
            chain TEXT NOT NULL,
            private_key TEXT NOT NULL,
            PRIMARY KEY (account_id, region, arn))""",
    ],
    # 14: CloudWatch Logs' resource policies, subscription filters and Insights queries
    [
        """CREATE TABLE log_objects (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            kind TEXT NOT NULL,
            log_group TEXT NOT NULL,
            name TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (account_id, region, kind, log_group, name))""",
    ],
    # 15: ECR's registry-wide settings: its policy, replication and scanning configurations
    [
        """CREATE TABLE ecr_registry_settings (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            kind TEXT NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (account_id, region, kind))""",
    ],
    # 16: ECS capacity providers
    [
        """CREATE TABLE ecs_capacity_providers (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            name TEXT NOT NULL,
            status TEXT NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (account_id, region, name))""",
    ],
    # 17: ECR replication, one row per image and destination
    [
        """CREATE TABLE ecr_replications (
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            repository TEXT NOT NULL,
            digest TEXT NOT NULL,
            destination_region TEXT NOT NULL,
            destination_registry TEXT NOT NULL,
            status TEXT NOT NULL,
            failure_code TEXT,
            PRIMARY KEY (account_id, region, repository, digest, destination_region, destination_registry))""",
    ],
    # 18: a stamp of each ECS cluster's container instances, for placement's cache of them
    [
        "ALTER TABLE ecs_clusters ADD COLUMN fleet_stamp TEXT NOT NULL DEFAULT ''",
    ],
]


def current_version(conn) -> int:
    conn.execute(text(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
    ))
    return conn.execute(text("SELECT COALESCE(MAX(version), 0) FROM schema_version")).scalar_one()


def migrate(conn) -> int:
    """Apply the missing steps inside the caller's transaction; returns the new version."""
    version = current_version(conn)
    if version > len(STEPS):
        raise RuntimeError(
            f"the state was written by a newer cloudlet (schema {version}, this one knows {len(STEPS)})"
        )
    for number, statements in enumerate(STEPS[version:], start=version + 1):
        for statement in statements:
            conn.execute(text(statement))
        conn.execute(
            text("INSERT INTO schema_version (version, applied_at) VALUES (:v, :t)"),
            {"v": number, "t": datetime.now(timezone.utc).isoformat()},
        )
    return len(STEPS)
