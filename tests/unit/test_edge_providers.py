"""The edge makes a provider once, on first use, from any thread: `cloudlet up` makes those with
controllers in a thread of its own while requests already arrive, and a provider that reaches
others (use_providers) is handed the way before any request gets it."""

import threading
import time

from cloudlet.edge import dispatch
from cloudlet.edge.dispatch import Edge


class Slow:
    made = 0

    def __init__(self, config, store):
        Slow.made += 1
        time.sleep(0.2)  # a provider whose controllers take a while to start
        self.providers = None

    def use_providers(self, providers):
        time.sleep(0.1)
        self.providers = providers


class Quick:
    def __init__(self, config, store):
        pass


def test_one_provider_per_service_wired_before_use_and_others_not_held_up(monkeypatch):
    monkeypatch.setitem(dispatch.PROVIDERS, "slow", f"{__name__}:Slow")
    monkeypatch.setitem(dispatch.PROVIDERS, "quick", f"{__name__}:Quick")
    Slow.made = 0
    edge = Edge(None, None, None)
    got, quick_after = [], []
    threads = [threading.Thread(target=lambda: got.append(edge.provider("slow"))) for _ in range(4)]
    started = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(0.05)  # the slow one is being made
    edge.provider("quick")
    quick_after.append(time.monotonic() - started)
    for t in threads:
        t.join()
    assert Slow.made == 1 and len(got) == 4 and all(p is got[0] for p in got)
    assert all(p.providers == edge.provider for p in got)  # none got it before it was wired
    assert quick_after[0] < 0.2  # another service is made meanwhile, not after it
    assert edge.provider("nothing-offered") is None
