"""What every wire protocol provides to the dispatcher."""

from botocore.model import OperationNotFoundError

from cloudlet.edge import catalog, validate
from cloudlet.edge.errors import AWSError
from cloudlet.edge.http import Request, Response


class Protocol:
    name = ""
    # (code, status) of the refusal of an action this protocol's services do not know, which is also
    # how cloudlet refuses every action of a service it does not offer
    unknown_service = ("UnknownOperationException", 400)
    validation_code = "ValidationException"  # for a request the model refuses (some services differ: validate.code)
    open_enums: frozenset[str] = frozenset()  # enum shapes whose values the providers check themselves

    def find_operation(self, model, request: Request):
        """The operation model a request calls; unknown names answer as AWS answers them."""
        name = self.operation_name(model, request)
        try:
            return model.operation_model(name)
        except OperationNotFoundError:
            raise self.unknown_operation(model, name) from None

    def parse(self, operation, request: Request) -> dict:
        """The request's input as a dict of Python values, validated against the model."""
        params = self.decode(operation, request)
        problems = validate.check(operation.input_shape, params, self.wire_name, self.open_enums)
        if problems:
            raise self.validation_error(problems, operation.service_model.service_name)
        return params

    def not_offered(self, model) -> AWSError:
        code, status = self.unknown_service
        meta = model.metadata
        return AWSError(code, f"cloudlet does not offer {meta.get('serviceFullName') or model.service_name} "
                              f"({catalog.signing_name(meta)})", status)

    @staticmethod
    def wire_name(member, name: str) -> str:
        return member.serialization.get("name", name)

    def validation_error(self, problems: list[validate.Problem], service: str) -> AWSError:
        return AWSError(validate.code(service, self.validation_code), validate.message(problems))

    # per protocol
    def operation_name(self, model, request: Request) -> str:
        raise NotImplementedError

    def decode(self, operation, request: Request) -> dict:
        raise NotImplementedError

    def serialize(self, operation, result: dict, request_id: str) -> Response:
        raise NotImplementedError

    def serialize_error(self, model, error: AWSError, request_id: str) -> Response:
        raise NotImplementedError

    def unknown_operation(self, model, name: str) -> AWSError:
        raise NotImplementedError
