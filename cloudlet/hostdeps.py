"""Host programs cloudlet drives, and the Debian packages that provide them."""

# program -> Debian package
PROGRAMS = {
    "runc": "runc",
    "conmon": "conmon",
    "nft": "nftables",
    "ip": "iproute2",
    "mmdebstrap": "mmdebstrap",
    "busybox": "busybox-static",
    "qemu-system-x86_64": "qemu-system-x86",
    "qemu-img": "qemu-utils",
    "mkfs.ext4": "e2fsprogs",
    "skopeo": "skopeo",
    "podman": "podman",
    "docker-registry": "docker-registry",
    "ssh": "openssh-client",
    "newuidmap": "uidmap",
    "lz4": "lz4",  # Debian's cloud kernel is LZ4-compressed: VMs boot it unpacked
    "dropbear": "dropbear-bin",  # the busybox AMI's SSH server, copied in with its libraries
    "setpriv": "util-linux",  # what an image's AMI changes to the image's user with (bootstrap/workload.py)
    "haproxy": "haproxy",  # the load balancers' data plane (agent/lb)
    # Not driven by cloudlet: the tests check its key files with them, bench/vpc.py measures with iperf3,
    # bench/elb.py with wrk, and the compare report's test renders its page with chromium.
    "openssl": "openssl",
    "puttygen": "putty-tools",
    "iperf3": "iperf3",
    "wrk": "wrk",
    "chromium": "chromium",
}
