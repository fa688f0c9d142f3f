"""``tatap admin slots``, ``booking-window``, ``block-date`` and ``close``: a facility's calendar.

Times on the command line are the facility's local wall-clock time; output shows both the local
time and epoch milliseconds, as the API will.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from typing import Any

from services.booking.calendar import CalendarService
from services.booking.slots import (
    BookingWindow,
    Slot,
    parse_hhmm,
    parse_kinds,
    parse_weekdays,
    zone,
)
from services.cli.common import print_json, store_options, with_store
from services.domain.model import VisitKind
from services.errors import BadRequest
from services.settings import Settings
from services.store.protocols import Store


def cmd_slots_add(args: argparse.Namespace) -> int:
    weekdays = parse_weekdays(args.weekdays)
    hours = (parse_hhmm(args.open), parse_hhmm(args.close))
    kinds = parse_kinds(args.kinds)

    async def run(store: Store, _: Settings) -> int:
        template = await CalendarService(store).add_template(
            args.room, weekdays, hours, args.length, kinds
        )
        print_json(template.to_json())
        return 0

    return with_store(args, run)


def cmd_slots_list(args: argparse.Namespace) -> int:
    async def run(store: Store, _: Settings) -> int:
        templates = await CalendarService(store).templates(args.room)
        print_json([t.to_json() for t in templates])
        return 0

    return with_store(args, run)


def cmd_slots_remove(args: argparse.Namespace) -> int:
    async def run(store: Store, _: Settings) -> int:
        template = await CalendarService(store).remove_template(args.id)
        print_json({"removed": template.to_json()})
        return 0

    return with_store(args, run)


def cmd_slots_free(args: argparse.Namespace) -> int:
    date = _date(args.date)

    async def run(store: Store, _: Settings) -> int:
        slots = await CalendarService(store).free_slots(
            args.facility, args.room, date, VisitKind(args.kind), time.time()
        )
        facility = await store.get_facility(args.facility)
        assert facility is not None  # free_slots refused an unknown one
        print_json([_slot_json(s, facility.timezone) for s in slots])
        return 0

    return with_store(args, run)


def cmd_booking_window(args: argparse.Namespace) -> int:
    """Show the facility's booking window, or change the parts named on the command line."""

    async def run(store: Store, _: Settings) -> int:
        window = await store.booking_window(args.facility)
        if args.min_days is not None or args.max_days is not None or args.education_days:
            window = await CalendarService(store).set_window(
                args.facility,
                BookingWindow(
                    window.min_days if args.min_days is None else args.min_days,
                    window.max_days if args.max_days is None else args.max_days,
                    parse_weekdays(args.education_days)
                    if args.education_days
                    else window.education_days,
                ),
            )
        print_json({"facility_id": args.facility, **window.to_json()})
        return 0

    return with_store(args, run)


def cmd_block_date(args: argparse.Namespace) -> int:
    date = _date(args.date)

    async def run(store: Store, _: Settings) -> int:
        blocked = await CalendarService(store).block_date(args.facility, date, args.reason)
        print_json(
            {
                "facility_id": blocked.facility_id,
                "date": blocked.date.isoformat(),
                "reason": blocked.reason,
            }
        )
        return 0

    return with_store(args, run)


def cmd_close(args: argparse.Namespace) -> int:
    start, until = _local(args.start), _local(args.until)

    async def run(store: Store, _: Settings) -> int:
        service = CalendarService(store)
        closure, effect = await service.close(args.facility, start, until, args.reason)
        out: dict[str, object] = {
            "id": closure.id,
            "facility_id": closure.facility_id,
            "start_ms": closure.start_ms,
            "end_ms": closure.end_ms,
            "reason": closure.reason,
            "cancelled": list(effect.cancelled),
        }
        if effect.running:
            # A running node lets go of the cancelled visits by itself (its sweeper), but only
            # the node can end a live one: this process has no hold on its sockets.
            out["running"] = list(effect.running)
            out["note"] = (
                "these visits are live now: end them with POST /api/v1/visits/{id}/terminate,"
                " or close through POST /api/v1/facilities/{id}/closures, which ends them"
            )
        print_json(out)
        return 0

    return with_store(args, run)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise BadRequest(f"a date is YYYY-MM-DD, got {text!r}") from exc


