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


def test_a_server_down_whose_last_check_passed_is_on_its_way_up_not_unhealthy():
    # a new target held down, or an unhealthy one recovering: neither changes until it is up
    assert target_health(ServerHealth("down", "L7OK", 200)) is None
    assert target_health(ServerHealth("down", "L4OK", None)) is None
