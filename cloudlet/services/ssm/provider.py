"""SSM Parameter Store: the part ECS secrets need, and what people script around it."""

from contextlib import contextmanager

from cloudlet.edge.errors import AWSError
from cloudlet.services.common import pagination
from cloudlet.store.parameters import TYPES, ParameterError, Parameters
from cloudlet.store.schema import ssm_parameters as table


@contextmanager
def as_aws():
    try:
        yield
    except ParameterError as e:
        raise AWSError(e.code, e.message) from None


class SSM:
    def __init__(self, config, store):
        self.config = config
        self.parameters = Parameters(config.data_dir)

    def _out(self, ctx, row: dict) -> dict:
        name = row["name"]
        return {"Name": name, "Type": row["type"], "Value": row["value"], "Version": row["version"],
                "LastModifiedDate": row["modified_at"], "DataType": "text",
                "ARN": ctx.arn("ssm", f"parameter{name if name.startswith('/') else '/' + name}")}

    def put_parameter(self, ctx, request):
        kind = request.get("Type") or "String"
        if kind not in TYPES:
            raise AWSError("ValidationException", f"Type must be one of {', '.join(TYPES)}.")
        with ctx.write() as db, as_aws():
            version = self.parameters.put(db, request["Name"], request["Value"], kind,
                                          overwrite=bool(request.get("Overwrite")),
                                          description=request.get("Description"), key_id=request.get("KeyId"))
        return {"Version": version, "Tier": "Standard"}

    def get_parameter(self, ctx, request):
        with ctx.read() as db, as_aws():
            return {"Parameter": self._out(ctx, self.parameters.get(db, request["Name"],
                                                                    bool(request.get("WithDecryption"))))}

    def get_parameters(self, ctx, request):
        found, invalid = [], []
        with ctx.read() as db:
            for name in request["Names"]:
                try:
                    found.append(self._out(ctx, self.parameters.get(db, name, bool(request.get("WithDecryption")))))
                except ParameterError:
                    invalid.append(name)
        return {"Parameters": found, "InvalidParameters": invalid}

    def get_parameters_by_path(self, ctx, request):
        path = request["Path"].rstrip("/") + "/"
        with ctx.read() as db:
            names = [r["name"] for r in db.select(table) if r["name"].startswith(path) and
                     (request.get("Recursive") or "/" not in r["name"][len(path):])]
            rows = [self.parameters.get(db, n, bool(request.get("WithDecryption"))) for n in names]
        page, token = pagination.page(rows, lambda r: r["name"], request.get("NextToken"), request.get("MaxResults"),
                                      default=10, maximum=10)
        return {"Parameters": [self._out(ctx, r) for r in page], "NextToken": token}

    def delete_parameter(self, ctx, request):
        with ctx.write() as db, as_aws():
            self.parameters.get(db, request["Name"], False)
            db.delete(table, table.c.name == request["Name"])
        return {}

    def delete_parameters(self, ctx, request):
        deleted, invalid = [], []
        with ctx.write() as db:
            for name in request["Names"]:
                if db.delete(table, table.c.name == name):
                    deleted.append(name)
                else:
                    invalid.append(name)
        return {"DeletedParameters": deleted, "InvalidParameters": invalid}

    def describe_parameters(self, ctx, request):
        with ctx.read() as db:
            rows = db.select(table)
        page, token = pagination.page(rows, lambda r: r["name"], request.get("NextToken"), request.get("MaxResults"),
                                      default=50, maximum=50)
        return {"Parameters": [{"Name": r["name"], "Type": r["type"], "Version": r["version"],
                                "LastModifiedDate": r["modified_at"], "Description": r["description"],
                                "KeyId": r["key_id"], "Tier": "Standard", "DataType": "text"} for r in page],
                "NextToken": token}
