"""The host's apt sources passed to mmdebstrap: both file formats, only Debian's pockets of
the suite, and a cache key that follows the host's index of them."""

from cloudlet.bootstrap.sources import Source, host_sources, index_key

ONE_LINE = """# the main archive
deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://mirror.local/debian bookworm main contrib
deb-src http://mirror.local/debian bookworm main
deb http://mirror.local/debian bookworm-backports main
deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main
"""

DEB822 = """Types: deb
# a snapshot could go here
URIs: http://mirror.local/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb deb-src
URIs: http://security.local/debian-security
Suites:
 bookworm-security
Components: main

Types: deb
Enabled: no
URIs: http://disabled.local/debian
Suites: bookworm
Components: main
"""


def write_etc(tmp_path):
    etc = tmp_path / "etc"
    (etc / "sources.list.d").mkdir(parents=True)
    (etc / "sources.list").write_text(ONE_LINE)
    (etc / "sources.list.d/debian.sources").write_text(DEB822)
    (etc / "sources.list.d/node.list").write_text("deb https://deb.nodesource.com/node_20.x nodistro main\n")
    (etc / "sources.list.d/ignored.save").write_text("deb http://other.local/debian bookworm main\n")
    return etc


def test_host_sources_keep_debian_pockets_of_the_suite(tmp_path):
    found = host_sources("bookworm", write_etc(tmp_path))
    assert [s.line() for s in found] == [
        "deb http://mirror.local/debian bookworm main contrib",
        "deb http://mirror.local/debian bookworm main",
        "deb http://mirror.local/debian bookworm-updates main",
        "deb http://security.local/debian-security bookworm-security main",
    ]
    assert host_sources("trixie", write_etc(tmp_path / "t")) == []


def test_no_repeats(tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "sources.list").write_text("deb http://m/debian bookworm main\ndeb http://m/debian bookworm main\n")
    assert len(host_sources("bookworm", etc)) == 1


def test_list_names_are_apts():
    source = Source("http://deb.debian.org/debian-security/", "bookworm-security", ("main",))
    assert source.list_name("InRelease") == "deb.debian.org_debian-security_dists_bookworm-security_InRelease"
    assert Source("https://user:pw@m.local/d", "bookworm", ("main",)).list_name("Release") == \
        "m.local_d_dists_bookworm_Release"


def test_index_key_follows_the_hosts_index(tmp_path):
    ours = [Source("http://m.local/debian", "bookworm", ("main",))]
    lists = tmp_path / "lists"
    lists.mkdir()
    empty = index_key(ours, lists)
    (lists / "m.local_debian_dists_bookworm_InRelease").write_text("Date: Sat, 10 Jun 2023\n")
    (lists / "other.local_debian_dists_bookworm_InRelease").write_text("Date: then\n")
    before = index_key(ours, lists)
    assert before != empty
    (lists / "other.local_debian_dists_bookworm_InRelease").write_text("Date: now\n")
    assert index_key(ours, lists) == before  # another repository's update changes nothing
    (lists / "m.local_debian_dists_bookworm_InRelease").write_text("Date: Sat, 17 Jun 2023\n")
    assert index_key(ours, lists) != before
    assert index_key([Source("http://m.local/debian", "bookworm", ("main", "contrib"))], lists) != index_key(ours, lists)
