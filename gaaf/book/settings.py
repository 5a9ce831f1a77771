"""What a chapter says about the settings of its runs, read from the records' configs:
the settings every run shares, then what each group sets otherwise (its variant), so
that no setting is printed above a run that does not use it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gaaf.analysis.stats import Groups, Record, present
from gaaf.experiments.labels import display

__all__ = ["by_group", "code", "settings_text", "shared"]

LEFT_OUT = ("seed",)
"""Config fields that differ between runs of one group by design."""


def shared(records: Sequence[Record]) -> dict[str, Any]:
    """The config fields (``seed`` left out, unset ones too) equal in all ``records``."""
    configs = [r["config"] for r in records]
    if not configs:
        return {}
    return {
        k: v
        for k, v in configs[0].items()
        if k not in LEFT_OUT and v is not None and all(c.get(k) == v for c in configs)
    }


def code(settings: dict[str, Any]) -> str:
    """``"`lr=0.01`, `momentum=0.9`"``: settings as code, in the config's order."""
    return ", ".join(f"`{k}={v}`" for k, v in settings.items())


def by_group(groups: Groups) -> dict[str, dict[str, Any]]:
    """Per group with records: the settings its runs share that not all runs of
    ``groups`` share (a config field another group sets otherwise)."""
    shown = present(groups)
    common = shared([r for rs in shown.values() for r in rs])
    return {
        name: {k: v for k, v in shared(rs).items() if k not in common}
        for name, rs in shown.items()
    }


def settings_text(groups: Groups) -> str:
    """Markdown: the settings all runs of ``groups`` share, then a bullet per group
    that sets others (its variant); :data:`~gaaf.experiments.runs.NOT_RUN`-free: empty without
    records."""
    shown = present(groups)
    if not shown:
        return ""
    common = shared([r for rs in shown.values() for r in rs])
    text = "Settings all runs shown share: " + (code(common) or "none") + "."
    own = {n: s for n, s in by_group(shown).items() if s}
    if own:
        text += "\n\nSet otherwise per group:\n\n" + "\n".join(
            f"- {display(n)}: {code(s)}" for n, s in own.items()
        )
    return text
