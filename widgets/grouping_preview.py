"""The grouping editor's live preview under the board: what the grouping on screen would build and rebuild."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from uvscope.analysis.output.text import size
from uvscope.analysis.plan.grouping import Preview
from uvscope.analysis.plan.layer_plan import Replay


class GroupingPreview(Static):
    """Each layer's size, what a typical change rebuilds today and with the groups, and, over uv.lock's git
    history, what the past lock changes pushed today and would have pushed with the groups."""

    def show(
        self,
        shown: Preview,
        from_dockerfile: bool,
        reading_history: bool = False,
        replayed: tuple[Replay, Replay] | None = None,
        changes: int = 0,
    ) -> None:
        """Show `shown` (worked out from the project's Dockerfile when `from_dockerfile`, else the usual uv
        Dockerfile); then either that the history is still being read, or today's and the grouping's replays
        (`replayed`) over the last `changes` lock changes."""
        layers = "   ".join(f"{layer.name}: {size(layer.bytes)}" for layer in shown.layers)
        costs = "\n".join(
            f"  {cost.change:<28} today {size(cost.today):>10}   with the groups {size(cost.proposed):>10}" for cost in shown.costs
        )
        heading = "in the final image, from the Dockerfile" if from_dockerfile else "(the usual uv Dockerfile)"
        parts: list[str | tuple[str, str]] = [
            ("layers", "bold"),
            f"  {layers}\n",
            ("a typical change rebuilds", "bold"),
            f" {heading}\n{costs}",
        ]
        if reading_history:
            parts.append(("\nreading uv.lock history…", "italic"))
        elif replayed is not None:
            today, planned = replayed
            parts += [
                ("\nover the last " + f"{changes} lock changes:", "bold"),
                f" {size(today.total)} pushed today, {size(planned.total)} with these groups (c: per change)",
            ]
        self.update(Text.assemble(*parts))
