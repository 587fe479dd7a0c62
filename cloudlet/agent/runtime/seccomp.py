"""The default seccomp profile: an allowlist, everything else fails with EPERM.

Modelled on the idea of Docker's default profile (deny by default, allow what ordinary
programs use, gate the dangerous calls on the capability that makes them safe), written
here as plain data. runc skips names its libseccomp does not know, so listing calls of
other architectures or newer kernels is harmless.
"""

from __future__ import annotations

import platform

EPERM, ENOSYS = 1, 38

# Calls any ordinary program may make: files, memory, signals, time, sockets, IPC
# within the container's own namespaces, process control over its own children.
ALLOWED = """
accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod chown
chown32 clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime
clock_gettime64 clock_nanosleep clock_nanosleep_time64 close close_range connect
copy_file_range creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old
epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit
exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir
fchmod fchmodat fchmodat2 fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr
flistxattr flock fork fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64
fsync ftruncate ftruncate64 futex futex_requeue futex_time64 futex_wait futex_waitv
futex_wake futimesat get_robust_list get_thread_area getcpu getcwd getdents getdents64
getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32 getitimer
getpeername getpgid getpgrp getpid getppid getpriority getrandom getresgid getresgid32
getresuid getresuid32 getrlimit getrusage getsid getsockname getsockopt gettid
gettimeofday getuid getuid32 getxattr inotify_add_watch inotify_init inotify_init1
inotify_rm_watch io_cancel io_destroy io_getevents io_pgetevents io_pgetevents_time64
io_setup io_submit ioctl ioprio_get ioprio_set ipc kill landlock_add_rule
landlock_create_ruleset landlock_restrict_self lchown lchown32 lgetxattr link linkat
listen listxattr llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64 madvise
map_shadow_stack membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod
mknodat mlock mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open
mq_timedreceive mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink mremap
msgctl msgget msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at nanosleep
newfstatat _newselect open openat openat2 pause pidfd_open pidfd_send_signal pipe pipe2
pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv preadv2
prlimit64 process_mrelease pselect6 pselect6_time64 ptrace process_vm_readv
process_vm_writev pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv recv
recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages removexattr rename renameat
renameat2 restart_syscall rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask
rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64
rt_tgsigqueueinfo sched_get_priority_max sched_get_priority_min sched_getaffinity
sched_getattr sched_getparam sched_getscheduler sched_rr_get_interval
sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam
sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop
semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto set_robust_list
set_thread_area set_tid_address setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32
setgroups setgroups32 setitimer setpgid setpriority setregid setregid32 setresgid
setresgid32 setresuid setresuid32 setreuid setreuid32 setrlimit setsid setsockopt
setuid setuid32 setxattr shmat shmctl shmdt shmget shutdown sigaltstack signalfd
signalfd4 sigprocmask sigreturn socketcall socketpair splice stat stat64 statfs statfs64
statx symlink symlinkat sync sync_file_range syncfs sysinfo tee tgkill time timer_create
timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime
timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime
timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask uname unlink unlinkat
utime utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write writev
""".split()

# Calls that are only safe for a process that holds the capability anyway: without
# it the kernel would refuse most of them, but their attack surface stays closed.
BY_CAPABILITY = {
    "CAP_SYS_ADMIN": """bpf clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie
        mount mount_setattr move_mount open_tree perf_event_open pivot_root quotactl
        quotactl_fd setdomainname sethostname setns swapoff swapon syslog umount umount2
        unshare""".split(),
    "CAP_DAC_READ_SEARCH": ["open_by_handle_at"],
    "CAP_SYS_BOOT": ["reboot"],
    "CAP_SYS_CHROOT": ["chroot"],
    "CAP_SYS_MODULE": ["delete_module", "init_module", "finit_module"],
    "CAP_SYS_PACCT": ["acct"],
    "CAP_SYS_PTRACE": ["kcmp", "pidfd_getfd", "process_madvise", "userfaultfd"],
    "CAP_SYS_RAWIO": ["iopl", "ioperm"],
    "CAP_SYS_TIME": ["settimeofday", "stime", "clock_settime", "clock_settime64"],
    "CAP_SYS_TTY_CONFIG": ["vhangup"],
    "CAP_SYS_NICE": ["get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"],
    "CAP_SYSLOG": ["syslog"],
    "CAP_BPF": ["bpf"],
    "CAP_PERFMON": ["perf_event_open"],
}

# Namespace-creating clone flags (NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET):
# without CAP_SYS_ADMIN a process may clone threads and children, not namespaces.
_CLONE_NS_FLAGS = 0x7E020000
_AF_VSOCK = 40
# personality(2) values that only change how the process runs, never what it may do.
_SAFE_PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF]

# 64-bit and 32-bit x86, not x32: Debian's kernels refuse x32 calls anyway (syscall.x32=n),
# and each listed architecture costs runc a filter to compile at every container start.
_ARCHES = {
    "x86_64": (["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"], ["arch_prctl", "modify_ldt"]),
    "aarch64": (["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"], []),
}


def _allow(names, args=None) -> dict:
    rule = {"names": sorted(names), "action": "SCMP_ACT_ALLOW"}
    if args:
        rule["args"] = args
    return rule


def default_profile(capabilities: list[str]) -> dict:
    """The OCI linux.seccomp section for a process with the given capability set."""
    caps = set(capabilities)
    arches, arch_calls = _ARCHES.get(platform.machine(), ([], []))
    allowed = set(ALLOWED) | set(arch_calls)
    for cap, names in BY_CAPABILITY.items():
        if cap in caps:
            allowed |= set(names)
    rules = [_allow(allowed)]
    rules.append(_allow(["socket"], [{"index": 0, "value": _AF_VSOCK, "op": "SCMP_CMP_NE"}]))
    for value in _SAFE_PERSONALITIES:
        rules.append(_allow(["personality"], [{"index": 0, "value": value, "op": "SCMP_CMP_EQ"}]))
    if "CAP_SYS_ADMIN" in caps:
        rules.append(_allow(["clone"]))
    else:
        rules.append(_allow(["clone"], [{"index": 0, "value": _CLONE_NS_FLAGS, "valueTwo": 0,
                                         "op": "SCMP_CMP_MASKED_EQ"}]))
        # clone3 passes its flags in memory where seccomp cannot look: answer ENOSYS so
        # that libc falls back to clone, whose flags the rule above can check.
        rules.append({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSYS})
    return {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": EPERM,
            "architectures": arches, "syscalls": rules}
