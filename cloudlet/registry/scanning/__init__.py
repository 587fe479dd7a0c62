"""Image scanning as ECR's basic scanning does it: the image's OS and Python packages,
matched against advisories in OSV format that `cloudlet scan-db import` loaded."""
