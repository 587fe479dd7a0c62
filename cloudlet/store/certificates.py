"""ACM's certificates, shared by its API (services/acm) and the load balancers' data plane,
which asks for a certificate's bundle when a listener names it. Plain functions over a
Scoped handle, so one account never reads another's.

A row is the CertificateDetail DescribeCertificate shows (plus "_"-prefixed private fields),
the certificate and chain as PEM, and the private key sealed under the host key with a
purpose bound to the ARN: a sealed key copied onto another certificate's row does not open.
The PEMs are cloudlet's own re-encoding of what was parsed, never the tenant's bytes, so
what lands in a proxy's crt file is exactly certificates and one key.
"""

from __future__ import annotations

import json

from cloudlet.store.schema import acm_certificates as table


def key_purpose(arn: str) -> str:
    return f"acm-private-key:{arn}"


def get(db, arn: str) -> dict | None:
    """The row of a certificate of db's account: body (parsed), certificate, chain, private_key (sealed)."""
    row = db.one(table, table.c.arn == arn)
    return {**row, "body": json.loads(row["body"])} if row else None


def every(db) -> list[dict]:
    """Every body of db's account and region, by ARN."""
    return [json.loads(r["body"]) for r in db.select(table, order_by=table.c.arn)]


def put(db, sealer, arn: str, body: dict, certificate: str, chain: str, private_key: str) -> None:
    """Write a certificate whole (made, or re-imported); the key is sealed here, never stored in the clear."""
    values = dict(body=json.dumps(body), certificate=certificate, chain=chain,
                  private_key=sealer.seal(private_key, key_purpose(arn)))
    if not db.update(table, table.c.arn == arn, **values):
        db.insert(table, arn=arn, **values)


def save_body(db, arn: str, body: dict) -> None:
    db.update(table, table.c.arn == arn, body=json.dumps(body))


def delete(db, arn: str) -> bool:
    return db.delete(table, table.c.arn == arn) > 0


def private_key(db, sealer, arn: str) -> str | None:
    row = db.one(table, table.c.arn == arn)
    return sealer.open(row["private_key"], key_purpose(arn)) if row else None


def bundle(db, sealer, arn: str) -> str | None:
    """The certificate, its chain and its private key as one PEM, as HAProxy's `crt` file wants
    it; None if db's account has no such certificate."""
    row = db.one(table, table.c.arn == arn)
    if row is None:
        return None
    parts = (row["certificate"], row["chain"], sealer.open(row["private_key"], key_purpose(arn)))
    return "".join(p if p.endswith("\n") else p + "\n" for p in parts if p)
