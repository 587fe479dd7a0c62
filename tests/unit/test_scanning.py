"""The scanner's pure parts: version order per ecosystem, OSV ranges, CVSS v3 scores."""

import pytest

from cloudlet.registry.scanning.advisories import _affected
from cloudlet.registry.scanning.cvss import base_score, rating
from cloudlet.registry.scanning.versions import compare


@pytest.mark.parametrize("a, b, order", [
    ("1.0", "1.0", 0), ("1.0~rc1", "1.0", -1), ("1:0.9", "2.0", 1), ("2.36.1-8+deb12u1", "2.36.1-8", 1),
    ("3.0.11-1~deb12u2", "3.0.11-1", -1), ("1.2.3a", "1.2.3", 1), ("1.10", "1.9", 1), ("0.9-1", "0.9-1.1", -1),
    ("1.0-1", "1.0-1~bpo1", 1), ("1.0+dfsg", "1.0", 1),
])
def test_debian_order(a, b, order):
    result = compare("Debian", a, b)
    assert (result > 0) - (result < 0) == order


def test_pypi_and_apk_order():
    assert compare("PyPI", "2.31.0", "2.31.0rc1") > 0 and compare("PyPI", "1.0.post1", "1.0") > 0
    assert compare("Alpine", "1.2.10-r0", "1.2.9-r3") > 0 and compare("Alpine", "1.2.9-r3", "1.2.9-r10") < 0


EVENTS = [{"introduced": "1.0"}, {"fixed": "1.5"}, {"introduced": "2.0"}, {"last_affected": "2.2"},
          {"introduced": "3.0"}]


@pytest.mark.parametrize("version, hit", [("0.9", False), ("1.0", True), ("1.4", True), ("1.5", False),
                                          ("2.2", True), ("2.3", False), ("3.0", True), ("9.0", True)])
def test_osv_intervals(version, hit):
    assert _affected(EVENTS, "PyPI", version) is hit


@pytest.mark.parametrize("vector, score, word", [
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "CRITICAL"),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1, "MEDIUM"),
    ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N", 5.5, "MEDIUM"),
    ("CVSS:3.0/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6, "LOW"),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0, "CRITICAL"),
])
def test_cvss_scores(vector, score, word):
    assert base_score(vector) == score and rating(score) == word


def test_not_a_cvss_v3_vector():
    assert base_score("AV:N/AC:L/Au:N/C:P/I:P/A:P") is None and base_score("CVSS:3.1/AV:N") is None
