"""The command line as a user meets it: help, exit codes, one-line errors, migrations."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bot.cli import build_parser
from tests.cli.helpers import paperwire

COMMANDS = [
    ["run"],
    ["poll"],
    ["card"],
    ["summarize"],
    ["subs", "add"],
    ["subs", "remove"],
    ["subs", "list"],
    ["subs", "pause"],
    ["subs", "resume"],
    ["subs", "settings"],
    ["roundup"],
    ["status"],
    ["db", "upgrade"],
    ["slack", "manifest"],
]


def command_parsers() -> dict[str, argparse.ArgumentParser]:
    """Every command's own parser in the real CLI, by its words ("subs add")."""
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, words: tuple[str, ...]) -> None:
        # argparse has no public way to list sub-commands; its subparsers action holds them.
        subcommands = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subcommands:
            found[" ".join(words)] = parser
        for action in subcommands:
            for name, child in action.choices.items():
                walk(child, (*words, name))

    walk(build_parser(), ())
    return found


def test_top_level_help_lists_every_command(tmp_path: Path) -> None:
    result = paperwire("--help", cwd=tmp_path)
    assert result.code == 0
    for name in ("run", "poll", "card", "summarize", "subs", "roundup", "status", "db", "slack"):
        assert name in result.out


def test_the_command_table_covers_every_command() -> None:
    assert set(command_parsers()) == {" ".join(command) for command in COMMANDS}


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_a_description(tmp_path: Path, command: list[str]) -> None:
    result = paperwire(*command, "--help", cwd=tmp_path)
    assert result.code == 0
    assert result.out.startswith(f"usage: paperwire {' '.join(command)}")
    # After the usage comes a paragraph that says what the command does, then the arguments.
    description = result.out.split("\n\n")[1]
    assert not description.startswith(("options:", "positional arguments:"))
    assert len(description.split()) >= 10


@pytest.mark.parametrize("words", [" ".join(command) for command in COMMANDS])
def test_every_command_describes_itself_beyond_its_one_line_help(words: str) -> None:
    description = command_parsers()[words].description or ""
    assert len(description) > 60  # more than the one-line help in the parent's list
    assert "\n" not in description  # one paragraph
    assert description.endswith(".")


@pytest.mark.parametrize(
    ("words", "usage_end"),
    [
        ("subs add", "DESTINATION QUERY"),
        ("subs remove", "DESTINATION ID_OR_QUERY"),
        ("subs pause", "DESTINATION ID_OR_QUERY"),
        ("subs resume", "DESTINATION [ID_OR_QUERY]"),  # no id: the whole destination
    ],
)
def test_a_required_query_shows_as_required_in_the_usage(words: str, usage_end: str) -> None:
    assert command_parsers()[words].format_usage().rstrip().endswith(usage_end)


def test_subs_add_help_shows_query_as_required(tmp_path: Path) -> None:
    result = paperwire("subs", "add", "--help", cwd=tmp_path)
    assert "usage: paperwire subs add [-h] [--backfill DAYS] DESTINATION QUERY\n" in result.out


@pytest.mark.parametrize("action", ["add", "remove", "pause"])
def test_a_missing_query_is_one_line_and_exit_2(tmp_path: Path, action: str) -> None:
    result = paperwire("subs", action, "console", cwd=tmp_path)
    assert result.code == 2
    assert result.err.startswith(f"paperwire: subs {action} needs a destination and a ")
    assert len(result.err.strip().splitlines()) == 1


def test_queries_that_start_with_a_dash_work_in_every_subs_command(tmp_path: Path) -> None:
    assert paperwire("db", "upgrade", cwd=tmp_path).code == 0
    assert paperwire("subs", "add", "console", "-survey", "cat:cs.CL", cwd=tmp_path).code == 0
    paused = paperwire("subs", "pause", "console", "-survey", "cat:cs.CL", cwd=tmp_path)
    assert paused.code == 0, paused.err
    assert "paused #1" in paused.out
    resumed = paperwire("subs", "resume", "console", "-survey", "cat:cs.CL", cwd=tmp_path)
    assert resumed.code == 0, resumed.err
    assert "resumed #1" in resumed.out
    removed = paperwire("subs", "remove", "console", "-survey", "cat:cs.CL", cwd=tmp_path)
    assert removed.code == 0, removed.err
    assert "removed #1" in removed.out


