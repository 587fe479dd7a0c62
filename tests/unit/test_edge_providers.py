"""The edge makes a provider once, on first use, from any thread: `cloudlet up` makes those with
controllers in a thread of its own while requests already arrive, and a provider that reaches
others (use_providers) is handed the way before any request gets it."""

import threading

from cloudlet.edge import dispatch
from cloudlet.edge.dispatch import Edge

entered, release = threading.Event(), threading.Event()


class Slow:
    made = 0

    def __init__(self, config, store):
        Slow.made += 1
        entered.set()
        release.wait(10)  # a provider whose controllers take a while to start
        self.providers = None

    def use_providers(self, providers):
        self.providers = providers


class Quick:
    def __init__(self, config, store):
        pass


def test_one_provider_per_service_wired_before_use_and_others_not_held_up(monkeypatch):
    monkeypatch.setitem(dispatch.PROVIDERS, "slow", f"{__name__}:Slow")
    monkeypatch.setitem(dispatch.PROVIDERS, "quick", f"{__name__}:Quick")
    Slow.made = 0
    entered.clear()
    release.clear()
    edge = Edge(None, None, None)
    got = []
    threads = [threading.Thread(target=lambda: got.append(edge.provider("slow"))) for _ in range(4)]
    for t in threads:
        t.start()
    assert entered.wait(5)
    # another service is made while the slow one is still being made, not after it
    quick = threading.Thread(target=edge.provider, args=("quick",))
    quick.start()
    quick.join(5)
    assert not quick.is_alive() and not release.is_set() and got == []
    release.set()
    for t in threads:
        t.join(5)
    assert Slow.made == 1 and len(got) == 4 and all(p is got[0] for p in got)
    assert all(p.providers == edge.provider for p in got)  # none got it before it was wired
    assert edge.provider("nothing-offered") is None
