"""A destination's settings from the ``key=value`` text people type (pure)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.models import DeliveryMode, DestinationSettings

__all__ = ["SETTING_KEYS", "apply_settings", "describe_settings"]

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TRUE = {"yes", "true", "on", "1"}
_FALSE = {"no", "false", "off", "0"}
SETTING_KEYS = {
    "timezone": "an IANA time zone, like Europe/Paris",
    "mode": "each (every paper as it comes) or digest (one batch a day)",
    "digest_hour": "the hour of the daily digest, 0 to 23, in the time zone",
    "revisions": "yes to post a paper again when arXiv gets a new version, else no",
    "roundup_day": "the weekly roundup's day: mon, tue, wed, thu, fri, sat or sun",
    "roundup_hour": "the weekly roundup's hour, 0 to 23, in the time zone",
    "roundup": "yes or no: whether the channel gets a weekly roundup",
    "roundup_size": "how many papers a roundup or digest shows at most, 1 to 50",
    "roundup_empty": "say (one line) or silent: what a week with no papers posts",
    "roundup_public": "yes to publish the roundups as a web page and Atom feed, else no",
}


def _hour(key: str, value: str) -> int:
    if value.isdigit() and 0 <= int(value) <= 23:
        return int(value)
    raise ValueError(f"{key}={value!r}: give {SETTING_KEYS[key]}")


def _flag(key: str, value: str) -> bool:
    low = value.lower()
    if low in _TRUE | _FALSE:
        return low in _TRUE
    raise ValueError(f"{key}={value!r}: give {SETTING_KEYS[key]}")


def apply_settings(current: DestinationSettings, changes: Mapping[str, str]) -> DestinationSettings:
    """The settings with ``changes`` applied; ValueError names the first bad key and the fix."""
    values: dict[str, object] = {}
    for key, raw in changes.items():
        value = raw.strip()
        if key == "timezone":
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"timezone={value!r}: give {SETTING_KEYS[key]}") from None
            values["timezone"] = value
        elif key == "mode":
            try:
                values["mode"] = DeliveryMode(value.lower())
            except ValueError:
                raise ValueError(f"mode={value!r}: give {SETTING_KEYS[key]}") from None
        elif key in {"digest_hour", "roundup_hour"}:
            values[key] = _hour(key, value)
        elif key == "revisions":
            values["revisions"] = _flag(key, value)
        elif key == "roundup":
            values["roundup_enabled"] = _flag(key, value)
        elif key == "roundup_size":
            if not (value.isdigit() and 1 <= int(value) <= 50):
                raise ValueError(f"{key}={value!r}: give {SETTING_KEYS[key]}")
            values["roundup_size"] = int(value)
        elif key == "roundup_empty":
            if value.lower() not in {"say", "silent"}:
                raise ValueError(f"{key}={value!r}: give {SETTING_KEYS[key]}")
            values["roundup_quiet"] = value.lower() == "silent"
        elif key == "roundup_public":
            values["roundup_public"] = _flag(key, value)
        elif key == "roundup_day":
            day = value.lower()[:3]
            if day not in _DAYS or not value.lower().startswith(day):
                raise ValueError(f"roundup_day={value!r}: give {SETTING_KEYS[key]}")
            values["roundup_day"] = day
        else:
            raise ValueError(f"unknown setting {key!r}: use one of {', '.join(SETTING_KEYS)}")
    return dataclasses.replace(current, **values)  # type: ignore[arg-type]  # keys checked above


def describe_settings(settings: DestinationSettings) -> str:
    """One line, in the ``key=value`` form people type."""
    return (
        f"timezone={settings.timezone} mode={settings.mode.value} "
        f"digest_hour={settings.digest_hour} revisions={'yes' if settings.revisions else 'no'} "
        f"roundup={'yes' if settings.roundup_enabled else 'no'} "
        f"roundup_day={settings.roundup_day} roundup_hour={settings.roundup_hour} "
        f"roundup_size={settings.roundup_size} "
        f"roundup_empty={'silent' if settings.roundup_quiet else 'say'} "
        f"roundup_public={'yes' if settings.roundup_public else 'no'}"
    )
