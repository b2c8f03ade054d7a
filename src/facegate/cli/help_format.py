"""``--help`` without ``<bool>`` on switches.

Typer's rich help prints every option's type, and for a switch (``--json``, ``--strict``,
``--help`` itself) that is ``<bool>``, as if the switch took a value. Click's plain help
leaves a flag's type out; ``hide_flag_types`` makes the rich help do the same, for every
command, by wrapping the one method both use to name an option's type.
"""

from __future__ import annotations

from collections.abc import Callable

from typer.core import TyperOption

# Typer carries its own copy of click; its Context is the one the method receives.
from typer.models import Context as _ClickContext

_TypeLabel = Callable[[TyperOption, _ClickContext], "str | None"]
_MARK = "_facegate_hides_flag_types"


def hide_flag_types() -> None:
    """Patch ``TyperOption`` once so a flag (or counter) shows no type in ``--help``."""
    if getattr(TyperOption, _MARK, False):
        return
    original: _TypeLabel = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: _ClickContext) -> str | None:
        if self.is_flag or self.count:
            return None
        return original(self, ctx)

    # Typer declares the parameter as its private click copy's Context; what it passes is
    # always its own subclass, typer.models.Context, which is what the wrapper names.
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign,assignment]
    setattr(TyperOption, _MARK, True)
