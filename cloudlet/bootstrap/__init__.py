"""Base images and AMIs made from Debian packages (nothing comes from Docker Hub)."""
