"""Values out of range or blank are refused at load time, naming the key."""

import pytest

from minos.common import MinosConfig, MinosConfigException

BASE = {
    "service": {"name": "ranges"},
    "rest": {"host": "127.0.0.1", "port": 8080},
    "broker": {
        "host": "127.0.0.1",
        "port": 9092,
        "queue": {"database": "db", "records": 10, "retry": 2},
    },
}


def _with(path: str, value):
    data = {k: dict(v) for k, v in BASE.items()}
    data["broker"]["queue"] = dict(BASE["broker"]["queue"])
    *parents, last = path.split(".")
    target = data
    for part in parents:
        target = target[part]
    target[last] = value
    return data


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("rest.port", -1),
        ("rest.port", 70000),
        ("broker.port", 0),
        ("broker.queue.records", 0),
        ("broker.queue.records", -5),
        ("broker.queue.retry", -1),
        ("service.name", ""),
        ("rest.host", "  "),
    ],
)
def test_out_of_range_or_blank(path, value):
    with pytest.raises(MinosConfigException) as info:
        MinosConfig(_with(path, value), with_environment=False)
    assert path in str(info.value)


def test_bad_environment_value_names_the_variable():
    with pytest.raises(MinosConfigException) as info:
        MinosConfig(BASE, environ={"MINOS_BROKER_QUEUE_RECORDS": "-5"})
    assert "MINOS_BROKER_QUEUE_RECORDS" in str(info.value)


def test_edges_are_accepted():
    config = MinosConfig(
        _with("broker.queue.retry", 0), environ={"MINOS_REST_PORT": "65535"}
    )
    assert (config.rest.port, config.broker.queue.retry) == (65535, 0)