def test_a_mistyped_command_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = paperwire("cards", cwd=tmp_path)
    assert result.code == 2
    assert len(result.err.strip().splitlines()) == 1
    assert "--help" in result.err


def test_card_with_a_non_id_says_why_and_what_forms_work(tmp_path: Path) -> None:
    result = paperwire("card", "not an id", cwd=tmp_path)
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1
    assert "not an id" in lines[0]
    assert "2403.13043" in lines[0]  # shows an accepted form


def test_a_query_nested_too_deep_is_one_line_and_exit_2(tmp_path: Path) -> None:
    assert paperwire("db", "upgrade", cwd=tmp_path).code == 0
    # The query: 497 "(" and one word (498 characters, within the length limit).
    result = paperwire("subs", "add", "console", "(" * 497 + "a", cwd=tmp_path)
    assert result.code == 2, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err  # no traceback
    assert "nested more than" in lines[0]
    assert "no subscriptions" in paperwire("subs", "list", cwd=tmp_path).out


def test_db_upgrade_then_again_is_a_no_op(tmp_path: Path) -> None:
    first = paperwire("db", "upgrade", cwd=tmp_path)
    assert first.code == 0, first.err
    assert "upgraded from empty" in first.out
    again = paperwire("db", "upgrade", cwd=tmp_path)
    assert again.code == 0
    assert "already at revision" in again.out


def test_an_unmigrated_database_is_refused_with_the_fixing_command(tmp_path: Path) -> None:
    result = paperwire("status", cwd=tmp_path)
    assert result.code == 1
    assert "paperwire db upgrade" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_bad_setting_names_the_setting_and_exits_2(tmp_path: Path) -> None:
    result = paperwire("status", cwd=tmp_path, env={"PAPERWIRE_WEB_PORT": "eighty"})
    assert result.code == 2
    assert result.err.startswith("paperwire: PAPERWIRE_WEB_PORT (or PORT):")
    assert len(result.err.strip().splitlines()) == 1


def test_a_secret_never_appears_in_an_error(tmp_path: Path) -> None:
    secret = "xoxb-very-secret-token-123"
    result = paperwire(
        "status",
        cwd=tmp_path,
        env={"SLACK_BOT_TOKEN": secret, "DATABASE_URL": "mysql://user:pw@host/db"},
    )
    assert result.code == 2
    assert secret not in result.err + result.out
    assert "DATABASE_URL" in result.err


def test_database_password_is_hidden_in_messages(tmp_path: Path) -> None:
    result = paperwire(
        "db",
        "upgrade",
        cwd=tmp_path,
        env={"DATABASE_URL": "postgresql://paperwire:hunter2@127.0.0.1:1/paperwire"},
    )
    assert result.code == 1
    assert "hunter2" not in result.err + result.out
    # Shown masked (***) or not at all: either way one line about the database.
    assert len(result.err.strip().splitlines()) == 1


def test_status_on_a_fresh_database(tmp_path: Path) -> None:
    assert paperwire("db", "upgrade", cwd=tmp_path).code == 0
    result = paperwire("status", cwd=tmp_path)
    assert result.code == 0, result.err
    assert "arxiv: never polled" in result.out
    assert "deliveries: 0 pending" in result.out


def test_roundup_of_a_channel_without_subscriptions_says_what_to_do(tmp_path: Path) -> None:
    assert paperwire("db", "upgrade", cwd=tmp_path).code == 0
    result = paperwire("roundup", "console", "--dry-run", cwd=tmp_path)
    assert result.code == 2
    assert "paperwire subs add console" in result.err
    assert result.out == ""


def test_roundup_refuses_a_week_that_is_not_one(tmp_path: Path) -> None:
    # The forms refused are tested in tests/core/test_roundup.py; here, that the CLI says so.
    week = "2026-W54"
    assert paperwire("db", "upgrade", cwd=tmp_path).code == 0
    assert paperwire("subs", "add", "console", "cat:cs.CL", cwd=tmp_path).code == 0
    result = paperwire("roundup", "console", "--dry-run", "--week", week, cwd=tmp_path)
    assert result.code == 2
    assert "YYYY-Www" in result.err
    assert len(result.err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("lines", "fragment"),
    [
        ("not json\n", "line 1: not JSON"),
        ('{"title": "x"}\n', 'line 1: needs an "abstract"'),
        ('{"abstract": "ok."}\n[1]\n', "line 2"),
    ],
)
def test_summarize_refuses_bad_lines_before_writing_anything(
    tmp_path: Path, lines: str, fragment: str
) -> None:
    result = paperwire("summarize", cwd=tmp_path, stdin=lines)
    assert result.code == 2
    assert fragment in result.err
    assert result.out == ""


