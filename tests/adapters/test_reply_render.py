"""Any chat Reply renders within every limit of both platforms, with nothing a person typed
(or a paper carried) becoming a mention, a link or formatting."""

from __future__ import annotations

import json
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.adapters.discord.reply import render_reply as discord_reply
from bot.adapters.slack.reply import render_reply as slack_reply
from bot.core.chat import Reply, Span, Style
from tests.fakes.discord import validate_message as discord_valid
from tests.fakes.slack import validate_message as slack_valid
from tests.golden.inert import hostile_text

spans = st.builds(
    Span,
    hostile_text,
    st.sampled_from([Style.PLAIN, Style.BOLD, Style.CODE, Style.PRE]),
)
lines = st.lists(st.tuples(spans, spans).map(tuple) | st.tuples(spans).map(tuple), max_size=80)
replies = st.builds(
    Reply,
    title=hostile_text,
    lines=lines.map(tuple),
    ephemeral=st.booleans(),
    error=st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(replies)
def test_discord_replies_are_valid_and_inert(reply: Reply) -> None:
    payload = discord_reply(reply)
    assert discord_valid(payload, interaction=True) is None
    assert payload["allowed_mentions"] == {"parse": []}
    shown = payload["content"] + "".join(
        str(e.get("title", "")) + str(e.get("description", "")) for e in payload["embeds"]
    )
    # Inside code nothing is parsed; everything outside must be inert.
    outside = re.sub(r"(?<!\\)```.*?```|(?<!\\)`[^`]*`", "", shown, flags=re.S)
    assert "@everyone" not in outside
    assert "@here" not in outside
    assert re.search(r"(?<!\\)<[@#!:/a]", outside) is None  # no live mention or tag
    assert re.search(r"(?<!\\)\]\(https://evil", outside) is None  # no masked link


@settings(max_examples=150, deadline=None)
@given(replies)
def test_slack_replies_are_valid_and_inert(reply: Reply) -> None:
    payload = slack_reply(reply)
    assert slack_valid(payload["text"], payload["blocks"]) is None
    text = json.dumps(payload)
    for live in ("<!channel>", "<!here>", "<!everyone>", "<@U", "<https://evil"):
        assert live not in text
