"""Crontab and interval schedules: parsing, errors and next firing times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minos.networks import (
    Crontab,
    Interval,
    InvalidScheduleException,
    parse_schedule,
)

FRIDAY = datetime(2024, 3, 1, 10, 7, 30, tzinfo=UTC)  # a Friday


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "moment", "expected"),
    [
        ("* * * * *", FRIDAY, at(2024, 3, 1, 10, 8)),
        ("*/15 * * * *", FRIDAY, at(2024, 3, 1, 10, 15)),
        ("7 * * * *", at(2024, 3, 1, 10, 7), at(2024, 3, 1, 11, 7)),
        ("0 9 * * 1-5", FRIDAY, at(2024, 3, 4, 9, 0)),
        ("0 9 * * mon-fri", FRIDAY, at(2024, 3, 4, 9, 0)),
        ("30 23 31 * *", FRIDAY, at(2024, 3, 31, 23, 30)),
        ("0 0 31 * *", at(2024, 4, 1), at(2024, 5, 31)),
        ("0 0 1 1 *", FRIDAY, at(2025, 1, 1)),
        ("0 0 29 2 *", FRIDAY, at(2028, 2, 29)),
        ("0 0 13 * fri", at(2024, 3, 2), at(2024, 3, 8)),
        ("0 0 13 * 5", at(2024, 3, 9), at(2024, 3, 13)),
        ("0 0 * * 7", FRIDAY, at(2024, 3, 3)),
        ("0 0 * * 0", FRIDAY, at(2024, 3, 3)),
        ("5,10-20/5 1 * jan-mar *", FRIDAY, at(2024, 3, 2, 1, 5)),
        ("50/5 * * * *", at(2024, 3, 1, 10, 56), at(2024, 3, 1, 11, 50)),
        ("0 */6 * * *", FRIDAY, at(2024, 3, 1, 12, 0)),
        ("59 23 31 12 *", at(2024, 12, 31, 23, 59), at(2025, 12, 31, 23, 59)),
        ("@hourly", FRIDAY, at(2024, 3, 1, 11, 0)),
        ("@daily", FRIDAY, at(2024, 3, 2)),
        ("@midnight", FRIDAY, at(2024, 3, 2)),
        ("@weekly", FRIDAY, at(2024, 3, 3)),
        ("@monthly", FRIDAY, at(2024, 4, 1)),
        ("@yearly", FRIDAY, at(2025, 1, 1)),
        ("@annually", FRIDAY, at(2025, 1, 1)),
    ],
)
def test_next_firing_time(
    expression: str, moment: datetime, expected: datetime
) -> None:
    assert parse_schedule(expression).next_after(moment) == expected


def test_other_timezones_are_converted_to_utc() -> None:
    from datetime import timezone

    paris = timezone(timedelta(hours=1))
    moment = datetime(2024, 3, 1, 11, 7, tzinfo=paris)  # 10:07 UTC
    assert Crontab("0 * * * *").next_after(moment) == at(2024, 3, 1, 11, 0)


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("@every 1s", 1.0),
        ("@every 0.05s", 0.05),
        ("@every 250ms", 0.25),
        ("@every 5m", 300.0),
        ("@every 2h", 7200.0),
        ("@EVERY   3S", 3.0),
    ],
)
def test_intervals(expression: str, seconds: float) -> None:
    schedule = parse_schedule(expression)
    assert isinstance(schedule, Interval)
    assert schedule.next_after(FRIDAY) == FRIDAY + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("", "expected a crontab"),
        ("* * *", "expected 5 fields"),
        ("* * * * * *", "seconds are not a crontab field"),
        ("60 * * * *", "minute 60 is out of range 0-59"),
        ("* 24 * * *", "hour 24 is out of range 0-23"),
        ("* * 0 * *", "day of month 0 is out of range 1-31"),
        ("* * * 13 *", "month 13 is out of range 1-12"),
        ("* * * * 8", "day of week 8 is out of range 0-7"),
        ("*/0 * * * *", "step '0'"),
        ("*/x * * * *", "step 'x'"),
        ("5-1 * * * *", "goes backwards"),
        ("a * * * *", "minute value 'a' is not a number"),
        ("1,,2 * * * *", "minute value '' is not a number"),
        ("* * * foo *", "month value 'foo'"),
        ("0 0 30 2 *", "never matches a date"),
        ("@reboot", "unknown alias"),
        ("@every 0s", "must be positive"),
        ("@every 5 days", "expected '@every <number><unit>'"),
        ("@every s", "expected '@every <number><unit>'"),
    ],
)
def test_invalid_expressions_name_the_problem(expression: str, message: str) -> None:
    with pytest.raises(
        InvalidScheduleException, match=message.replace("*", r"\*")
    ) as info:
        parse_schedule(expression)
    if expression:
        assert repr(" ".join(expression.split())) in str(info.value)


def _matches(crontab: Crontab, moment: datetime) -> bool:
    weekday = (moment.weekday() + 1) % 7
    day = moment.day in crontab.days
    dow = weekday in crontab.weekdays
    fields = crontab.expression.split()
    if not fields[2].startswith("*") and not fields[4].startswith("*"):
        day_ok = day or dow
    else:
        day_ok = day and dow
    return (
        moment.minute in crontab.minutes
        and moment.hour in crontab.hours
        and moment.month in crontab.months
        and day_ok
    )


def _field(low: int, high: int) -> st.SearchStrategy[str]:
    number = st.integers(low, high)
    return st.one_of(
        st.just("*"),
        number.map(str),
        st.tuples(number, number).map(lambda p: f"{min(p)}-{max(p)}"),
        st.integers(1, 7).map(lambda s: f"*/{s}"),
        st.lists(number, min_size=1, max_size=3).map(lambda v: ",".join(map(str, v))),
    )


@settings(max_examples=150, deadline=None)
@given(
    minute=_field(0, 59),
    hour=_field(0, 23),
    day=st.one_of(st.just("*"), _field(1, 28)),
    weekday=_field(0, 7),
    moment=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)
    ).map(lambda d: d.replace(tzinfo=UTC)),
)
def test_next_is_the_first_matching_minute(
    minute: str, hour: str, day: str, weekday: str, moment: datetime
) -> None:
    crontab = Crontab(f"{minute} {hour} {day} * {weekday}")
    found = crontab.next_after(moment)

    assert found > moment
    assert found.second == 0 and found.microsecond == 0
    assert _matches(crontab, found)
    # No matching minute in between (checked minute by minute up to 3 days).
    current = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
    limit = min(found, current + timedelta(days=3))
    while current < limit:
        assert not _matches(crontab, current), current
        current += timedelta(minutes=1)
