"""`cloudlet compare`: a container and a VM running the same image on this host, measured side by side."""
