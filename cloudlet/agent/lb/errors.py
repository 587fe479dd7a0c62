class LbError(Exception):
    """A plan that cannot be run (refused by the renderer or by haproxy itself), or a proxy
    that does not answer; the message says why, with haproxy's own words where it had some."""
