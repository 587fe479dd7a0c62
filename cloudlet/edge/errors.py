"""The one exception type that crosses the edge: an AWS error with its code, message and status."""


class AWSError(Exception):
    """An error AWS would return. `sender` is False for faults on our side (5xx)."""

    def __init__(self, code: str, message: str, status: int = 400, sender: bool = True,
                 fields: dict | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.sender = sender
        self.fields = fields or {}  # members the error's shape has besides its message (JSON protocols)
