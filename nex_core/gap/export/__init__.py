"""Export: trajectories → training data in several tool-invocation formats and layouts."""

from nex_core.gap.export.datasets import DatasetFormat, OpenAIChat, ShareGPT
from nex_core.gap.export.formats import (
    HermesToolFormat,
    JSONBlockToolFormat,
    NativeToolFormat,
    PythonicToolFormat,
    ReActToolFormat,
    TextFormat,
)
from nex_core.gap.export.render import Conversation, render
from nex_core.gap.export.run import ExportOptions, export
from nex_core.gap.export.samples import Sample, samples_of
from nex_core.gap.export.split import split_of

__all__ = [
    "Conversation",
    "DatasetFormat",
    "ExportOptions",
    "HermesToolFormat",
    "JSONBlockToolFormat",
    "NativeToolFormat",
    "OpenAIChat",
    "PythonicToolFormat",
    "ReActToolFormat",
    "Sample",
    "ShareGPT",
    "TextFormat",
    "export",
    "render",
    "samples_of",
    "split_of",
]
