"""Telling the network reconciler that what traffic may do has changed (a rule, a route, an
association, an address): it applies the store's state to the data plane at once, instead
of at its next look."""


def wake_network(ctx) -> None:
    ctx.config.network_changed()
