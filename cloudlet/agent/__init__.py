"""The data plane of one host: content, images, snapshots, runtime, network."""
