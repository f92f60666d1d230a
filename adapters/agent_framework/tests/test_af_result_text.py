"""``result_text``'s shortcut for a tool result of one text content gives what the general
path (the join over the contents) gives, down to the type of the string."""

from __future__ import annotations

from typing import Any

import pytest
from agent_framework import Content
from nex_agent_framework.messages import result_text


class Text(str):
    pass


def _general(result: Any) -> str:
    """What the general path gives: a list's items joined, each through ``result_text``
    (an item is not a one-item list here, so none takes the shortcut under test)."""
    if isinstance(result, list):
        return "".join(result_text(item) for item in result)
    return result_text(result)


@pytest.mark.parametrize(
    "result",
    [
        [Content.from_text("2.0")],
        [Content.from_text("")],
        [Content.from_text("a"), Content.from_text("b")],
        [],
        ["plain"],
        [Text("sub")],
        [None],
        [3],
        "text",
        None,
        Content.from_text("one"),
        [[Content.from_text("nested")]],
    ],
)
def test_the_one_content_shortcut_gives_what_the_join_gives(result: Any) -> None:
    got, expected = result_text(result), _general(result)
    assert got == expected
    assert type(got) is type(expected)


def test_a_content_whose_text_is_a_str_subclass_goes_the_general_way() -> None:
    content = Content.from_text("x")
    content.text = Text("x")
    got = result_text([content])
    assert got == "x" and type(got) is str  # the join makes a plain str of it
