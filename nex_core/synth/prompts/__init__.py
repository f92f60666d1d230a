"""The generator's prompts, shipped as package data and versioned: ``NAME-vN.md``.

A prompt changes by adding a new version, never by editing one that has produced systems: the
manifest of a synth run names each prompt it used with its version and digest.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

from nex_core.errors import SpecError

VERSIONS = {"generator": 1, "request": 1, "repair": 1}
"""The version of each prompt synth uses now."""


@dataclass(frozen=True)
class Prompt:
    name: str
    version: int
    text: str

    @property
    def id(self) -> str:
        return f"{self.name}-v{self.version}"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    def render(self, **values: object) -> str:
        """The text with each ``{{key}}`` replaced (braces elsewhere are left alone: prompts
        hold YAML and JSON examples)."""
        text = self.text
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", str(value))
        return text

    def provenance(self) -> dict[str, str | int]:
        return {"name": self.name, "version": self.version, "sha256": self.sha256}


def load_prompt(name: str, version: int | None = None) -> Prompt:
    """A shipped prompt (the current version unless one is given)."""
    wanted = version if version is not None else VERSIONS.get(name)
    resource = resources.files(__name__) / f"{name}-v{wanted}.md"
    if wanted is None or not resource.is_file():
        raise SpecError(f"no synth prompt '{name}' version {wanted}")
    return Prompt(name, wanted, resource.read_text(encoding="utf-8"))
