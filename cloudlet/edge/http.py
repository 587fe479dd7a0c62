"""Plain request/response values passed between the HTTP app and the protocol layer."""

from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import parse_qsl

# More fields than any model's deepest request needs; bounds the work a hostile body can cause.
MAX_FORM_FIELDS = 20000


@dataclass
class Request:
    method: str
    path: str  # percent-decoded path, e.g. "/2015-03-31/functions/my fn"
    raw_path: str  # path as sent on the wire (still percent-encoded)
    query_string: str  # raw query string, without "?"
    headers: dict[str, str]  # lower-case names
    body: bytes = b""
    source: str = ""  # the client's address, which failed logins are counted by

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query_string, keep_blank_values=True)

    @cached_property
    def form(self) -> list[tuple[str, str]]:
        """Query-string pairs followed by those of a form-encoded body.
        Raises ValueError for a body that is not UTF-8 or has too many fields."""
        pairs = parse_qsl(self.query_string, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
        if self.is_form:
            pairs += parse_qsl(self.body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
        return pairs

    @property
    def is_form(self) -> bool:
        return "x-www-form-urlencoded" in self.header("content-type", "")

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)


@dataclass
class Response:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
