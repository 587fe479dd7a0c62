"""Table definitions used by queries. The DDL that creates them lives in migrations.py;
tests/unit/test_store.py checks that both agree."""

from sqlalchemy import Column, Integer, MetaData, String, Table, Text

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

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("applied_at", String, nullable=False),
)

# Tables whose rows belong to one account and one region; Scoped enforces it.
SCOPED = {key_pairs.name, tags.name}
