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
    """The general path, as it was before the shortcut."""
    if result is None:
        return ""
    if isinstance(result, str):
        return result
    if isinstance(result, Content):
        return result.text or ""
    if isinstance(result, list):
        return "".join(_general(item) for item in result)
    return str(result)


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
