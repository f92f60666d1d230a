"""Model references on the command line and in configs: ``PROVIDER:ARG``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nex_core.errors import SpecError
from nex_core.hookspecs import hookimpl

if TYPE_CHECKING:  # annotations only: this module is a plugin nex loads at start-up
    from nex_core.models.base import ChatModel
    from nex_core.protocol.spec import AgentSpec, ModelSettings, TeamSpec


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
    """Build a model from ``provider:arg`` (``scripted:script.yaml``, ``openai:gpt-4o-mini``).

    A ``settings`` option (a spec's :class:`ModelSettings`) reaches only providers whose factory
    takes it (a ``settings`` parameter or ``**options``), so older plugins keep working."""
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
    if "settings" in options and not _takes_settings(factory):
        options = {k: v for k, v in options.items() if k != "settings"}
    return factory(arg, **options)


def _takes_settings(factory: Any) -> bool:
    import inspect

    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):  # a builtin or C callable: say nothing it may refuse
        return False
    return any(p.name == "settings" or p.kind is p.VAR_KEYWORD for p in parameters)


def root_model_settings(spec: AgentSpec | TeamSpec) -> ModelSettings:
    """The model settings a run of ``spec`` starts with (a team's: its first member's)."""
    from nex_core.protocol.spec import AgentSpec

    return spec.model if isinstance(spec, AgentSpec) else spec.members[0].model


def register_spec_secrets(spec: AgentSpec | TeamSpec) -> None:
    """Register every ``model.api_key`` the spec references and the environment holds, so a
    key is scrubbed from the record even where a tool or the model echoes it."""
    from nex_core.protocol.secrets import resolve
    from nex_core.protocol.spec import TeamSpec
    from nex_core.trajectory.redact import register_secret

    settings = [agent.model for agent in spec.walk()]
    if isinstance(spec, TeamSpec) and spec.selector_model is not None:
        settings.append(spec.selector_model)
    for entry in settings:
        if entry.api_key is None:
            continue
        try:
            register_secret(resolve(entry.api_key))
        except SpecError:
            continue  # unset: nothing to hide, and the model says so if it needs the key


def model_for_spec(reference: str, spec: AgentSpec | TeamSpec, **options: Any) -> ChatModel:
    """The model that runs ``spec``: ``reference`` built with the spec's own model settings
    (its ``api_key`` and ``base_url`` references, its id when the reference names none) under
    whatever the caller set explicitly: an ``api_key_env`` or ``base_url`` option wins over
    the spec's."""
    register_spec_secrets(spec)
    settings = root_model_settings(spec)
    if options.get("api_key_env"):
        settings = settings.model_copy(update={"api_key": None})
    else:
        options.pop("api_key_env", None)
    return make_model(reference, settings=settings, **options)
