"""cloudlet: a self-hosted, AWS-compatible compute cloud that really runs what it is asked to run."""

__version__ = "0.1.0"
