"""Reconcilers: they move what runs toward what the store says should run."""
