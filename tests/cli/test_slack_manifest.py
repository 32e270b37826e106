"""`paperwire slack manifest` as a new user runs it: before any database or token exists."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.cli.helpers import paperwire
from tests.paths import REPO


def test_prints_the_socket_mode_manifest_in_an_empty_folder(tmp_path: Path) -> None:
    result = paperwire("slack", "manifest", cwd=tmp_path)
    assert result.code == 0, result.err
    assert result.err == ""
    assert result.out == (REPO / "deploy" / "slack-manifest.yml").read_text(encoding="utf-8")
    assert list(tmp_path.iterdir()) == []  # no database made, nothing written


def test_with_url_prints_the_http_mode_manifest(tmp_path: Path) -> None:
    result = paperwire("slack", "manifest", "--url", "https://example.org/bot/", cwd=tmp_path)
    assert result.code == 0, result.err
    manifest = yaml.safe_load(result.out)
    events = "https://example.org/bot/slack/events"
    assert manifest["settings"]["socket_mode_enabled"] is False
    assert manifest["settings"]["event_subscriptions"]["request_url"] == events
    assert manifest["settings"]["interactivity"]["request_url"] == events
    assert {c["url"] for c in manifest["features"]["slash_commands"]} == {events}
    assert manifest["oauth_config"]["redirect_urls"] == [
        "https://example.org/bot/slack/oauth_redirect"
    ]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("url", "fix"),
    [
        ("http://example.org", "https://example.org"),
        ("https://example.org/?team=T1", "https://"),
        ("", "https://"),
    ],
)
def test_a_bad_url_exits_2_with_one_line(tmp_path: Path, url: str, fix: str) -> None:
    result = paperwire("slack", "manifest", "--url", url, cwd=tmp_path)
    assert result.code == 2
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("paperwire: --url ")
    assert fix in lines[0]


def test_a_token_in_the_environment_changes_nothing(tmp_path: Path) -> None:
    env = {"SLACK_BOT_TOKEN": "xoxb-1-secret", "SLACK_APP_TOKEN": "xapp-1-secret"}
    result = paperwire("slack", "manifest", cwd=tmp_path, env=env)
    assert result.code == 0, result.err
    assert result.out == (REPO / "deploy" / "slack-manifest.yml").read_text(encoding="utf-8")
