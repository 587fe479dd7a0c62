"""An alarm's history items (DescribeAlarmHistory): configuration updates, state updates, actions."""

import json
import time

from cloudlet.store.schema import cloudwatch_alarm_history as history


def record(db, name: str, kind: str, summary: str, data: dict) -> None:
    db.insert(history, name=name, at=int(time.time() * 1000), kind=kind, summary=summary, data=json.dumps(data))
