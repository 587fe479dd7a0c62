"""The alarm evaluator: every alarm once per period of its own (at once when it is put), over
the metrics as they are stored, its state moved as evaluation.py decides."""

from __future__ import annotations

import json
import logging
import time
from itertools import groupby

from sqlalchemy import select

from cloudlet.control.loop import Loop
from cloudlet.edge.errors import AWSError
from cloudlet.store.schema import cloudwatch_alarms as alarms

from . import actions, composite_states, evaluation
from .alarms import set_state
from .expressions import ExpressionError
from .queries import Evaluation, check_queries

log = logging.getLogger("cloudlet.cloudwatch.alarms")
POLL = 1.0  # seconds between looks for an alarm whose period has ended (high-resolution alarms: 10 s)


def _queries(body: dict) -> tuple[dict, str]:
    """The alarm's metric data queries, and the Id of the one whose values are compared."""
    if "Metrics" in body:
        queries = check_queries(body["Metrics"], "Metrics")
        return queries, next(qid for qid, q in queries.items() if q.get("ReturnData", True))
    stat = {"Metric": {k: body[k] for k in ("Namespace", "MetricName", "Dimensions")}, "Period": body["Period"],
            "Stat": body.get("Statistic") or body["ExtendedStatistic"], **({"Unit": body["Unit"]} if "Unit" in body
                                                                            else {})}
    return {"m": {"Id": "m", "MetricStat": stat}}, "m"


def values(db, body: dict, start: int, end: int, now: int) -> dict[int, float]:
    queries, wanted = _queries(body)
    try:
        got = Evaluation(db, queries, start, end, now).value(wanted)
    except (AWSError, ExpressionError):
        return {}  # an expression with no value here: as good as no data
    return got if isinstance(got, dict) else {}


class AlarmEvaluator(Loop):
    def __init__(self, store):
        self.store = store
        self.start("alarms", POLL)

    def round(self) -> None:
        now = time.time()
        with self.store.begin(write=False) as conn:
            rows = [(r.account_id, r.region, r.name, json.loads(r.body)) for r in conn.execute(select(alarms)).all()]
        due = [(account, region, name) for account, region, name, body in rows
               if not composite_states.is_composite(body) and self._end(body, now) != body.get("_evaluated")]
        for (account, region), names in groupby(sorted(due), key=lambda d: d[:2]):
            with self.store.scoped(account, region) as db:  # one transaction for an account's due alarms
                for _, _, name in names:
                    self._evaluate(db, name, now)
        composite_states.release_due(self.store, rows, now)  # composites' suppression waits that are over

    @staticmethod
    def _end(body: dict, now: float) -> int:
        """Where the alarm's last complete period ends."""
        return int(now) - int(now) % body["Period"]

    def _evaluate(self, db, name: str, now: float) -> None:
        row = db.one(alarms, alarms.c.name == name)
        if row is None:
            return  # deleted since
        body = json.loads(row["body"])
        end = self._end(body, now)
        start = end - body["EvaluationPeriods"] * body["Period"]
        outcome = evaluation.evaluate(body, values(db, body, start, end, int(now)), end, now)
        body["_evaluated"] = end
        if outcome is not None and outcome.state == body["StateValue"] and actions.repeat_due(body, now):
            actions.queue_actions(db.account_id, db.region, body, body["StateValue"])
        row["body"] = json.dumps(body)
        if outcome is None:
            db.update(alarms, alarms.c.name == name, body=row["body"])
        elif set_state(db, row, outcome.state, outcome.reason, outcome.data):
            log.info("alarm %s (account %s): %s", name, db.account_id, outcome.state)
