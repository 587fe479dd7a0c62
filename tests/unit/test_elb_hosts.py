"""The load balancers' block of a hosts file: written beside what others keep there, rewritten
only when it changes, removed whole, and nothing a tenant names can add a line of its own."""

import threading

from cloudlet.control.elb_hosts import HostsBlock


def test_the_block_sits_beside_other_lines_and_goes_whole(tmp_path):
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1\tlocalhost\n")
    hosts.chmod(0o644)
    block = HostsBlock(hosts, tmp_path / "data")
    assert block.write({"web-1a2b.us-east-1.elb.localhost": ["198.18.0.7", "198.18.0.9"]})
    lines = hosts.read_text().splitlines()
    assert lines[0] == "127.0.0.1\tlocalhost" and lines[2:4] == [
        "198.18.0.7\tweb-1a2b.us-east-1.elb.localhost", "198.18.0.9\tweb-1a2b.us-east-1.elb.localhost"]
    assert str(tmp_path / "data") in lines[1] and (hosts.stat().st_mode & 0o777) == 0o644
    assert not block.write({"web-1a2b.us-east-1.elb.localhost": ["198.18.0.7", "198.18.0.9"]})  # unchanged
    hosts.write_text(hosts.read_text() + "10.0.0.1\tlater\n")  # someone else's, after ours
    assert block.write({})
    assert hosts.read_text() == "127.0.0.1\tlocalhost\n10.0.0.1\tlater\n"


def test_two_data_dirs_keep_blocks_of_their_own(tmp_path):
    hosts = tmp_path / "hosts"
    one, two = HostsBlock(hosts, tmp_path / "one"), HostsBlock(hosts, tmp_path / "two")
    threads = [threading.Thread(target=b.write, args=({f"{n}-1.us-east-1.elb.localhost": ["10.0.0.5"]},))
               for b, n in ((one, "a"), (two, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    text = hosts.read_text()
    assert "a-1.us-east-1.elb.localhost" in text and "b-1.us-east-1.elb.localhost" in text
    one.write({})
    assert "a-1." not in hosts.read_text() and "b-1.us-east-1.elb.localhost" in hosts.read_text()


def test_hostile_names_and_data_dirs_add_no_line(tmp_path):
    hosts = tmp_path / "hosts"
    block = HostsBlock(hosts, tmp_path / "data\n10.6.6.6 bank.example")
    block.write({"evil\n10.6.6.6 bank.example": ["10.0.0.5"], "ok-1.us-east-1.elb.localhost": ["10.0.0.5\nx"],
                 "a" * 300 + ".localhost": ["10.0.0.5"], "fine-2.us-east-1.elb.localhost": ["10.0.0.6"]})
    lines = hosts.read_text().splitlines()
    assert len(lines) == 3 and lines[1] == "10.0.0.6\tfine-2.us-east-1.elb.localhost"
    assert all(line.startswith("# cloudlet") for line in (lines[0], lines[2]))
