#!/bin/sh
# cloudlet's guest agent, in every AMI; busybox init runs it (see inittab):
#   agent.sh boot        once, before anything else: mounts, network, metadata, the login key
#   agent.sh user-data   once after that, in the background: the instance's user-data, once
#                        per instance (a new instance from an image made of this disk runs its own)
#   agent.sh workload    once after boot too, in an OCI image's AMI: the image's own process
#                        (/etc/cloudlet/workload, made by `cloudlet image to-ami`), on the console
#   agent.sh ssh         the SSH server in the foreground (init restarts it)
#   agent.sh put-token   (for nc) asks the metadata service for an IMDSv2 token
# An image's AMI keeps its busybox in /usr/lib/cloudlet/bin: last, so that the image's own
# tools come first and busybox's fill the gaps.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/cloudlet/bin
IMDS=http://169.254.169.254/latest
STATE=/var/lib/cloudlet
LOGIN=$(cat /etc/cloudlet/login)  # the user a key pair logs in as

# IMDSv2, which works whether or not the instance requires it. busybox's wget cannot PUT,
# so the token is asked for over nc, by `agent.sh put-token` run with the connection as its
# stdin and stdout: it holds the connection open until the answer is in (piping the request
# into nc would half-close it, and the server drops a half-closed connection). timeout, not
# wget -T, which crashes Debian's busybox-static 1.35.
put_token() {
    printf 'PUT /latest/api/token HTTP/1.0\r\nX-aws-ec2-metadata-token-ttl-seconds: 21600\r\n\r\n'
    sed '1,/^\r$/d' >&2
}
token() {
    TOKEN=$(timeout 10 busybox nc 169.254.169.254 80 -e "$0" put-token 2>&1 >/dev/null)
    case $TOKEN in ""|*[!0-9a-f.]*) TOKEN=; return 1;; esac
}
md() { timeout 10 busybox wget -q -O - --header "X-aws-ec2-metadata-token: $TOKEN" "$IMDS/$1" 2>/dev/null; }
# a token and the instance id, retried for a minute (cloud-init waits as long for EC2's):
# a busy host may be slow to answer, or to open the way to it
identity() {
    end=$(( $(cut -d. -f1 /proc/uptime) + 60 ))
    until token && ID=$(md meta-data/instance-id); do
        if [ "$(cut -d. -f1 /proc/uptime)" -ge "$end" ]; then
            echo "cloudlet-init: no answer from the metadata service ($IMDS) in 60 s"
            return 1
        fi
        sleep 1
    done
}

boot() {
    mkdir -p /dev/pts /run /tmp "$STATE"
    mount -t devpts -o gid=5,mode=620 devpts /dev/pts
    mount -t tmpfs -o mode=755 run /run
    mount -t tmpfs tmpfs /tmp
    mkdir -p /dev/shm && mount -t tmpfs -o mode=1777 shm /dev/shm
    # what programs expect of /dev besides the devices (an image's nginx logs to /dev/stdout)
    for fd in stdin:0 stdout:1 stderr:2; do [ -e "/dev/${fd%:*}" ] || ln -s "/proc/self/fd/${fd#*:}" "/dev/${fd%:*}"; done
    [ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
    for kv in $(cat /proc/cmdline); do
        case $kv in cloudlet.ip=*) IP=${kv#cloudlet.ip=};; cloudlet.gw=*) GW=${kv#cloudlet.gw=};;
                    cloudlet.dns=*) DNS=${kv#cloudlet.dns=};; cloudlet.root=*) ROOT=${kv#cloudlet.root=};; esac
    done
    # a root volume bigger than the image's file system grows into it
    if [ -n "$ROOT" ] && command -v resize2fs >/dev/null; then resize2fs "$ROOT" >/dev/null 2>&1; fi
    ip link set lo up
    if [ -n "$IP" ]; then ip link set eth0 up && ip addr add "$IP" dev eth0 && ip route add default via "$GW"; fi
    [ -n "$DNS" ] && echo "nameserver $DNS" > /etc/resolv.conf
    echo "cloudlet-init: running after $(cut -d' ' -f1 /proc/uptime) s"
    [ -n "$IP" ] || return 0
    identity || return 0
    echo "cloudlet-init: metadata says instance $ID"
    if name=$(md meta-data/local-hostname); then
        name=${name%%.*}
        hostname "$name" && echo "$name" > /etc/hostname
        printf '127.0.0.1 localhost\n::1 localhost\n%s %s\n' "${IP%/*}" "$name" > /etc/hosts  # sudo looks itself up
    fi
    home=$(awk -F: -v u="$LOGIN" '$1 == u { print $6 }' /etc/passwd)
    if key=$(md meta-data/public-keys/0/openssh-key); then
        mkdir -p "$home/.ssh" && echo "$key" > "$home/.ssh/authorized_keys"
        chmod 700 "$home/.ssh" && chmod 600 "$home/.ssh/authorized_keys" && chown -R "$LOGIN:" "$home/.ssh"
        echo "cloudlet-init: the key pair logs in as $LOGIN"  # what `cloudlet ssh` reads
    else
        why=$(timeout 10 busybox wget -q -O /dev/null --header "X-aws-ec2-metadata-token: $TOKEN" \
              "$IMDS/meta-data/public-keys/0/openssh-key" 2>&1)
        echo "cloudlet-init: no key pair (${why:-timed out})"
    fi
}

user_data() {
    identity || exit 0
    [ -e "$STATE/user-data-ran.$ID" ] && exit 0
    md user-data > "$STATE/user-data" || exit 0  # none (404), or no answer: try at the next boot
    touch "$STATE/user-data-ran.$ID"
    chmod 700 "$STATE/user-data"
    if [ "$(head -c 2 "$STATE/user-data")" = "#!" ]; then "$STATE/user-data"; else sh "$STATE/user-data"; fi \
        > /var/log/cloudlet-user-data.log 2>&1
    echo "cloudlet-init: user-data exited $?"
}

workload() {
    [ -x /etc/cloudlet/workload ] || exit 0
    /etc/cloudlet/workload
    echo "cloudlet-init: the image's process exited $?"
}

ssh_server() {
    if [ -x /usr/sbin/sshd ]; then
        mkdir -p /run/sshd
        # ed25519 only: an RSA host key takes seconds to make under TCG
        [ -e /etc/ssh/ssh_host_ed25519_key ] || ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key
        exec /usr/sbin/sshd -D -e -o HostKey=/etc/ssh/ssh_host_ed25519_key
    fi
    if command -v dropbear >/dev/null; then
        exec dropbear -F -E -R -s  # -R: host keys made when first asked for; -s: keys only, no passwords
    fi
    # an image's AMI may have no SSH server: said once, and init has nothing to restart
    echo "cloudlet-init: no SSH server on this image (neither sshd nor dropbear)"
    while :; do sleep 86400; done
}

case $1 in
    boot) boot;;
    user-data) user_data;;
    workload) workload;;
    ssh) ssh_server;;
    put-token) put_token;;
    *) echo "usage: $0 boot|user-data|workload|ssh|put-token" >&2; exit 2;;
esac
