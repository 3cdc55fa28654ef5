"""Business hours (营业时间): when a team or a channel serves customers, and time counted in them.

A schedule is kept in the business's own time zone: intervals of the wall clock per weekday,
holidays (dates it is closed) and extra working days (调休: a date worked with hours of its
own). Instants are UTC everywhere else, so the arithmetic here converts between the two.

Where the wall clock jumps (daylight saving time), an interval's start and end are each the
first moment the clock shows them on that day; a time the clock skips (02:30 when it springs
from 02:00 to 03:00) is the moment it skips it. So an interval of 09:00-17:00 is 8 hours on
any day, and one of 01:00-03:00 is 1 hour on the spring day and 3 on the autumn day, as long
as the clock on the wall says it is open.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

from hub.domain.errors import InvalidInput

#: the weekdays as the API names them, Monday first (``date.weekday()`` order)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
#: intervals a day may have; more is no schedule anyone keeps
MAX_INTERVALS = 12
#: holidays and extra working days a schedule may list
MAX_DATES = 500
#: how far ahead the next opening is looked for: a year of holidays and then some
LOOK_AHEAD = timedelta(days=400)

_CLOCK = re.compile(r"^([01][0-9]|2[0-4]):([0-5][0-9])$")


@functools.cache
def time_zones() -> frozenset[str]:
    """The IANA time zone names this machine knows."""
    return frozenset(available_timezones())


@functools.cache
def zone(name: str) -> ZoneInfo:
    """A known IANA time zone, or ``InvalidInput`` saying it is none."""
    if name not in time_zones():
        raise InvalidInput(f"timezone: {name[:64]!r} is no IANA time zone, like Asia/Shanghai")
    return ZoneInfo(name)


def clock(value: str) -> int:
    """``"09:30"`` as minutes after midnight; ``"24:00"`` is the end of the day."""
    found = _CLOCK.match(value)
    minutes = int(found.group(1)) * 60 + int(found.group(2)) if found else -1
    if not 0 <= minutes <= MINUTES_PER_DAY:
        raise InvalidInput(f"{value[:10]!r} is no time of day from 00:00 to 24:00 (HH:MM)")
    return minutes


def clock_text(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True, order=True)
class Interval:
    """Open from ``start`` to ``end``, minutes after local midnight (``end`` 1440: midnight)."""

    start: int
    end: int

    @classmethod
    def of(cls, start: str, end: str) -> Interval:
        interval = cls(clock(start), clock(end))
        if interval.start >= interval.end:
            raise InvalidInput(f"{start}-{end}: an interval ends after it starts (24:00 at most)")
        return interval

    def text(self) -> tuple[str, str]:
        return clock_text(self.start), clock_text(self.end)


def _day(intervals: Iterable[Interval], where: str) -> tuple[Interval, ...]:
    ordered = tuple(sorted(intervals))
    if len(ordered) > MAX_INTERVALS:
        raise InvalidInput(f"{where}: at most {MAX_INTERVALS} intervals a day")
    for before, after in itertools.pairwise(ordered):
        if after.start < before.end:
            first, second = "-".join(before.text()), "-".join(after.text())
            raise InvalidInput(f"{where}: {first} and {second} overlap")
    return ordered


@dataclass(frozen=True)
class BusinessHours:
    """A weekly schedule in a time zone, with holidays and extra working days."""

    timezone: str
    #: seven days of intervals, Monday first; a day without any is closed
    week: tuple[tuple[Interval, ...], ...]
    holidays: frozenset[date] = frozenset()
    #: dates worked with hours of their own, whatever their weekday (调休)
    working_days: Mapping[date, tuple[Interval, ...]] = field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        return zone(self.timezone)

    def hours_on(self, day: date) -> tuple[Interval, ...]:
        """The intervals of a local date."""
        if day in self.working_days:
            return self.working_days[day]
        if day in self.holidays:
            return ()
        return self.week[day.weekday()]

    def spans(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The open spans between two instants, in order, joined where one ends as the next
        begins (a night shift past midnight), and cut to ``[start, end)``."""
        if end <= start:
            return []
        # In UTC: the difference of two times in one zone is their wall clocks' difference.
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        tz = self.zone
        first = start.astimezone(tz).date() - timedelta(days=1)
        last = end.astimezone(tz).date() + timedelta(days=1)
        found: list[tuple[datetime, datetime]] = []
        day = first
        while day <= last:
            for interval in self.hours_on(day):
                opens = _instant(day, interval.start, tz)
                closes = _instant(day, interval.end, tz)
                if opens < closes:  # an interval wholly in a skipped hour never happens
                    found.append((opens, closes))
            day += timedelta(days=1)
        found.sort()
        joined: list[tuple[datetime, datetime]] = []
        for opens, closes in found:
            if joined and opens <= joined[-1][1]:
                joined[-1] = (joined[-1][0], max(joined[-1][1], closes))
            else:
                joined.append((opens, closes))
        return [
            (max(opens, start), min(closes, end))
            for opens, closes in joined
            if closes > start and opens < end
        ]

    def validated(self) -> BusinessHours:
        """The schedule, or ``InvalidInput`` saying what is wrong with it."""
        zone(self.timezone)
        if len(self.week) != len(WEEKDAYS):
            raise InvalidInput("week: one list of intervals per weekday, Monday first")
        week = tuple(
            _day(day, f"week.{name}") for name, day in zip(WEEKDAYS, self.week, strict=True)
        )
        if len(self.holidays) + len(self.working_days) > MAX_DATES:
            raise InvalidInput(f"at most {MAX_DATES} holidays and working days together")
        both = sorted(self.holidays & set(self.working_days))
        if both:
            raise InvalidInput(f"{both[0].isoformat()} is both a holiday and a working day")
        working: dict[date, tuple[Interval, ...]] = {}
        for day, intervals in sorted(self.working_days.items()):
            if not intervals:
                raise InvalidInput(f"working_days.{day.isoformat()}: give its hours")
            working[day] = _day(intervals, f"working_days.{day.isoformat()}")
        return BusinessHours(self.timezone, week, frozenset(self.holidays), working)


