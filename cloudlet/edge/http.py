"""Plain request/response values passed between the HTTP app and the protocol layer."""

from dataclasses import dataclass, field
from urllib.parse import parse_qsl


@dataclass
class Request:
    method: str
    path: str  # percent-decoded path, e.g. "/2015-03-31/functions/my fn"
    raw_path: str  # path as sent on the wire (still percent-encoded)
    query_string: str  # raw query string, without "?"
    headers: dict[str, str]  # lower-case names
    body: bytes = b""

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query_string, keep_blank_values=True)

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)


@dataclass
class Response:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