def test_summarize_reads_and_writes_json_lines(tmp_path: Path) -> None:
    import json

    text = (
        '{"title": "Sparse Attention", "abstract": "Transformers are slow. We propose a sparse '
        'attention that is 3x faster on long documents. Code is released."}\n'
        '{"abstract": "We study graphs."}\n'
    )
    result = paperwire("summarize", cwd=tmp_path, stdin=text)
    assert result.code == 0, result.err
    rows = [json.loads(line) for line in result.out.splitlines()]
    assert len(rows) == 2
    assert set(rows[0]) == {"tldr", "points", "topic"}
    assert rows[0]["tldr"]


def test_subscriptions_can_be_listed_paused_resumed_configured_and_removed(
    tmp_path: Path,
) -> None:
    assert paperwire("db", "upgrade", cwd=tmp_path).code == 0
    added = paperwire("subs", "add", "console", "-survey", "cat:cs.CL", cwd=tmp_path)
    assert added.code == 0, added.err
    assert "starting from now" in added.out
    again = paperwire("subs", "add", "console", "CAT:cs.CL -survey", cwd=tmp_path)
    assert "already has subscription #1" in again.out
    assert paperwire("subs", "pause", "console", "1", cwd=tmp_path).code == 0
    assert "[paused]" in paperwire("subs", "list", "console", cwd=tmp_path).out
    assert paperwire("subs", "resume", "console", "1", cwd=tmp_path).code == 0
    assert "[paused]" not in paperwire("subs", "list", cwd=tmp_path).out
    changed = paperwire(
        "subs", "settings", "console", "timezone=Europe/Paris", "mode=digest", cwd=tmp_path
    )
    assert changed.code == 0, changed.err
    assert "timezone=Europe/Paris mode=digest" in changed.out
    bad = paperwire("subs", "settings", "console", "digest_hour=25", cwd=tmp_path)
    assert bad.code == 2
    assert "0 to 23" in bad.err
    assert paperwire("subs", "remove", "console", "9", cwd=tmp_path).code == 2
    removed = paperwire("subs", "remove", "console", "cat:cs.CL -survey", cwd=tmp_path)
    assert removed.code == 0, removed.err
    assert "no subscriptions" in paperwire("subs", "list", cwd=tmp_path).out


@pytest.mark.parametrize(
    "dest", ["discord:abc", "slack:C123", "telegram:1", "console:1", "discord:1"]
)
def test_a_bad_destination_says_which_forms_work(tmp_path: Path, dest: str) -> None:
    result = paperwire("subs", "add", dest, "cat:cs.CL", cwd=tmp_path)
    assert result.code == 2
    assert "discord:CHANNEL_ID" in result.err


SLACK_OAUTH = {
    "SLACK_CLIENT_ID": "1234567890.1234567890",
    "SLACK_CLIENT_SECRET": "client-secret-for-the-test",
    "SLACK_SIGNING_SECRET": "signing-secret-for-the-test",
}


@pytest.mark.parametrize(
    "env",
    [{"SLACK_BOT_TOKEN": "xoxb-a-bot-token-for-the-test"}, SLACK_OAUTH],
    ids=["bot token", "oauth"],
)
def test_a_slack_channel_with_either_kind_of_credentials_gets_no_missing_token_note(
    tmp_path: Path, env: dict[str, str]
) -> None:
    assert paperwire("db", "upgrade", cwd=tmp_path).code == 0
    added = paperwire(
        "subs", "add", "slack:T012AB3C4/C0123456789", "cat:cs.CL", cwd=tmp_path, env=env
    )
    assert added.code == 0, added.err
    assert "is not set" not in added.err


def test_a_slack_channel_without_credentials_says_what_to_set(tmp_path: Path) -> None:
    assert paperwire("db", "upgrade", cwd=tmp_path).code == 0
    added = paperwire("subs", "add", "slack:T012AB3C4/C0123456789", "cat:cs.CL", cwd=tmp_path)
    assert added.code == 0, added.err
    assert "SLACK_BOT_TOKEN (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET) is not set" in added.err
