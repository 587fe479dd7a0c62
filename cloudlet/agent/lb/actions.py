"""What a frontend does with a request: rules in priority order, then its default.

haproxy runs every `http-request` line before any `use_backend`, whatever their order in
the file, so a rule's conditions cannot guard its action directly (a later redirect would
beat an earlier forward). Instead the first rule that matches writes its number into
txn.lbrule, and each action then tests that number alone."""

from __future__ import annotations

import hashlib
from pathlib import Path

from . import words
from .acls import acl_lines
from .errors import LbError
from .plan import Action, FixedResponse, Forward, Frontend, Redirect

NO_RULE = "!{ var(txn.lbrule) -m found }"
STICKY_COOKIE = "lbtg"  # which backend of a weighted forward a client keeps
_MAX_BODY = 4096  # bytes: a reply must fit in one of haproxy's buffers with its headers


class Actions:
    """Frontend lines for its rules and default; bodies: file name -> content, to be written
    beside the config (a body never enters the config, so nothing in it is syntax)."""

    def __init__(self, frontend: Frontend, backends: dict[str, str], directory: Path):
        self.frontend, self.backends, self.directory = frontend, backends, directory
        self.bodies: dict[str, bytes] = {}
        self.requests: list[str] = []  # http-request lines, in order
        self.routes: list[str] = []  # use_backend lines, in order
        self.responses: list[str] = []

    def lines(self) -> list[str]:
        rules = sorted(self.frontend.rules, key=lambda r: r.priority)
        if len({r.priority for r in rules}) != len(rules):
            raise LbError(f"frontend {self.frontend.name}: two rules have the same priority")
        if self.frontend.mode == "tcp" and rules:
            raise LbError(f"frontend {self.frontend.name}: a tcp frontend has no rules")
        acls = []
        for n, rule in enumerate(rules, 1):
            if not rule.conditions:
                raise LbError(f"rule {rule.priority} has no condition")
            labels = [f"r{n}c{j}" for j in range(len(rule.conditions))]
            for label, condition in zip(labels, rule.conditions):
                acls += acl_lines(label, condition)
            self.requests.append(f"http-request set-var(txn.lbrule) int({n}) if {NO_RULE} {' '.join(labels)}")
        for n, rule in enumerate(rules, 1):
            self.action(rule.action, f"{{ var(txn.lbrule) -m int {n} }}")
        self.action(self.frontend.default, NO_RULE if rules else "")
        return acls + self.requests + self.routes + self.responses

    def action(self, action: Action, guard: str) -> None:
        if isinstance(action, Forward):
            return self.forward(action, guard)
        if self.frontend.mode != "http":
            raise LbError(f"frontend {self.frontend.name}: a tcp frontend can only forward")
        cond = f" if {guard}" if guard else ""
        if isinstance(action, Redirect):
            self.requests.append(f"http-request redirect location {words.quote(self.location(action))} "
                                 f"code {words.integer(action.status, 'redirect status', 301, 302)}{cond}")
        elif isinstance(action, FixedResponse):
            self.requests.append(f"http-request return {self.reply(action)}{cond}")
        else:
            raise LbError(f"unknown action {type(action).__name__}")

    def forward(self, action: Forward, guard: str) -> None:
        """Each backend in turn takes rand(the weight left) < its weight: independent draws
        whose product gives every backend exactly its share of the total."""
        weighted = []
        for backend, weight in action.backends:
            if backend not in self.backends:
                raise LbError(f"forward to backend {backend!r}, which the plan does not have")
            if self.backends[backend] != self.frontend.mode:
                raise LbError(f"backend {backend} is not in {self.frontend.mode} mode")
            if words.integer(weight, "forward weight", 0, 999):
                weighted.append((backend, weight))
        if not weighted:
            raise LbError(f"frontend {self.frontend.name}: a forward needs a backend of some weight")
        sticky = action.sticky_seconds is not None and len(weighted) > 1
        if sticky and self.frontend.mode != "http":
            raise LbError("only an http forward can keep a client on a backend")
        if sticky:
            seconds = words.integer(action.sticky_seconds, "stickiness duration", 1, 604800)
            for backend, _ in weighted:  # a cookie may only name a backend of this same forward
                self.routes.append(f"use_backend {backend} if {guard} {{ req.cook({STICKY_COOKIE}) -m str {backend} }}")
            cond = f" if {guard}" if guard else ""
            self.responses.append(f"http-response add-header Set-Cookie "
                                  f"'{STICKY_COOKIE}=%[be_name]; Max-Age={seconds}; Path=/'{cond}")
        left = sum(w for _, w in weighted)
        for backend, weight in weighted[:-1]:
            self.routes.append(f"use_backend {backend} if {guard} {{ rand({left}) -m int lt {weight} }}")
            left -= weight
        self.routes.append(f"use_backend {weighted[-1][0]}" + (f" if {guard}" if guard else ""))

    def location(self, r: Redirect) -> str:
        """A log-format Location: tenant text literal (%% doubled), the #{...} of each part the
        request's own, each part left None the request's own."""
        tls = any(b.certificates for b in self.frontend.binds)
        subs = {"#{protocol}": "https" if tls else "http", "#{host}": "%[req.hdr(host),field(1,:)]",
                "#{port}": "%[dst_port]", "#{path}": "%[path,regsub(^/,)]", "#{query}": "%[query]"}

        def part(value: str | None, default: str, what: str) -> str:
            out = words.logformat(default if value is None else value, what)
            for token, fetch in subs.items():
                out = out.replace(token, fetch)
            return out

        protocol = part(r.protocol and r.protocol.lower(), "#{protocol}", "redirect protocol")
        if protocol not in ("http", "https"):
            raise LbError(f"redirect protocol {r.protocol!r} must be HTTP, HTTPS or #{{protocol}}")
        path = part(r.path, "/#{path}", "redirect path")
        if not path.startswith("/"):
            raise LbError(f"redirect path {r.path!r} must start with /")
        query = "%[url,regsub(^[^?]*,)]" if r.query in (None, "#{query}") else (
            "?" + part(r.query, "", "redirect query") if r.query else "")
        return (f"{protocol}://{part(r.host, '#{host}', 'redirect host')}:{part(r.port, '#{port}', 'redirect port')}"
                f"{path}{query}")

    def reply(self, f: FixedResponse) -> str:
        body = f.body.encode() if isinstance(f.body, str) else b""
        if len(body) > _MAX_BODY:
            raise LbError(f"response body is longer than {_MAX_BODY} bytes")
        name = f"body-{hashlib.sha256(body).hexdigest()[:16]}"
        self.bodies[name] = body
        head = f"status {words.integer(f.status, 'response status', 200, 599)}"
        if body and f.content_type:  # haproxy gives no content-type to an empty reply
            head += f" content-type {words.quote(f.content_type, 'content type')}"
        return f"{head} file {words.path(str(self.directory / name), 'body file')}"
