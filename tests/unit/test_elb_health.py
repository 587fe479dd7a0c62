"""HAProxy's view of a server as ELB's target health: AWS's states and reasons."""

from cloudlet.agent.lb.stats import ServerHealth
from cloudlet.control.elb_health import target_health


def test_checks_become_aws_states_and_reasons():
    assert target_health(ServerHealth("up", "L7OK", 200)) == ("healthy", None)
    assert target_health(ServerHealth("down", "L7STS", 404)) == ("unhealthy", "Target.ResponseCodeMismatch:404")
    assert target_health(ServerHealth("down", "L4TOUT", None)) == ("unhealthy", "Target.Timeout")
    assert target_health(ServerHealth("down", "L7TOUT", None)) == ("unhealthy", "Target.Timeout")
    assert target_health(ServerHealth("down", "L4CON", None)) == ("unhealthy", "Target.FailedHealthChecks")
    for undecided in ("init", "drain", "maint"):  # nothing said until a check decides, or of what goes
        assert target_health(ServerHealth(undecided, None, None)) is None


def test_a_new_target_held_out_of_traffic_turns_healthy_once_a_check_passes():
    assert target_health(ServerHealth("drain", "L7OK", 200), "initial") == ("healthy", None)
    assert target_health(ServerHealth("drain", "INI", None), "initial") is None      # not checked yet
    assert target_health(ServerHealth("drain", "L7OK", 200), "draining") is None     # going: left alone
