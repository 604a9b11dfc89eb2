"""The canonical event: normalisation that must never create phantom changes, windows, matching."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crmsync.model.event import Window, canonical_event, coherent, match_keys
from crmsync.model.normalise import InvalidValue
from crmsync.model.recurrence import never_happens, overlaps, recurrence_lines

pytestmark = pytest.mark.unit


def timed(**kw: object) -> dict[str, object]:
    raw: dict[str, object] = {
        "subject": "Weekly sync",
        "start": {"local": "2026-10-19T09:00:00", "tz": "Europe/Berlin"},
        "end": {"local": "2026-10-19T09:30:00", "tz": "Europe/Berlin"},
    }
    raw.update(kw)
    return raw


def test_rule_parts_in_canonical_order_without_defaults() -> None:
    a = recurrence_lines(["RRULE:byday=MO;freq=weekly;INTERVAL=1;WKST=MO;COUNT=6"], "Europe/Berlin", False)
    b = recurrence_lines(["FREQ=WEEKLY;COUNT=6;BYDAY=MO"], "Europe/Berlin", False)
    assert a == b == ["RRULE:FREQ=WEEKLY;COUNT=6;BYDAY=MO"]


def test_exdates_are_one_per_line_in_the_series_zone() -> None:
    lines = recurrence_lines(
        ["RRULE:FREQ=DAILY;COUNT=5", "EXDATE:20261021T070000Z,20261022T070000Z", "EXDATE;TZID=UTC:20261020T070000"],
        "Europe/Berlin",
        False,
    )
    assert lines == [
        "EXDATE;TZID=Europe/Berlin:20261020T090000",
        "EXDATE;TZID=Europe/Berlin:20261021T090000",
        "EXDATE;TZID=Europe/Berlin:20261022T090000",
        "RRULE:FREQ=DAILY;COUNT=5",
    ]


def test_floating_until_becomes_utc_and_all_day_uses_dates() -> None:
    assert recurrence_lines(["RRULE:FREQ=DAILY;UNTIL=20261201T080000"], "Europe/Paris", False) == [
        "RRULE:FREQ=DAILY;UNTIL=20261201T070000Z"
    ]
    assert recurrence_lines(["EXDATE:20261225T000000Z", "RRULE:FREQ=YEARLY"], None, True) == [
        "EXDATE;VALUE=DATE:20261225",
        "RRULE:FREQ=YEARLY",
    ]


def test_unknown_recurrence_line_is_a_clear_error() -> None:
    with pytest.raises(InvalidValue, match="unsupported recurrence line"):
        recurrence_lines(["EXRULEX:foo"], "UTC", False)


def test_formatting_noise_makes_the_same_canon() -> None:
    a = canonical_event(timed(description="<p>Agenda<br>1. Intro</p>", attendees=[{"email": " Zoe@Example.org "}]))
    b = canonical_event(
        timed(description="Agenda\r\n1. Intro  ", attendees=[{"email": "zoe@example.org", "response": "bogus"}])
    )
    assert a == b
    assert a["attendees"] == [{"value": "zoe@example.org", "response": "needs_action"}]


def test_organizer_is_never_an_attendee_and_reminders_are_a_set() -> None:
    canon = canonical_event(
        timed(
            organizer="Anna@corp.example",
            attendees=[{"email": "anna@corp.example", "response": "accepted"}, {"email": "b@x.org"}],
            reminders=[{"method": "popup", "minutes": 10}, {"method": "popup", "minutes": 10}],
        )
    )
    assert canon["organizer"] == "anna@corp.example"
    assert [a["value"] for a in canon["attendees"]] == ["b@x.org"]
    assert canon["reminders"] == ["popup:10"]


def test_end_in_another_zone_is_re_expressed_in_the_start_zone() -> None:
    canon = canonical_event(timed(end={"local": "2026-10-19T08:30:00", "tz": "Europe/London"}))
    assert canon["end"] == {"local": "2026-10-19T09:30:00", "tz": "Europe/Berlin"}


def test_reversed_times_and_bad_zones_are_refused() -> None:
    with pytest.raises(InvalidValue, match="before the start"):
        canonical_event(timed(end={"local": "2026-10-19T08:00:00", "tz": "Europe/Berlin"}))
    with pytest.raises(InvalidValue, match="IANA"):
        canonical_event(timed(start={"local": "2026-10-19T09:00:00", "tz": "Mars/Olympus"}))


def test_exceptions_keep_only_real_overrides() -> None:
    canon = canonical_event(
        timed(
            recurrence=["RRULE:FREQ=WEEKLY;COUNT=6"],
            exceptions=[
                {"original_start": "2026-10-26T09:00:00", "start": "2026-10-26T09:00:00", "subject": "Weekly sync"},
                {"original_start": "2026-11-02T09:00:00", "start": "2026-11-02T10:00:00", "end": "2026-11-02T10:30:00"},
                {"original_start": "2026-11-09T09:00:00", "cancelled": True},
                {"original_start": "2026-11-16T09:00:00", "location": "Room 2"},
            ],
        )
    )
    assert [e["value"] for e in canon["exceptions"]] == [
        "2026-11-02T09:00:00",
        "2026-11-09T09:00:00",
        "2026-11-16T09:00:00",
    ]
    moved, cancelled, elsewhere = canon["exceptions"]
    assert (moved["start"], moved["end"], moved["subject"]) == ("2026-11-02T10:00:00", "2026-11-02T10:30:00", None)
    assert cancelled["cancelled"] is True
    assert elsewhere["location"] == "Room 2"
    assert elsewhere["start"] is None


def test_exceptions_outside_the_series_are_dropped() -> None:
    # Google keeps a moved instance past a "this and following" split; the CRM refuses one.
    moved = {"original_start": "2026-11-02T09:00:00", "start": "2026-11-02T10:00:00", "end": "2026-11-02T10:30:00"}
    whole = canonical_event(timed(recurrence=["RRULE:FREQ=WEEKLY;COUNT=6"], exceptions=[moved]))
    assert [e["value"] for e in whole["exceptions"]] == ["2026-11-02T09:00:00"]
    split = canonical_event(
        timed(recurrence=["RRULE:FREQ=WEEKLY;UNTIL=20261026T080000Z"], exceptions=[moved])  # ends 26 Oct
    )
    assert split["exceptions"] == []
    assert coherent({**whole, "recurrence": split["recurrence"]})["exceptions"] == []  # a merge of both
    assert coherent(whole) is whole
    moved_series = {**whole, "start": {"local": "2026-10-20T09:00:00", "tz": "Europe/Berlin"},
                    "end": {"local": "2026-10-20T09:30:00", "tz": "Europe/Berlin"}}  # fmt: skip
    assert coherent(moved_series)["exceptions"] == []  # Tuesdays now: the Monday it moved is gone


def test_all_day_exceptions_are_kept_inside_the_series() -> None:
    canon = canonical_event(
        {
            "subject": "Offsite",
            "all_day": True,
            "start": {"date": "2026-10-19"},
            "end": {"date": "2026-10-20"},
            "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=3"],
            "exceptions": [
                {"original_start": "2026-10-26", "cancelled": True},
                {"original_start": "2026-11-09", "cancelled": True},  # the 4th week: not in the series
            ],
        }
    )
    assert [e["value"] for e in canon["exceptions"]] == ["2026-10-26"]


def test_a_series_ending_before_it_starts_never_happens() -> None:
    assert never_happens(canonical_event(timed(recurrence=["RRULE:FREQ=WEEKLY;UNTIL=20261001T000000Z"])))
    assert not never_happens(canonical_event(timed(recurrence=["RRULE:FREQ=WEEKLY;COUNT=1"])))
    assert not never_happens(canonical_event(timed()))
    with_a_date = ["RRULE:FREQ=WEEKLY;UNTIL=20261001T000000Z", "RDATE;TZID=Europe/Berlin:20261021T090000"]
    assert not never_happens(canonical_event(timed(recurrence=with_a_date)))


def test_all_day_uses_dates_and_refuses_an_empty_range() -> None:
    canon = canonical_event(
        {"subject": "Holidays", "all_day": True, "start": {"date": "2026-12-24"}, "end": {"date": "2026-12-27"}}
    )
    assert (canon["start"], canon["end"]) == ({"date": "2026-12-24"}, {"date": "2026-12-27"})
    with pytest.raises(InvalidValue):
        canonical_event(
            {"subject": "x", "all_day": True, "start": {"date": "2026-12-24"}, "end": {"date": "2026-12-24"}}
        )


NOW = datetime(2026, 10, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "rule", "inside"),
    [
        ("2026-11-02T10:00:00", None, True),
        ("2027-12-31T10:00:00", None, False),  # a08: beyond 365 days
        ("2026-06-01T10:00:00", None, False),  # before the 60 days back
        ("2026-06-01T10:00:00", "RRULE:FREQ=WEEKLY", True),  # an old series still running
        ("2026-06-01T10:00:00", "RRULE:FREQ=WEEKLY;COUNT=3", False),  # an old series that ended
        ("2028-02-29T10:00:00", "RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", False),  # a06 starts too late
    ],
)
def test_window(start: str, rule: str | None, inside: bool) -> None:
    end = start[:11] + "11:00:00"
    canon = canonical_event(
        {
            "subject": "x",
            "start": {"local": start, "tz": "UTC"},
            "end": {"local": end, "tz": "UTC"},
            "recurrence": [rule] if rule else [],
        }
    )
    assert overlaps(canon, *Window().bounds(NOW)) is inside


def test_match_key_is_start_instant_subject_and_organizer() -> None:
    a = canonical_event(timed(subject="Weekly  SYNC", organizer="a@x.org"))
    b = canonical_event(
        timed(
            subject="weekly sync",
            organizer="A@x.org",
            start={"local": "2026-10-19T08:00:00", "tz": "Europe/London"},
            end={"local": "2026-10-19T08:30:00", "tz": "Europe/London"},
        )
    )
    assert match_keys(a) == match_keys(b) == (["20261019T070000Z|weekly sync|a@x.org"],)


def test_date_until_on_a_timed_series_ends_that_day_in_the_series_zone() -> None:
    """Issue 12 point 10: a DATE UNTIL counts to the end of that day where the series lives, as
    Google reads it (main read it in UTC: 20261201T235959Z, so a Pacific series gained a day)."""
    assert recurrence_lines(["RRULE:FREQ=DAILY;UNTIL=20261201"], "America/Los_Angeles", False) == [
        "RRULE:FREQ=DAILY;UNTIL=20261202T075959Z"
    ]
    assert recurrence_lines(["RRULE:FREQ=DAILY;UNTIL=20261201"], "Asia/Tokyo", False) == [
        "RRULE:FREQ=DAILY;UNTIL=20261201T145959Z"
    ]


def test_timed_series_with_extra_date_and_cancellation_reads() -> None:
    """Issue 12 point 1 (failed on main: TypeError, naive RDATEs against an aware start)."""
    raw = timed(
        start={"local": "2014-08-03T19:00:00", "tz": "UTC"},
        end={"local": "2014-08-03T20:00:00", "tz": "UTC"},
        recurrence=[
            "RRULE:FREQ=DAILY;UNTIL=20160320T030000Z",
            "RDATE;VALUE=DATE-TIME:20150705T193000Z",
            "EXDATE;VALUE=DATE-TIME:20150705T193000Z",
        ],
    )
    canon = canonical_event(raw)
    assert canon["recurrence"] == ["RDATE;TZID=UTC:20150705T193000", "RRULE:FREQ=DAILY;UNTIL=20160320T030000Z"]
    assert [e["value"] for e in canon["exceptions"]] == ["2015-07-05T19:30:00"]
    assert overlaps(canon, datetime(2015, 7, 5, 19, 45, tzinfo=UTC), datetime(2015, 7, 5, 19, 50, tzinfo=UTC))
