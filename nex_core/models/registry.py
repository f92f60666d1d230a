"""Model references on the command line and in configs: ``PROVIDER:ARG``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nex_core.errors import SpecError
from nex_core.hookspecs import hookimpl

if TYPE_CHECKING:  # annotations only: this module is a plugin nex loads at start-up
    from nex_core.models.base import ChatModel


def _scripted(arg: str, **_: Any) -> ChatModel:
    from nex_core.models.scripted import ScriptedModel

    return ScriptedModel.from_file(arg)


def _replay(arg: str, **_: Any) -> ChatModel:
    from nex_core.models.replay import ReplayModel

    path, _sep, number = arg.partition("#")
    if not (number or "0").isdigit():
        raise SpecError(
            f"model reference 'replay:{arg}': '#{number}' must be the number of a trajectory "
            "in the file (0 for the first)"
        )
    return ReplayModel.from_file(path, int(number or 0))


def _openai(arg: str, **options: Any) -> ChatModel:
    from nex_core.models.openai_compat import OpenAICompatibleModel

    return OpenAICompatibleModel(model=arg, **options)


@hookimpl
def nex_model_providers() -> dict[str, Any]:
    return {"scripted": _scripted, "replay": _replay, "openai": _openai}


def make_model(reference: str, **options: Any) -> ChatModel:
    """Build a model from ``provider:arg`` (``scripted:script.yaml``, ``openai:gpt-4o-mini``)."""
    from nex_core.plugins import get_plugin_manager

    provider, sep, arg = reference.partition(":")
    pm = get_plugin_manager()
    factory = pm.lookup("nex_model_providers", provider) if sep else None
    if factory is None:
        from nex_core.plugins import unknown_name_hint

        providers = sorted(pm.merged("nex_model_providers"))
        hint = f"; {unknown_name_hint(provider, providers, shipped={})}" if sep else ""
        raise SpecError(
            f"model reference '{reference}' must look like PROVIDER:ARG with PROVIDER one of "
            f"{', '.join(providers)} (e.g. scripted:script.yaml, openai:gpt-4o-mini){hint}"
        )
    return factory(arg, **options)
