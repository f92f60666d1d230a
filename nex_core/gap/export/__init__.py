"""Export: trajectories → training data for a consumer, in several tool-invocation formats.

The pipeline, one stage per module::

    trajectories.jsonl ─ samples_of ─▶ Sample ─ render(fmt) ─▶ Conversation ─ Target.row ─▶ row
        (samples.py)                  (render.py: one format)   (targets/: hf, openai, sharegpt)
    row ─ SampleTransform(s) ─▶ row + columns ─ OutputFiles ─▶ JSONL / Parquet row groups
                                               (writers.py; staging.py makes it atomic)

The trajectory is never changed to suit a format or a target. A sample a format cannot express
(``ToolFormatError`` from the format) or a row a target cannot write (``SkipSample``) is counted
in the manifest under its reason and left out; nothing a trajectory holds crashes an export.

**The seam for per-sample transforms.** ``export(..., transforms=[t])`` calls each transform
once per row after the target built it: ``t(row, conversation, target)`` returns extra columns
(``input_ids``/``labels`` from a tokenizer and chat template, rewards ...), declared in
``t.columns`` with a :class:`Column` kind so Parquet and the dataset cards type them; raising
``SkipSample(reason)`` leaves the row out with a counted reason. The manifest lists the
transforms and their columns.
"""

from nex_core.gap.export.columns import Column
from nex_core.gap.export.formats import (
    HermesToolFormat,
    JSONBlockToolFormat,
    NativeToolFormat,
    PythonicToolFormat,
    ReActToolFormat,
    TextFormat,
)
from nex_core.gap.export.render import Conversation, Turn, render
from nex_core.gap.export.run import ExportOptions, SampleTransform, export
from nex_core.gap.export.samples import Sample, samples_of
from nex_core.gap.export.split import split_of
from nex_core.gap.export.targets import (
    HFTarget,
    OpenAITarget,
    ShareGPTTarget,
    SkipSample,
    Target,
    available_targets,
    get_target,
)

__all__ = [
    "Column",
    "Conversation",
    "ExportOptions",
    "HFTarget",
    "HermesToolFormat",
    "JSONBlockToolFormat",
    "NativeToolFormat",
    "OpenAITarget",
    "PythonicToolFormat",
    "ReActToolFormat",
    "Sample",
    "SampleTransform",
    "ShareGPTTarget",
    "SkipSample",
    "Target",
    "TextFormat",
    "Turn",
    "available_targets",
    "export",
    "get_target",
    "render",
    "samples_of",
    "split_of",
]
