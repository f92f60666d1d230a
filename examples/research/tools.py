"""Tools for the research example: deterministic, offline stand-ins for search and lookup."""

from __future__ import annotations

NOTES = {
    "eiffel tower": [
        "The Eiffel Tower was completed in 1889 for the World's Fair.",
        "It is about 330 metres tall.",
    ],
}

FACTS = {"eiffel tower height": "330 metres", "eiffel tower completed": "1889"}


def search_notes(query: str) -> list[str]:
    """Notes whose topic occurs in the query (case-insensitive)."""
    q = query.lower()
    return [line for topic, lines in NOTES.items() if topic in q for line in lines]


def lookup_fact(subject: str) -> str:
    """The recorded fact for ``subject``, or a plain 'unknown'."""
    return FACTS.get(subject.lower().strip(), "unknown")


def word_count(text: str) -> int:
    """Number of whitespace-separated words."""
    return len(text.split())
