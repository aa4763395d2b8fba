"""Cron schedules as the CronJob controller reads them: five fields or a macro, next fire time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
          "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
_NAMES = ({}, {}, {}, {m: i + 1 for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())},
          {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())})
_HORIZON = timedelta(days=366 * 5)


@dataclass(frozen=True)
class Schedule:
    """The allowed minutes, hours, days of month, months and weekdays (0 = Sunday)."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool  # day of month was "*": only the weekday restricts
    any_weekday: bool

    def matches_day(self, moment: datetime) -> bool:
        """Day of month OR weekday when both are restricted, as cron does."""
        weekday = (moment.weekday() + 1) % 7
        if self.any_day or self.any_weekday:
            return moment.day in self.days and weekday in self.weekdays
        return moment.day in self.days or weekday in self.weekdays

    def next_after(self, moment: datetime) -> datetime | None:
        """The first fire time strictly after ``moment`` (None if there is none within five years)."""
        t = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        end = moment + _HORIZON
        while t <= end:
            if t.month not in self.months or not self.matches_day(t):
                t = (t + timedelta(days=1)).replace(hour=0, minute=0)
            elif t.hour not in self.hours:
                t = (t + timedelta(hours=1)).replace(minute=0)
            elif t.minute not in self.minutes:
                t += timedelta(minutes=1)
            else:
                return t
        return None


def parse_schedule(text: str) -> Schedule:
    """A Schedule from ``*/5 * * * *``, ``0 3 * * mon-fri`` or ``@hourly``; ValueError when invalid."""
    fields = MACROS.get(text.strip().lower(), text).split()
    if len(fields) != 5:
        raise ValueError(f"expected exactly 5 fields, found {len(fields)}: {text}")
    sets = [_field(f, lo, hi, names) for f, (lo, hi), names in zip(fields, _RANGES, _NAMES)]
    weekdays = frozenset(d % 7 for d in sets[4])
    return Schedule(*sets[:4], weekdays, fields[2] in ("*", "?"), fields[4] in ("*", "?"))


def _field(text: str, lo: int, hi: int, names: dict) -> frozenset[int]:
    out: set[int] = set()
    for part in text.lower().split(","):
        rng, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if rng in ("*", "?"):
            start, stop = lo, hi
        else:
            first, _, last = rng.partition("-")
            start = _value(first, names)
            stop = _value(last, names) if last else (hi if step_text else start)
        if step < 1 or not lo <= start <= stop <= (7 if hi == 6 else hi):
            raise ValueError(f"value out of range or malformed: {part!r}")
        out.update(range(start, stop + 1, step))
    return frozenset(out)


def _value(text: str, names: dict) -> int:
    if text in names:
        return names[text]
    if not text.isdigit():
        raise ValueError(f"failed to parse int from {text}")
    return int(text)