def _instant(day: date, minutes: int, tz: ZoneInfo) -> datetime:
    """The first moment the clock in ``tz`` shows ``minutes`` on ``day`` (midnight ending the
    day is the next day's first moment), or the moment it skips that time."""
    if minutes >= MINUTES_PER_DAY:
        day, minutes = day + timedelta(days=1), minutes - MINUTES_PER_DAY
    wall = datetime.combine(day, time(minutes // 60, minutes % 60))
    # fold=0 is the first of a time the clock shows twice (when it falls back)
    early = wall.replace(tzinfo=tz).astimezone(UTC)
    if early.astimezone(tz).replace(tzinfo=None) == wall:
        return early
    # A time the clock skips: fold=0 reads it with the offset before the jump, fold=1 with the
    # one after, which puts the jump between them. Zones jump on whole seconds.
    late = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    low, high = sorted((int(early.timestamp()), int(late.timestamp())))
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, tz).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def make_hours(
    timezone: str,
    week: Mapping[str, Sequence[tuple[str, str]]],
    holidays: Iterable[date] = (),
    working_days: Mapping[date, Sequence[tuple[str, str]]] | None = None,
) -> BusinessHours:
    """A schedule from its parts as people write them (``{"mon": [("09:00", "18:00")]}``),
    checked: ``InvalidInput`` says what is wrong."""
    unknown = sorted(set(week) - set(WEEKDAYS))
    if unknown:
        raise InvalidInput(f"week: {unknown[0]!r} is no weekday ({', '.join(WEEKDAYS)})")
    return BusinessHours(
        timezone=timezone,
        week=tuple(tuple(Interval.of(*pair) for pair in week.get(name, ())) for name in WEEKDAYS),
        holidays=frozenset(holidays),
        working_days={
            day: tuple(Interval.of(*pair) for pair in pairs)
            for day, pairs in (working_days or {}).items()
        },
    ).validated()


# -- what services ask; ``None`` is a schedule that is always open ------------------------------


def is_open(hours: BusinessHours | None, at: datetime) -> bool:
    if hours is None:
        return True
    return bool(hours.spans(at, at + timedelta(seconds=1)))


def next_opening(hours: BusinessHours | None, at: datetime) -> datetime | None:
    """``at`` when open then, else when it opens next (``None``: not within a year or so)."""
    if hours is None:
        return at
    step = timedelta(days=14)
    start = at
    while start < at + LOOK_AHEAD:
        found = hours.spans(start, start + step)
        if found:
            return found[0][0]
        start += step
    return None


def business_seconds(hours: BusinessHours | None, start: datetime, end: datetime) -> int:
    """The whole seconds from ``start`` to ``end`` that fall in business hours (all of them
    without a schedule; 0 when ``end`` is not after ``start``)."""
    if end <= start:
        return 0
    if hours is None:
        return int((end.astimezone(UTC) - start.astimezone(UTC)).total_seconds())
    total = sum(
        ((closes - opens) for opens, closes in hours.spans(start, end)),
        timedelta(),
    )
    return int(total.total_seconds())


@dataclass(frozen=True)
class Schedule:
    """A team's or a channel's business hours, as kept; a channel's own win over its team's."""

    hours: BusinessHours
    team_id: int | None = None
    channel_id: int | None = None
    updated_at: datetime | None = None


def week_of(hours: BusinessHours) -> dict[str, list[tuple[str, str]]]:
    """The weekly intervals as people write them, by weekday name."""
    return {
        name: [interval.text() for interval in day]
        for name, day in zip(WEEKDAYS, hours.week, strict=True)
    }