def _local(text: str) -> dt.datetime:
    """A naive local time ``YYYY-MM-DDTHH:MM``; the facility's zone is applied later."""
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadRequest(f"a time is YYYY-MM-DDTHH:MM (local), got {text!r}") from exc
    if when.tzinfo is not None:
        raise BadRequest("give local time without an offset: the facility's zone applies")
    return when


def _slot_json(slot: Slot, timezone: str) -> dict[str, object]:
    local = dt.datetime.fromtimestamp(slot.start_ms / 1000, zone(timezone))
    return {
        "room_id": slot.room_id,
        "start_ms": slot.start_ms,
        "end_ms": slot.end_ms,
        "local_start": local.isoformat(timespec="minutes"),
    }


def register(asub: Any) -> None:
    """The calendar verbs under ``tatap admin``."""
    slots = asub.add_parser("slots", help="a visit room's slot templates, and free slots")
    ssub = slots.add_subparsers(metavar="action", required=True)
    p = ssub.add_parser("add", help="add a slot template to a room (refused if it overlaps)")
    store_options(p)
    p.add_argument("--room", required=True)
    p.add_argument("--weekdays", required=True, help="e.g. mon,tue,wed")
    p.add_argument("--open", required=True, help="local HH:MM")
    p.add_argument("--close", required=True, help="local HH:MM")
    p.add_argument("--length", type=int, required=True, help="slot length in minutes")
    p.add_argument("--kinds", default="regular", help="e.g. regular,legal")
    p.set_defaults(func=cmd_slots_add)
    p = ssub.add_parser("list", help="a room's slot templates")
    store_options(p)
    p.add_argument("--room", required=True)
    p.set_defaults(func=cmd_slots_list)
    p = ssub.add_parser("remove", help="remove a slot template (booked visits stay)")
    store_options(p)
    p.add_argument("id")
    p.set_defaults(func=cmd_slots_remove)
    p = ssub.add_parser("free", help="the free slots of one local date")
    store_options(p)
    p.add_argument("--facility", required=True)
    p.add_argument("--room", required=True, action="append", help="repeat for several rooms")
    p.add_argument("--date", required=True, help="YYYY-MM-DD, the facility's local date")
    p.add_argument("--kind", choices=[k.value for k in VisitKind], default="regular")
    p.set_defaults(func=cmd_slots_free)
    _add_facility_calendar(asub)


def _add_facility_calendar(asub: Any) -> None:
    """The facility-wide verbs: the booking window, blocked dates, emergency closes."""
    p = asub.add_parser("booking-window", help="show or set how far ahead visits are booked")
    store_options(p)
    p.add_argument("--facility", required=True)
    p.add_argument("--min-days", type=int, help="first bookable day, from today (1: tomorrow)")
    p.add_argument("--max-days", type=int, help="last bookable day, from today")
    p.add_argument("--education-days", help="weekdays for education visits, e.g. sun")
    p.set_defaults(func=cmd_booking_window)
    p = asub.add_parser("block-date", help="take a local date out of the calendar (a holiday)")
    store_options(p)
    p.add_argument("--facility", required=True)
    p.add_argument("--date", required=True, help="YYYY-MM-DD")
    p.add_argument("--reason", required=True)
    p.set_defaults(func=cmd_block_date)
    p = asub.add_parser("close", help="close a facility from a local time until another")
    store_options(p)
    p.add_argument("--facility", required=True)
    p.add_argument("--from", dest="start", required=True, help="local YYYY-MM-DDTHH:MM")
    p.add_argument("--until", required=True, help="local YYYY-MM-DDTHH:MM")
    p.add_argument("--reason", required=True)
    p.set_defaults(func=cmd_close)
