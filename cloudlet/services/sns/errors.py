"""SNS's refusals, as AWS words them."""

from cloudlet.edge.errors import AWSError


def invalid(what: str) -> AWSError:
    """InvalidParameter, AWS's answer to most bad input: "Invalid parameter: <what>"."""
    return AWSError("InvalidParameter", f"Invalid parameter: {what}")


def invalid_value(message: str) -> AWSError:
    """InvalidParameterValue (code ParameterValueInvalid): bad message attributes."""
    return AWSError("ParameterValueInvalid", message)


def topic_not_found() -> AWSError:
    return AWSError("NotFound", "Topic does not exist", 404)


def subscription_not_found() -> AWSError:
    return AWSError("NotFound", "Subscription does not exist", 404)


def denied(caller_arn: str, action: str, resource: str) -> AWSError:
    return AWSError("AuthorizationError", f"User: {caller_arn} is not authorized to perform: SNS:{action} on "
                    f"resource: {resource} because no resource-based policy allows the SNS:{action} action", 403)
