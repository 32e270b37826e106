"""Destination settings typed as key=value."""

from __future__ import annotations

import pytest

from bot.core.models import DeliveryMode, DestinationSettings
from bot.core.settings_text import apply_settings, describe_settings


def test_every_setting_can_be_changed_and_described() -> None:
    changed = apply_settings(
        DestinationSettings(),
        {
            "timezone": "Europe/Paris",
            "mode": "digest",
            "digest_hour": "8",
            "revisions": "yes",
            "roundup": "no",
            "roundup_day": "Monday",
            "roundup_hour": "17",
            "roundup_size": "10",
            "roundup_empty": "silent",
            "roundup_public": "yes",
        },
    )
    assert changed == DestinationSettings(
        timezone="Europe/Paris",
        mode=DeliveryMode.DIGEST,
        digest_hour=8,
        revisions=True,
        roundup_enabled=False,
        roundup_day="mon",
        roundup_hour=17,
        roundup_size=10,
        roundup_quiet=True,
        roundup_public=True,
    )
    assert describe_settings(changed) == (
        "timezone=Europe/Paris mode=digest digest_hour=8 revisions=yes roundup=no "
        "roundup_day=mon roundup_hour=17 roundup_size=10 roundup_empty=silent roundup_public=yes"
    )


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("timezone", "Mars/Olympus", "IANA time zone"),
        ("mode", "hourly", "each"),
        ("digest_hour", "24", "0 to 23"),
        ("revisions", "maybe", "yes"),
        ("roundup_size", "0", "1 to 50"),
        ("roundup_size", "51", "1 to 50"),
        ("roundup_empty", "never", "say"),
        ("roundup_public", "perhaps", "yes"),
        ("roundup_day", "funday", "mon, tue"),
        ("colour", "red", "unknown setting 'colour'"),
    ],
)
def test_bad_settings_name_the_key_and_the_fix(key: str, value: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        apply_settings(DestinationSettings(), {key: value})
