"""When periodic tasks fire: crontab expressions and fixed intervals.

``parse_schedule`` accepts:

- five crontab fields, ``minute hour day-of-month month day-of-week``, each
  ``*``, a number, a range ``a-b``, a step ``*/n``, ``a-b/n`` or ``a/n``
  (from ``a`` to the field's maximum), or a comma-separated list of those.
  Months and week days may be written as English three-letter names
  (``jan``, ``mon``); week day 0 and 7 are both Sunday. As in cron, when
  both day fields are restricted a day matches if *either* matches.
  Times are UTC.
- the aliases ``@yearly`` (``@annually``), ``@monthly``, ``@weekly``,
  ``@daily`` (``@midnight``) and ``@hourly``.
- ``@every <number><unit>`` with unit ``ms``, ``s``, ``m`` or ``h``
  (``@every 1s``, ``@every 0.5s``, ``@every 5m``): a fixed interval, measured
  from the previous firing time, for sub-minute schedules and fast tests.
  The period must be at least one microsecond and at most 366 days.

Numbers are ASCII decimal digits only.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..exceptions import MinosNetworkException

__all__ = [
    "Schedule",
    "Crontab",
    "Interval",
    "InvalidScheduleException",
    "parse_schedule",
]


class InvalidScheduleException(MinosNetworkException):
    """A crontab or interval expression cannot be understood."""


class Schedule(ABC):
    """A rule giving the firing times of a periodic task."""

    @abstractmethod
    def next_after(self, moment: datetime) -> datetime:
        """The first firing time strictly after ``moment`` (aware, UTC)."""


_ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

_EVERY = re.compile(
    r"^@every\s+([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h)$", re.IGNORECASE | re.ASCII
)
# The longest interval: beyond it, use a crontab such as ``@yearly``.
_MAX_INTERVAL = timedelta(days=366)
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}

_MONTHS = ("jan feb mar apr may jun jul aug sep oct nov dec").split()
_WEEKDAYS = ("sun mon tue wed thu fri sat").split()


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    first_named: int = 0


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31),
    _Field("month", 1, 12, tuple(_MONTHS), 1),
    _Field("day of week", 0, 7, tuple(_WEEKDAYS), 0),
)

# How far ahead to look for a matching date before declaring there is none:
# far enough for 29 February under every rule of the Gregorian calendar.
_SEARCH_YEARS = 9


def parse_schedule(expression: str) -> Schedule:
    """The schedule an ``enroute.periodic.event`` expression describes."""
    if not isinstance(expression, str) or not expression.strip():
        raise InvalidScheduleException(
            f"Invalid schedule {expression!r}: expected a crontab such as "
            "'*/5 * * * *' or an interval such as '@every 10s'"
        )
    text = " ".join(expression.split())
    if text.lower().startswith("@every"):
        return Interval.parse(text)
    if text.startswith("@"):
        if text.lower() not in _ALIASES:
            raise InvalidScheduleException(
                f"Invalid schedule {expression!r}: unknown alias; use one of "
                f"{', '.join(sorted(_ALIASES))} or '@every <n>s'"
            )
        return Crontab(_ALIASES[text.lower()])
    return Crontab(text)


class Interval(Schedule):
    """Fires every ``seconds`` seconds."""

    def __init__(self, seconds: float) -> None:
        try:
            period = timedelta(seconds=seconds)
        except (OverflowError, ValueError, TypeError):
            period = None
        if period is None or not period > timedelta(0):
            raise InvalidScheduleException(
                f"Invalid interval of {seconds!r} seconds: it must be positive "
                "(one microsecond at least)"
            )
        if period > _MAX_INTERVAL:
            raise InvalidScheduleException(
                f"Invalid interval of {seconds!r} seconds: longer than "
                f"{_MAX_INTERVAL.days} days; use a crontab such as '@yearly'"
            )
        self.period = period

    @classmethod
    def parse(cls, expression: str) -> Interval:
        """Read ``@every <number><unit>``."""
        match = _EVERY.match(expression.strip())
        if match is None:
            raise InvalidScheduleException(
                f"Invalid interval {expression!r}: expected '@every <number><unit>' "
                "with unit ms, s, m or h, such as '@every 10s'"
            )
        amount, unit = match.groups()
        seconds = float(amount) * _UNIT_SECONDS[unit.lower()]
        try:
            return cls(seconds)
        except InvalidScheduleException as exc:
            problem = exc.message.partition(": ")[2]
            raise InvalidScheduleException(
                f"Invalid interval {expression!r}: {problem}"
            ) from None

    def next_after(self, moment: datetime) -> datetime:
        return moment + self.period

    def __repr__(self) -> str:
        return f"Interval({self.period.total_seconds()!r})"


class Crontab(Schedule):
    """A five-field crontab expression, evaluated in UTC."""

    # Limitation: always UTC; a schedule in local time (with its daylight
    # saving jumps) would need a time zone argument and zoneinfo.

    def __init__(self, expression: str) -> None:
        self.expression = expression
        fields = expression.split()
        if len(fields) != len(_FIELDS):
            hint = ""
            if len(fields) == 6:
                hint = "; seconds are not a crontab field, use '@every <n>s'"
            raise InvalidScheduleException(
                f"Invalid crontab {expression!r}: expected 5 fields "
                f"(minute hour day-of-month month day-of-week), got {len(fields)}"
                f"{hint}"
            )
        values = [
            self._parse_field(text, spec)
            for text, spec in zip(fields, _FIELDS, strict=True)
        ]
        self.minutes, self.hours, self.days, self.months, weekdays = (
            tuple(sorted(v)) for v in values
        )
        self.weekdays = tuple(sorted({d % 7 for d in weekdays}))
        # cron's rule: both day fields restricted -> either may match.
        self._days_restricted = not fields[2].startswith("*")
        self._weekdays_restricted = not fields[4].startswith("*")

        try:
            self.next_after(datetime(2000, 1, 1, tzinfo=UTC))
        except InvalidScheduleException:
            raise InvalidScheduleException(
                f"Invalid crontab {expression!r}: it never matches a date"
            ) from None

    def _parse_field(self, text: str, spec: _Field) -> set[int]:
        result: set[int] = set()
        for item in text.split(","):
            result |= self._parse_item(item, spec)
        return result

    def _parse_item(self, item: str, spec: _Field) -> set[int]:
        base, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not _is_number(step_text) or int(step_text) == 0:
                raise self._error(
                    f"{spec.name} step {step_text!r} in {item!r} must be a "
                    "positive integer"
                )
            step = int(step_text)

        if base == "*":
            low, high = spec.low, spec.high
        elif "-" in base:
            first, _, last = base.partition("-")
            low, high = self._value(first, spec), self._value(last, spec)
            if low > high:
                raise self._error(
                    f"{spec.name} range {base!r} goes backwards; write it "
                    f"low-high, such as '{high}-{low}'"
                )
        else:
            low = self._value(base, spec)
            high = spec.high if slash else low
        return set(range(low, high + 1, step))

    def _value(self, text: str, spec: _Field) -> int:
        lowered = text.lower()
        if lowered in spec.names:
            return spec.names.index(lowered) + spec.first_named
        if not _is_number(text):
            raise self._error(f"{spec.name} value {text!r} is not a number")
        value = int(text)
        if not spec.low <= value <= spec.high:
            raise self._error(
                f"{spec.name} {value} is out of range {spec.low}-{spec.high}"
            )
        return value

    def _error(self, problem: str) -> InvalidScheduleException:
        return InvalidScheduleException(
            f"Invalid crontab {self.expression!r}: {problem}"
        )

    def _day_matches(self, moment: datetime) -> bool:
        day = moment.day in self.days
        weekday = (moment.weekday() + 1) % 7 in self.weekdays
        if self._days_restricted and self._weekdays_restricted:
            return day or weekday
        return day and weekday

    def next_after(self, moment: datetime) -> datetime:
        current = moment.astimezone(UTC).replace(second=0, microsecond=0)
        current += timedelta(minutes=1)
        last_year = current.year + _SEARCH_YEARS
        while current.year <= last_year:
            if current.month not in self.months:
                current = _first_of_next_month(current)
                continue
            if not self._day_matches(current):
                current = current.replace(hour=0, minute=0) + timedelta(days=1)
                continue
            hour = _next_in(self.hours, current.hour)
            if hour is None:
                current = current.replace(hour=0, minute=0) + timedelta(days=1)
                continue
            if hour != current.hour:
                current = current.replace(hour=hour, minute=0)
            minute = _next_in(self.minutes, current.minute)
            if minute is None:
                current = current.replace(minute=0) + timedelta(hours=1)
                continue
            return current.replace(minute=minute)
        raise self._error(f"no matching time within {_SEARCH_YEARS} years")

    def __repr__(self) -> str:
        return f"Crontab({self.expression!r})"


def _is_number(text: str) -> bool:
    """ASCII decimal digits only: ``str.isdigit`` also accepts '²' or '٣'."""
    return text.isascii() and text.isdigit()


def _next_in(values: tuple[int, ...], start: int) -> int | None:
    for value in values:
        if value >= start:
            return value
    return None


def _first_of_next_month(moment: datetime) -> datetime:
    year, month = divmod(moment.month, 12)
    return moment.replace(
        year=moment.year + year, month=month + 1, day=1, hour=0, minute=0
    )
