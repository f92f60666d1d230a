"""Real models' chat templates (TRL's copies) rendered by nex, against transformers.

TRL's wheel ships copies of many model families' templates, each with a ``_training`` variant
that marks the assistant's output with ``{% generation %}``. The test environment provides them
by installing trl or by ``pip download --no-deps trl==1.16.0`` (wheel path in ``NEX_TRL_WHEEL``);
nothing is copied into the repository. Where transformers is installed, nex's ids and masks must
equal ``apply_chat_template(..., return_assistant_tokens_mask=True)`` exactly.
"""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import pytest
from tokens_helpers import (
    FINAL_TEXT,
    SYSTEM_TEXT,
    TOOL_TEXTS,
    TOOLS,
    USER_TEXT,
    build_tokenizer_folder,
    conversation,
    corpus,
    trl_template,
)

from nex_core.tokens import ChatTemplateError, load_tokenizer

# Families whose training template renders a system prompt, tools and parallel calls.
TRAINING = [
    "qwen2_5",
    "qwen3",
    "qwen3_6",
    "qwen3_5_nothink",
    "llama3",
    "deepseekv3",
    "glm4moe",
    "gptoss",
    "nemotron_3_nano",
    "phi3",
]
# Original templates (no markers) whose renders of prefixes are prefixes of the whole.
PREFIX_PRESERVING = ["qwen2_5", "qwen3_6", "gptoss", "glm4moe", "qwen3_instruct_2507"]


def folder_for(tmp_path: Path, name: str) -> Path:
    source = trl_template(f"{name}_training")
    if source is None:
        pytest.skip("TRL's chat templates are not available (pip download --no-deps trl)")
    return build_tokenizer_folder(tmp_path / name, corpus(), source)


def hf_messages() -> list[dict]:
    """The sample as transformers users pass it: object arguments, named tool replies."""
    from nex_core.tokens._messages import template_messages

    return template_messages(conversation())


@pytest.mark.parametrize("name", TRAINING)
def test_training_template_masks(tmp_path: Path, name: str) -> None:
    folder = folder_for(tmp_path, name)
    tok = load_tokenizer(str(folder))
    assert tok.mask_method == "generation"
    sample = tok.tokenize(conversation(), TOOLS)
    runs = [tok.decode(sample.input_ids[a:b]) for a, b in sample.trained_spans()]
    assert runs, name
    assert FINAL_TEXT in runs[-1]
    for run in runs:
        for prompt in (SYSTEM_TEXT, USER_TEXT, *TOOL_TEXTS):
            assert prompt not in run
    if importlib.util.find_spec("transformers") is None:
        return
    from transformers import AutoTokenizer

    hf = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    expected = hf.apply_chat_template(
        copy.deepcopy(hf_messages()),
        tools=TOOLS,
        tokenize=True,
        return_dict=True,
        return_assistant_tokens_mask=True,
    )
    assert sample.input_ids == list(expected["input_ids"])
    assert sample.assistant_masks == list(expected["assistant_masks"])


@pytest.mark.parametrize("name", PREFIX_PRESERVING)
def test_prefix_masks_of_original_templates(tmp_path: Path, name: str) -> None:
    folder = folder_for(tmp_path, name)
    original = trl_template(name)
    assert original is not None
    (tmp_path / f"{name}.jinja").write_text(original)
    by_prefix = load_tokenizer(str(folder), chat_template=str(tmp_path / f"{name}.jinja"))
    assert by_prefix.mask_method == "prefix"
    sample = by_prefix.tokenize(conversation(), TOOLS)
    runs = [by_prefix.decode(sample.input_ids[a:b]) for a, b in sample.trained_spans()]
    assert len(runs) >= 2 and FINAL_TEXT in runs[-1]
    assert "Asia/Tokyo" in runs[0]  # gpt-oss writes only the first call of a batch
    for run in runs:
        for prompt in (SYSTEM_TEXT, USER_TEXT, *TOOL_TEXTS):
            assert prompt not in run
    # Where the original and its training variant render the same ids, every token the prefix
    # method trains is one the training template marks too (the generation prompt, such as an
    # empty think block, is prompt for the prefix method: the model never wrote it).
    marked = load_tokenizer(str(folder)).tokenize(conversation(), TOOLS)
    if marked.input_ids == sample.input_ids:
        assert all(
            m >= p for m, p in zip(marked.assistant_masks, sample.assistant_masks, strict=True)
        )


def test_a_template_that_drops_earlier_reasoning_cannot_be_masked_by_prefix(
    tmp_path: Path,
) -> None:
    folder = folder_for(tmp_path, "qwen3")
    original = trl_template("qwen3")
    assert original is not None
    (tmp_path / "qwen3.jinja").write_text(original)
    tok = load_tokenizer(str(folder), chat_template=str(tmp_path / "qwen3.jinja"))
    with pytest.raises(ChatTemplateError, match=r"\{% generation %\}"):
        tok.tokenize(conversation(), TOOLS)
