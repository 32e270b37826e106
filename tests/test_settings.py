"""Settings: DATABASE_URL is checked when the settings load, in one line naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings

PASSWORD = "hunter2-very-secret"


@pytest.fixture(autouse=True)
def _no_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "paperwire.toml"
    config.write_text("[paperwire]\n")
    monkeypatch.setenv("PAPERWIRE_CONFIG", str(config))


@pytest.mark.parametrize(
    ("given", "loaded"),
    [
        (
            f"postgres://u:{PASSWORD}@db.example.com:5432/app?sslmode=require",
            f"postgresql+asyncpg://u:{PASSWORD}@db.example.com:5432/app?sslmode=require",
        ),
        (
            f"postgresql://u:{PASSWORD}@ep-x.neon.tech/app?sslmode=require&channel_binding=prefer",
            f"postgresql+asyncpg://u:{PASSWORD}@ep-x.neon.tech/app"
            "?channel_binding=prefer&sslmode=require",
        ),
        ("sqlite:///data/paperwire.db", "sqlite+aiosqlite:///data/paperwire.db"),
    ],
)
def test_database_urls_from_hosting_providers_load(
    monkeypatch: pytest.MonkeyPatch, given: str, loaded: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", given)
    assert load_settings().database_url == loaded


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        (f"postgres://u:{PASSWORD}@host:abc/db", "port is not a number"),
        (f"postgres://u:{PASSWORD}@host/db?sslmode=on", "sslmode must be one of"),
        (f"postgres://u:{PASSWORD}@host/db?channel_binding=require", "remove channel_binding"),
        (f"postgres://u:{PASSWORD}@host/db?pgbouncer=true", "'pgbouncer'"),
        (f"mysql://u:{PASSWORD}@host/db", "'mysql'"),
    ],
)
def test_a_database_url_that_cannot_work_fails_at_load_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, url: str, fragment: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith("DATABASE_URL: ")
    assert fragment in message
    assert PASSWORD not in message
    assert "\n" not in message
