"""`optimize --prove`'s figures as a JSON document and as Markdown: one short table per Dockerfile."""

from __future__ import annotations

from ..plan.cold_build import INLINE, github_actions_lines
from ..plan.prove import DockerfileProof, Proof
from ..units import size


def _pushed(pushed) -> dict | None:
    return None if pushed is None else {"bytes": pushed.bytes, "blobs": pushed.blobs, "record": pushed.record}


def _row(result: DockerfileProof, groups: tuple[str, ...]) -> dict:
    return {
        "dockerfile": result.label,
        "image_bytes": result.after.size,
        "recreated_bytes": result.recreated_bytes,
        "recreated_share": round(result.recreated_share, 6),
        "pushed_after": _pushed(result.pushed),
        "pushed_before": _pushed(result.pushed_before),
        "rebuild_seconds": round(result.rebuild_seconds, 2) if result.rebuild_seconds is not None else None,
        "groups_kept": {group: result.kept(group) for group in groups} if result.label == "revised" else {},
        "group_layers": {group: list(ids) for group, ids in result.group_layers.items()},
        "images": {"before": result.before.tag, "after": result.after.tag},
        "diff_ids": {"before": list(result.before.diff_ids), "after": list(result.after.diff_ids)},
    }


def proof_document(proof: Proof, shape: str) -> dict:
    """Every figure of the proof (`optimize --prove --format json`)."""
    predicted = {"today": proof.predicted[0], "with_groups": proof.predicted[1]} if proof.predicted else None
    return {
        "change": proof.change,
        "groups": list(proof.groups),
        "shape": shape,
        "registry": proof.registry,
        "cold": proof.cold,
        "results": [_row(result, proof.groups) for result in (proof.original, proof.revised)],
        "predicted_bump": predicted,
        "github_actions": github_actions_lines("REGISTRY/IMAGE"),
    }


def proof_markdown(document: dict, keep_images: bool) -> str:
    """The proof for a pull request: per Dockerfile, what the change re-created, pushed and took to rebuild."""
    lines = [f"## uvscope --prove: {document['change']}", ""]
    cold = document["cold"]
    for row in document["results"]:
        lines += [f"**{row['dockerfile']} Dockerfile**", "", "| after the change | |", "|---|---:|"]
        lines.append(f"| final image (uncompressed) | {size(row['image_bytes'])} |")
        lines.append(f"| re-created (uncompressed) | {size(row['recreated_bytes'])} ({row['recreated_share']:.1%}) |")
        if row["pushed_after"] is not None:
            pushed = row["pushed_after"]
            lines.append(f"| pushed (compressed, {pushed['record']}) | {size(pushed['bytes'])} in {pushed['blobs']} blobs |")
        if row["rebuild_seconds"] is not None:
            lines.append(f"| rebuild{' on a cold builder' if cold else ''} | {row['rebuild_seconds']:.1f} s |")
        if row["groups_kept"]:
            kept = ", ".join(f"{group} {'kept' if ok else 'REBUILT'}" for group, ok in row["groups_kept"].items())
            lines.append(f"| groups' layers | {kept} |")
        lines.append("")
    if cold:
        how = "an inline cache (--cache-from the previous image)" if cold == INLINE else "a registry cache, mode=max"
        lines.append(f"cold builder: a throwaway dockerd, empty BuildKit cache, importing {how}")
    predicted = document["predicted_bump"]
    if predicted:
        lines.append(
            f"uvscope's preview, with package sizes from the original image, said a version bump re-creates "
            f"{size(predicted['today'])} today and {size(predicted['with_groups'])} with the groups "
            "(Python packages and project files only)"
        )
    lines += ["", "For CI to reuse the group stages, add to the docker/build-push-action step:"]
    lines += [f"    {line}" for line in document["github_actions"]]
    if keep_images:
        lines.append("")
        lines.append("images: " + ", ".join(f"{row['images']['before']} {row['images']['after']}" for row in document["results"]))
    return "\n" + "\n".join(lines) + "\n"
