"""What a Debian tree loses before it becomes a layer: files that differ from run to run,
the host's files, and what Docker's slim images leave out."""

from cloudlet.bootstrap import debian


def touch(path, text="x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_normalize(tmp_path):
    kept = ["usr/share/doc/bash/copyright", "usr/share/zoneinfo/UTC", "var/lib/dpkg/status", "etc/shadow",
            "usr/lib/python3/dist-packages/x.py"]
    gone = ["usr/share/doc/bash/README", "usr/share/man/man1/ls.1.gz", "usr/share/locale/de/LC_MESSAGES/x.mo",
            "usr/share/info/dir", "var/lib/dpkg/status-old", "var/cache/ldconfig/aux-cache", "etc/passwd-",
            "var/log/dpkg.log", "var/log/apt/term.log", "var/cache/apt/pkgcache.bin",
            "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease", "tmp/junk", "dev/null",
            "usr/lib/python3/dist-packages/__pycache__/x.cpython-311.pyc"]
    for rel in kept + gone:
        touch(tmp_path / rel)
    touch(tmp_path / "etc/hostname", "buildhost\n")
    touch(tmp_path / "etc/machine-id", "0123456789abcdef\n")
    (tmp_path / "etc/resolv.conf").symlink_to("/run/systemd/resolve/stub-resolv.conf")
    (tmp_path / "usr/share/doc/gone-pkg").mkdir()
    (tmp_path / "usr/share/doc/link").symlink_to("bash")

    debian.normalize(tmp_path)

    assert all((tmp_path / rel).exists() for rel in kept)
    assert not [rel for rel in gone if (tmp_path / rel).exists()]
    for rel in ("etc/hostname", "etc/machine-id", "etc/resolv.conf"):
        assert not (tmp_path / rel).is_symlink() and (tmp_path / rel).read_text() == ""
    for rel in ("var/log", "var/lib/apt/lists", "tmp", "dev", "usr/share/man", "usr/share/locale"):
        assert (tmp_path / rel).is_dir()  # emptied, not removed: dpkg owns them
    assert not (tmp_path / "usr/share/man/man1").exists()
    assert not (tmp_path / "usr/share/doc/gone-pkg").exists() and not (tmp_path / "usr/share/doc/link").is_symlink()


def test_slim_rules_last_match_wins():
    assert debian._excluded("/usr/share/doc/bash/changelog.gz")
    assert not debian._excluded("/usr/share/doc/bash/copyright")
    assert debian._excluded("/usr/share/man/de/man1/ls.1.gz")  # `*` crosses directories, as in dpkg
    assert not debian._excluded("/usr/share/zoneinfo/UTC")
    assert not debian._excluded("/usr/share/man")
