"""One typed, frozen Settings: environment variables over ``config/paperwire.toml`` over defaults.

Secrets (tokens, keys) are ``SecretStr``: they print as ``**********`` and never reach a log or
an error message. A bad value fails at start with one line naming the setting and what it
accepts (``load_settings`` raises ``SettingsError`` carrying that line).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings import SettingsError as _PydanticSettingsError
from sqlalchemy.engine import make_url

from bot.adapters.db.engine import normalize_database_url
from bot.core.categories import RETIRED, TAXONOMY_URL, canonical, suggest
from bot.core.models import Platform

__all__ = ["DEFAULT_CONFIG_PATH", "Settings", "SettingsError", "load_settings"]

DEFAULT_CONFIG_PATH = Path("config/paperwire.toml")
_USER_AGENT_BASE = "paperwire/0.1 (research-paper bot for Discord and Slack)"


class SettingsError(ValueError):
    """Configuration that cannot work; the message is one line that names the setting."""


class _TomlSource(PydanticBaseSettingsSource):
    """Reads the flat ``[paperwire]`` table (and the optional sub-tables) of a TOML file."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None) -> None:
        super().__init__(settings_cls)
        self._data: dict[str, Any] = {}
        if path is not None and path.is_file():
            with path.open("rb") as fh:
                raw = tomllib.load(fh)
            section = raw.get("paperwire", raw)
            # Flatten one level of tables: [paperwire.arxiv] categories -> arxiv_categories.
            for key, value in section.items():
                if isinstance(value, dict):
                    for sub, subvalue in value.items():
                        self._data[f"{key}_{sub}"] = subvalue
                else:
                    self._data[key] = value

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self._data.items() if k in self.settings_cls.model_fields}


