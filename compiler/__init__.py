"""mlops.yaml -> generated files: targets render, the writer decides per file, the lock remembers.

Phases: load (spec) -> render (targets, templates) -> decide (writer + lock) -> write or check.
"""

from .compile import prepare, write
from .plan import GeneratedFile, RenderContext, Target

__all__ = ["GeneratedFile", "RenderContext", "Target", "prepare", "write"]
