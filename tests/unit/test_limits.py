"""Body limits per operation, from AWS's 1 MB default and the model's bigger members."""

from cloudlet.edge import limits


def everything(_name):
    return True


def test_the_default_is_a_megabyte():
    assert limits.body_limit("ecs", "ListClusters", everything) == 1 << 20


def test_a_layer_part_travels_base64d():
    # layerPartBlob may hold 20,971,520 bytes, 27,962,028 once base64'd
    assert limits.body_limit("ecr", "UploadLayerPart", everything) >= 27_962_028 + (1 << 20)


def test_putlogevents_takes_a_full_batch_however_it_is_escaped():
    assert limits.body_limit("logs", "PutLogEvents", everything) >= 6 * 1_048_576


def test_only_implemented_operations_get_more():
    assert limits.body_limit("ecr", "UploadLayerPart", lambda name: False) == limits.DEFAULT
    # the query protocols name the operation in the body: the service's largest implemented one counts
    assert limits.body_limit("ecr", None, lambda name: name == "PutImage") == \
        limits.body_limit("ecr", "PutImage", everything)
