"""Business-hours arithmetic across time zones, daylight saving changes and holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hub.domain.business_hours import (
    BusinessHours,
    business_seconds,
    is_open,
    make_hours,
    next_opening,
)
from hub.domain.errors import InvalidInput

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
SHANGHAI = ZoneInfo("Asia/Shanghai")

WEEKDAYS_9_TO_5 = {day: [("09:00", "17:00")] for day in ("mon", "tue", "wed", "thu", "fri")}


def local(
    zone: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0, fold: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone, fold=fold)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def every_day(zone: str, start: str, end: str) -> BusinessHours:
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return make_hours(zone, {day: [(start, end)] for day in days})


def test_the_dates_the_clocks_change() -> None:
    # the tests below rely on these: US on the 2nd Sunday of March and the 1st of November,
    # the EU on the last Sundays of March and October
    assert local(NEW_YORK, 2026, 3, 8, 1, 59).utcoffset() == timedelta(hours=-5)
    assert local(NEW_YORK, 2026, 3, 8, 3, 0).utcoffset() == timedelta(hours=-4)
    assert local(NEW_YORK, 2026, 11, 1, 1, 30, fold=1).utcoffset() == timedelta(hours=-5)
    assert local(BERLIN, 2026, 3, 29, 3, 0).utcoffset() == timedelta(hours=2)
    assert local(BERLIN, 2026, 10, 25, 2, 30, fold=1).utcoffset() == timedelta(hours=1)
    assert date(2026, 3, 8).weekday() == 6
    assert date(2026, 10, 1).weekday() == 3


def test_a_lunch_break_and_the_weekend_in_shanghai() -> None:
    hours = make_hours(
        "Asia/Shanghai",
        {d: [("09:00", "12:00"), ("13:30", "18:00")] for d in ("mon", "tue", "wed", "thu", "fri")},
    )
    assert is_open(hours, local(SHANGHAI, 2026, 11, 23, 10, 0))  # a Monday
    assert not is_open(hours, local(SHANGHAI, 2026, 11, 23, 12, 30))
    assert is_open(hours, local(SHANGHAI, 2026, 11, 23, 13, 30))
    assert not is_open(hours, local(SHANGHAI, 2026, 11, 23, 18, 0))  # the end is closed
    assert not is_open(hours, local(SHANGHAI, 2026, 11, 28, 10, 0))  # Saturday
    # Friday evening: Monday morning, 09:00 in Shanghai is 01:00 UTC
    assert next_opening(hours, local(SHANGHAI, 2026, 11, 27, 19, 0)) == utc(2026, 11, 30, 1, 0)
    at = local(SHANGHAI, 2026, 11, 23, 10, 0)
    assert next_opening(hours, at) == at
    # Friday 17:00 to Monday 10:00: an hour on Friday, an hour on Monday
    seconds = business_seconds(
        hours, local(SHANGHAI, 2026, 11, 27, 17, 0), local(SHANGHAI, 2026, 11, 30, 10, 0)
    )
    assert seconds == 2 * 3600
    # a whole week: 7.5 hours a day, five days
    monday = local(SHANGHAI, 2026, 11, 23, 0, 0)
    assert business_seconds(hours, monday, monday + timedelta(days=7)) == 5 * 7.5 * 3600


def test_holidays_close_and_extra_working_days_open() -> None:
    hours = make_hours(
        "Asia/Shanghai",
        WEEKDAYS_9_TO_5,
        holidays=[date(2026, 10, 1), date(2026, 10, 2)],
        # 调休: the Sunday before the holidays is worked, with shorter hours
        working_days={date(2026, 9, 27): [("10:00", "16:00")]},
    )
    assert not is_open(hours, local(SHANGHAI, 2026, 10, 1, 10, 0))
    assert is_open(hours, local(SHANGHAI, 2026, 9, 27, 10, 0))
    assert not is_open(hours, local(SHANGHAI, 2026, 9, 27, 9, 30))
    # Wednesday evening before the holidays: next is Monday the 5th (Sat and Sun closed)
    assert next_opening(hours, local(SHANGHAI, 2026, 9, 30, 18, 0)) == local(
        SHANGHAI, 2026, 10, 5, 9, 0
    )
    # a conversation opened before the holidays and answered after: the holidays count nothing
    seconds = business_seconds(
        hours, local(SHANGHAI, 2026, 9, 30, 16, 0), local(SHANGHAI, 2026, 10, 5, 9, 30)
    )
    assert seconds == 3600 + 1800
    assert (
        business_seconds(
            hours, local(SHANGHAI, 2026, 9, 26, 0, 0), local(SHANGHAI, 2026, 9, 28, 0, 0)
        )
        == 6 * 3600
    )


def test_a_day_lasts_what_the_clock_says_on_the_days_new_york_changes() -> None:
    hours = every_day("America/New_York", "00:00", "24:00")
    spring, autumn = date(2026, 3, 8), date(2026, 11, 1)
    start = local(NEW_YORK, 2026, 3, 8, 0, 0)
    assert business_seconds(hours, start, start + timedelta(days=2)) == 47 * 3600
    start = local(NEW_YORK, 2026, 11, 1, 0, 0)
    assert business_seconds(hours, start, start + timedelta(days=2)) == 49 * 3600
    # office hours are 8 hours on both days
    office = every_day("America/New_York", "09:00", "17:00")
    for day in (spring, autumn):
        morning = datetime.combine(day, datetime.min.time(), NEW_YORK)
        assert business_seconds(office, morning, morning + timedelta(days=1)) == 8 * 3600


def test_intervals_that_cross_the_hour_new_york_skips_or_repeats() -> None:
    night = every_day("America/New_York", "01:00", "03:00")
    day_start = utc(2026, 3, 8, 0, 0)
    # spring: 01:00 EST to 03:00 EDT is one hour of real time
    assert business_seconds(night, day_start, day_start + timedelta(days=1)) == 3600
    # autumn: 01:00 EDT to 03:00 EST is three
    day_start = utc(2026, 11, 1, 0, 0)
    assert business_seconds(night, day_start, day_start + timedelta(days=1)) == 3 * 3600

    # opening at a time the clock skips: open from the moment it skips it, 03:00 EDT
    skipped = every_day("America/New_York", "02:30", "04:00")
    assert next_opening(skipped, utc(2026, 3, 8, 5, 0)) == utc(2026, 3, 8, 7, 0)
    assert not is_open(skipped, utc(2026, 3, 8, 6, 59))
    assert is_open(skipped, utc(2026, 3, 8, 7, 0))
    # an interval wholly in the skipped hour does not happen that day
    never = every_day("America/New_York", "02:10", "02:50")
    assert business_seconds(never, utc(2026, 3, 8, 0, 0), utc(2026, 3, 9, 0, 0)) == 0
    assert next_opening(never, utc(2026, 3, 8, 0, 0)) == local(NEW_YORK, 2026, 3, 9, 2, 10)

    # closing at a time the clock shows twice: at the first time it shows it
    late = every_day("America/New_York", "00:00", "01:30")
    assert is_open(late, local(NEW_YORK, 2026, 11, 1, 1, 15))
    assert not is_open(late, local(NEW_YORK, 2026, 11, 1, 1, 15, fold=1))
    assert business_seconds(late, utc(2026, 11, 1, 0, 0), utc(2026, 11, 2, 0, 0)) == 5400


def test_berlin_and_new_york_change_on_different_sundays() -> None:
    new_york = make_hours("America/New_York", WEEKDAYS_9_TO_5)
    berlin = make_hours("Europe/Berlin", WEEKDAYS_9_TO_5)
    # Monday 23 March 2026: New York is on summer time already, Berlin not yet
    monday = utc(2026, 3, 23, 0, 0)
    assert next_opening(new_york, monday) == utc(2026, 3, 23, 13, 0)
    assert next_opening(berlin, monday) == utc(2026, 3, 23, 8, 0)
    # a week later both are: the gap between their openings is back to six hours
    monday = utc(2026, 3, 30, 0, 0)
    assert next_opening(new_york, monday) == utc(2026, 3, 30, 13, 0)
    assert next_opening(berlin, monday) == utc(2026, 3, 30, 7, 0)
    # 16:30 UTC on Friday 20 March: 12:30 in New York (open), 17:30 in Berlin (closed)
    friday = utc(2026, 3, 20, 16, 30)
    assert is_open(new_york, friday)
    assert not is_open(berlin, friday)
    # Friday 16:00 to Monday 10:00 in Berlin over its spring weekend: an hour each side
    assert (
        business_seconds(berlin, local(BERLIN, 2026, 3, 27, 16, 0), local(BERLIN, 2026, 3, 30, 10))
        == 2 * 3600
    )
    # the same in autumn, over the night the clock goes back
    assert (
        business_seconds(
            berlin, local(BERLIN, 2026, 10, 23, 16, 0), local(BERLIN, 2026, 10, 26, 10, 0)
        )
        == 2 * 3600
    )
    # an around-the-clock Sunday in Berlin lasts 23 hours in spring and 25 in autumn
    sundays = every_day("Europe/Berlin", "00:00", "24:00")
    start = local(BERLIN, 2026, 3, 29, 0, 0)
    assert business_seconds(sundays, start, local(BERLIN, 2026, 3, 30, 0, 0)) == 23 * 3600
    start = local(BERLIN, 2026, 10, 25, 0, 0)
    assert business_seconds(sundays, start, local(BERLIN, 2026, 10, 26, 0, 0)) == 25 * 3600


def test_a_night_shift_runs_on_past_midnight() -> None:
    hours = make_hours("Europe/Berlin", {"mon": [("22:00", "24:00")], "tue": [("00:00", "06:00")]})
    inside = local(BERLIN, 2026, 11, 24, 1, 0)  # Tuesday 01:00
    assert is_open(hours, inside)
    assert next_opening(hours, inside) == inside
    assert (
        business_seconds(
            hours, local(BERLIN, 2026, 11, 23, 23, 0), local(BERLIN, 2026, 11, 24, 1, 0)
        )
        == 2 * 3600
    )
    [span] = hours.spans(local(BERLIN, 2026, 11, 23, 12, 0), local(BERLIN, 2026, 11, 24, 12, 0))
    assert span == (local(BERLIN, 2026, 11, 23, 22, 0), local(BERLIN, 2026, 11, 24, 6, 0))


def test_without_a_schedule_every_second_counts() -> None:
    at = utc(2026, 11, 28, 3, 0)
    assert is_open(None, at)
    assert next_opening(None, at) == at
    assert business_seconds(None, at, at + timedelta(hours=5)) == 5 * 3600
    assert business_seconds(None, at, at - timedelta(hours=5)) == 0


def test_a_schedule_never_open_has_no_next_opening() -> None:
    closed = make_hours("UTC", {})
    assert next_opening(closed, utc(2026, 1, 1, 0, 0)) is None
    assert business_seconds(closed, utc(2026, 1, 1, 0, 0), utc(2026, 2, 1, 0, 0)) == 0


@pytest.mark.parametrize(
    ("timezone", "week", "holidays", "working", "reason"),
    [
        ("Mars/Olympus", {}, [], {}, "no IANA time zone"),
        ("../etc/passwd", {}, [], {}, "no IANA time zone"),
        ("UTC", {"monday": [("09:00", "17:00")]}, [], {}, "no weekday"),
        ("UTC", {"mon": [("17:00", "09:00")]}, [], {}, "ends after it starts"),
        ("UTC", {"mon": [("09:00", "09:00")]}, [], {}, "ends after it starts"),
        ("UTC", {"mon": [("09:00", "25:00")]}, [], {}, "no time of day"),
        ("UTC", {"mon": [("9am", "17:00")]}, [], {}, "no time of day"),
        ("UTC", {"mon": [("09:00", "13:00"), ("12:00", "17:00")]}, [], {}, "overlap"),
        (
            "UTC",
            {},
            [date(2026, 10, 1)],
            {date(2026, 10, 1): [("09:00", "12:00")]},
            "both a holiday and a working day",
        ),
        ("UTC", {}, [], {date(2026, 10, 1): []}, "give its hours"),
    ],
)
def test_a_wrong_schedule_is_refused_with_the_reason(
    timezone: str,
    week: dict[str, list[tuple[str, str]]],
    holidays: list[date],
    working: dict[date, list[tuple[str, str]]],
    reason: str,
) -> None:
    with pytest.raises(InvalidInput, match=reason):
        make_hours(timezone, week, holidays, working)


def test_touching_intervals_are_one_span() -> None:
    hours = make_hours("UTC", {"mon": [("13:00", "17:00"), ("09:00", "13:00")]})
    assert hours.week[0][0].start == 9 * 60  # kept in order
    monday = utc(2026, 11, 23, 0, 0)
    assert hours.spans(monday, monday + timedelta(days=1)) == [
        (utc(2026, 11, 23, 9, 0), utc(2026, 11, 23, 17, 0))
    ]
