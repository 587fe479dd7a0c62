"""The filter pattern language (store/log_patterns.py, shared with the metric filters applied as
events are stored), with AWS's answer to a pattern that does not parse."""

from __future__ import annotations

from cloudlet.edge.errors import AWSError
from cloudlet.store.log_conditions import Pattern, PatternError
from cloudlet.store.log_patterns import compile_pattern as _compile


def compile_pattern(pattern: str | None, invalid: str | None = None) -> Pattern:
    """The compiled pattern, or InvalidParameterException with `invalid` (FilterLogEvents'
    wording by default)."""
    try:
        return _compile(pattern)
    except PatternError:
        raise AWSError("InvalidParameterException", invalid or f"Invalid filter pattern: {pattern}") from None