class Settings(BaseSettings):
    """Everything paperwire can be told. Field names are the env names without the prefix."""

    model_config = SettingsConfigDict(
        env_prefix="PAPERWIRE_",
        frozen=True,
        extra="ignore",
        case_sensitive=False,
        populate_by_name=True,
    )

    # --- deployment facts and secrets (environment) -----------------------------------------
    database_url: str = Field(
        default="sqlite+aiosqlite:///paperwire.db",
        validation_alias=AliasChoices("DATABASE_URL", "PAPERWIRE_DATABASE_URL"),
    )
    discord_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("DISCORD_TOKEN", "PAPERWIRE_DISCORD_TOKEN")
    )
    slack_bot_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_BOT_TOKEN", "PAPERWIRE_SLACK_BOT_TOKEN"),
    )
    slack_app_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_APP_TOKEN", "PAPERWIRE_SLACK_APP_TOKEN"),
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "PAPERWIRE_SLACK_SIGNING_SECRET"),
    )
    slack_client_id: str | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_CLIENT_ID", "PAPERWIRE_SLACK_CLIENT_ID"),
    )
    slack_client_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_CLIENT_SECRET", "PAPERWIRE_SLACK_CLIENT_SECRET"),
    )
    llm_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str = "gpt-4o-mini"
    llm_daily_budget: int = Field(default=200, ge=0)
    llm_timeout_seconds: float = Field(default=20.0, gt=0)

    # --- base URLs (a prefix; the client appends the documented path) -----------------------
    arxiv_api_url: str = "https://export.arxiv.org/api/query"
    arxiv_rss_url: str = "https://rss.arxiv.org/rss"
    hf_api_url: str = "https://huggingface.co/api"
    s2_api_url: str = "https://api.semanticscholar.org/graph/v1"
    discord_api_url: str = "https://discord.com/api/v10"
    discord_gateway_url: str = "wss://gateway.discord.gg/"
    slack_api_url: str = "https://slack.com/api/"

    # --- chat --------------------------------------------------------------------------------
    # Register the Discord commands to this one server only (they appear at once; for
    # development), instead of globally.
    discord_guild_id: int | None = Field(default=None, ge=1)
    # Past 2,500 servers Discord wants shards: the shard count (the same in every process) and
    # the shards this process connects, e.g. "0,1" (all of them when unset). Unset: one
    # unsharded connection.
    discord_shard_count: int | None = Field(default=None, ge=1, le=4096)
    discord_shard_ids: Annotated[tuple[int, ...] | None, NoDecode] = None
    # On Slack, members of this user group (its handle, without @) may change channels too.
    slack_manager_group: str | None = None

    # --- web endpoints -----------------------------------------------------------------------
    web_host: str = "0.0.0.0"  # noqa: S104 - a container's health endpoint listens on all interfaces
    # Where the web endpoints are reached from outside (https://paperwire.example.org), for
    # the roundups' Atom feed links; by default the address each request came to.
    public_url: str | None = None
    web_port: int = Field(
        default=8080, ge=0, le=65535, validation_alias=AliasChoices("PORT", "PAPERWIRE_WEB_PORT")
    )

    # --- sources -----------------------------------------------------------------------------
    arxiv_categories: Annotated[tuple[str, ...], NoDecode] = (
        "cs.CL",
        "cs.LG",
        "cs.AI",
        "cs.CV",
        "stat.ML",
    )
    arxiv_poll_minutes: int = Field(default=60, ge=5)
    hf_enabled: bool = True
    hf_poll_minutes: int = Field(default=120, ge=5)
    hf_days: int = Field(default=2, ge=1, le=14)
    s2_enabled: bool = False
    s2_api_key: SecretStr | None = None
    contact: str = "https://github.com/paperwire/paperwire"
    http_timeout_seconds: float = Field(default=20.0, gt=0)
    http_max_retries: int = Field(default=4, ge=0, le=10)
    http_max_response_mb: float = Field(default=25.0, gt=0)
    arxiv_min_interval_seconds: float = Field(default=3.0, ge=0)

    # --- delivery ----------------------------------------------------------------------------
    deliver_every_seconds: float = Field(default=10.0, gt=0)
    # Posting pace per channel, at the platforms' documented limits (raise them only for a
    # test server that allows more).
    slack_channel_posts_per_second: float = Field(default=1.0, gt=0)
    discord_channel_posts_per_5s: int = Field(default=5, ge=1)
    deliver_batch: int = Field(default=20, ge=1, le=500)
    # How many channels are posted to at the same time (each channel's cards stay in order).
    deliver_concurrency: int = Field(default=128, ge=1, le=1000)
    claim_lease_seconds: float = Field(default=120.0, gt=0)
    # Posted deliveries, cached summaries and posted roundups older than this are deleted
    # (never a card still due). A paper revised after this long may be posted again.
    retention_days: int = Field(default=180, ge=7)
    default_timezone: str = "UTC"
    topics_file: str = "config/topics.toml"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("arxiv_categories", mode="before")
    @classmethod
    def _split_categories(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(
                part for part in value.replace("+", ",").replace(" ", ",").split(",") if part
            )
        return value

    @field_validator("arxiv_categories")
    @classmethod
    def _check_categories(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("give at least one arXiv category, like cs.CL")
        spelled = []
        for cat in value:
            spelling = canonical(cat)
            if spelling is not None and spelling in RETIRED:  # a retired archive: no feed
                raise ValueError(
                    f"{cat!r} is a retired arXiv archive; its papers are now listed under "
                    f"{RETIRED[spelling]}"
                )
            if spelling is None:
                close = suggest(cat)
                hint = f"; did you mean {', '.join(close)}?" if close else f" (see {TAXONOMY_URL})"
                raise ValueError(f"{cat!r} is not an arXiv category{hint}")
            spelled.append(spelling)
        return tuple(spelled)

    @field_validator("discord_gateway_url")
    @classmethod
    def _check_gateway_url(cls, value: str) -> str:
        if not value.startswith(("ws://", "wss://")):
            raise ValueError("must be a ws:// or wss:// URL, like wss://gateway.discord.gg/")
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        # The URLs hosting providers hand out (postgres://, postgresql://, ?sslmode=...) become
        # the drivers' form; a parameter the driver cannot honour fails here, at start.
        return normalize_database_url(value)

    @field_validator(
        "arxiv_api_url",
        "arxiv_rss_url",
        "hf_api_url",
        "s2_api_url",
        "discord_api_url",
        "slack_api_url",
        "llm_url",
        "public_url",
    )
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("default_timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("must be an IANA time zone name, like Europe/Paris or UTC") from exc
        return value

    @field_validator("discord_shard_ids", mode="before")
    @classmethod
    def _split_shard_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = [part for part in value.replace(" ", ",").split(",") if part]
            if not all(part.isdigit() for part in parts):
                raise ValueError("give shard numbers separated by commas, like 0,1")
            return tuple(int(part) for part in parts)
        return value

    @model_validator(mode="after")
    def _check_shards(self) -> Settings:
        ids = self.discord_shard_ids
        if ids is None:
            return self
        count = self.discord_shard_count
        if count is None:
            raise ValueError(
                "PAPERWIRE_DISCORD_SHARD_IDS needs PAPERWIRE_DISCORD_SHARD_COUNT too: the total "
                "number of shards, the same in every process"
            )
        if not ids:
            raise ValueError("PAPERWIRE_DISCORD_SHARD_IDS is empty: give shards like 0,1")
        wrong = [i for i in ids if i >= count]
        if wrong:
            raise ValueError(
                f"PAPERWIRE_DISCORD_SHARD_IDS has shard {wrong[0]}, but shards are numbered 0 "
                f"to {count - 1} with PAPERWIRE_DISCORD_SHARD_COUNT={count}"
            )
        if len(set(ids)) != len(ids):
            raise ValueError("PAPERWIRE_DISCORD_SHARD_IDS names a shard twice")
        return self

    @property
    def discord_share(self) -> float:
        """This process's share of the bot's Discord requests: its shards' share of all
        shards (every process posting to Discord must stay within the bot's one limit)."""
        if self.discord_shard_ids is None or self.discord_shard_count is None:
            return 1.0
        return len(self.discord_shard_ids) / self.discord_shard_count

    @model_validator(mode="after")
    def _check_slack_mode(self) -> Settings:
        """The Slack settings must make one of the three modes (DESIGN.md section 8)."""
        if (self.slack_client_id is None) != (self.slack_client_secret is None):
            raise ValueError(
                "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET go together (HTTP mode with OAuth): "
                "set both, or neither"
            )
        if self.slack_app_token is not None:
            if self.slack_bot_token is None:
                raise ValueError(
                    "SLACK_APP_TOKEN (Socket Mode) needs SLACK_BOT_TOKEN too: the xoxb- token "
                    "from the app's OAuth & Permissions page"
                )
            if not self.slack_app_token.get_secret_value().startswith("xapp-"):
                raise ValueError(
                    "SLACK_APP_TOKEN must be an app-level token (xapp-...), from the app's "
                    "Basic Information page, with the connections:write scope"
                )
        elif self.slack_oauth and self.slack_signing_secret is None:
            raise ValueError(
                "Slack with OAuth (SLACK_CLIENT_ID) needs SLACK_SIGNING_SECRET too, from the "
                "app's Basic Information page"
            )
        return self

    @property
    def slack_commands(self) -> bool:
        """Whether Slack's commands and events can reach paperwire (Socket Mode, or HTTP mode
        with the signing secret); with a bot token alone it only posts."""
        return self.slack_app_token is not None or (
            self.slack_enabled and self.slack_signing_secret is not None
        )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path_text = os.environ.get("PAPERWIRE_CONFIG")
        path = Path(path_text) if path_text else DEFAULT_CONFIG_PATH
        return (init_settings, env_settings, _TomlSource(settings_cls, path))

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def user_agent(self) -> str:
        return f"{_USER_AGENT_BASE}; +{self.contact}"

    @property
    def slack_oauth(self) -> bool:
        """Many workspaces install paperwire (HTTP mode with OAuth)."""
        return self.slack_client_id is not None and self.slack_client_secret is not None

    @property
    def slack_enabled(self) -> bool:
        return self.slack_bot_token is not None or self.slack_oauth

    @property
    def has_chat(self) -> bool:
        return self.discord_token is not None or self.slack_enabled

    def can_post_to(self, platform: Platform) -> bool:
        """Whether the credentials cards for ``platform`` need are set: Discord's bot token;
        for Slack a bot token or OAuth's client id and secret (each workspace's token is then
        in the database); the console needs none."""
        if platform is Platform.DISCORD:
            return self.discord_token is not None
        if platform is Platform.SLACK:
            return self.slack_enabled
        return True

    def secrets(self) -> list[str]:
        """Every configured secret's value (for redaction; never to be shown)."""
        values = [
            getattr(self, name).get_secret_value()
            for name, info in type(self).model_fields.items()
            if info.annotation in (SecretStr, SecretStr | None) and getattr(self, name) is not None
        ]
        url = make_url(self.database_url)
        values.extend(str(v) for v in (url.password, url.query.get("sslpassword")) if v)
        return values


_ENV_NAMES = {
    "database_url": "DATABASE_URL",
    "discord_token": "DISCORD_TOKEN",
    "slack_bot_token": "SLACK_BOT_TOKEN",
    "slack_app_token": "SLACK_APP_TOKEN",
    "slack_signing_secret": "SLACK_SIGNING_SECRET",
    "slack_client_id": "SLACK_CLIENT_ID",
    "slack_client_secret": "SLACK_CLIENT_SECRET",
    "web_port": "PAPERWIRE_WEB_PORT (or PORT)",
}


def _setting_name(loc: str) -> str:
    # pydantic reports a field read through an alias (PORT, DATABASE_URL) by its first alias.
    for name, info in Settings.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices) and loc in alias.choices:
            loc = name
            break
    return _ENV_NAMES.get(loc, f"PAPERWIRE_{loc.upper()}")


def load_settings(**overrides: Any) -> Settings:
    """Build the Settings, or raise SettingsError with one line a person can act on.

    The message never contains the offending value when the setting is a secret.
    """
    config = os.environ.get("PAPERWIRE_CONFIG")
    if config and not Path(config).is_file():
        raise SettingsError(f"PAPERWIRE_CONFIG: no such file {config!r}; point it at a TOML file")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        name = _setting_name(str(first["loc"][0])) if first["loc"] else "configuration"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"{name}: {message}") from None
    except _PydanticSettingsError as exc:
        raise SettingsError(f"configuration: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config/paperwire.toml is not valid TOML: {exc}") from None
