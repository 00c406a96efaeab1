"""Markdown renderings of uvscope's documents, for pull-request comments and terminals."""

from __future__ import annotations

from typing import Any

from ..untrusted import md_code, md_prose, md_text
from .text import count, elide, percent, short_command, size


class Cell(str):
    """A table cell that is already Markdown (a code span, escaped text); any other cell is text to escape."""


def _code(value: str) -> Cell:
    """An image value (a name, a version, a path) for a table cell: a code span nothing inside can break."""
    return Cell(md_code(value, in_table=True))


def _table(headers: list[str], rows: list[list[str]], align: str = "") -> list[str]:
    """A GFM table; each cell that is not a `Cell` is escaped, so every row has exactly the header's cells."""
    align = align or "l" * len(headers)
    marks = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(marks) + " |"]
    lines += ["| " + " | ".join(cell if isinstance(cell, Cell) else md_text(cell) for cell in row) + " |" for row in rows]
    return lines


def _command(text: str, width: int = 70) -> Cell:
    return _code(short_command(text, width))


def diff_markdown(doc: dict[str, Any]) -> str:
    """`uvscope.diff/1` as Markdown."""
    a, b = doc["a"], doc["b"]
    packages = doc["packages"]
    new = [layer for layer in doc["layers"] if layer["status"] == "new"]
    lines = [
        f"## {md_code(a['ref'])} → {md_code(b['ref'])}",
        "",
        f"Pulling **{md_code(b['ref'])}** when you have {md_code(a['ref'])} costs **{size(doc['pull_bytes'])}** "
        f"({len(new)} new of {count(len(doc['layers']), 'layer')}; image {size(a['size_bytes'])} → {size(b['size_bytes'])}).",
        "",
    ]
    identical = doc["identical_content"]
    if identical["bytes"]:
        reshipped = packages["reinstalled_identical"]
        parts = [f"{size(identical['reinstalled_identical_bytes'])} in the {count(len(reshipped), 'package')} re-shipped identical"]
        if identical["other_packages_bytes"]:
            parts.append(f"{size(identical['other_packages_bytes'])} in files of other packages")
        if identical["outside_packages_bytes"]:
            parts.append(f"{size(identical['outside_packages_bytes'])} outside any package")
        lines += [
            f"Of that, **{size(identical['bytes'])}** is content A already had (same RECORD hash or bytes; "
            f"bytecode of an identical source), shipped again: {', '.join(parts)}.",
            "",
        ]
    rows = [
        [
            str(layer["index"]),
            layer["status"],
            size(layer["size_bytes"]),
            size(layer["identical_content_bytes"]) if layer["status"] == "new" else "",
            _command(layer.get("created_by", "")),
        ]
        for layer in doc["layers"]
    ]
    lines += ["### Layers", ""] + _table(["#", "status", "size", "identical content", "command"], rows, "rlrrl") + [""]
    for title, key in (("Added", "added"), ("Removed", "removed")):
        if packages[key]:
            rows = [[_code(p["name"]), _code(p["version"]), size(p["bytes"])] for p in packages[key]]
            lines += [f"### {title} packages", ""] + _table(["package", "version", "size"], rows, "llr") + [""]
    if packages["changed"]:
        rows = [[_code(p["name"]), _code(p["from"]), _code(p["to"]), p["direction"], f"{p['bytes_delta']:+,}"] for p in packages["changed"]]
        lines += ["### Changed packages", ""] + _table(["package", "from", "to", "", "bytes Δ"], rows, "llllr") + [""]
    if packages["reinstalled_identical"]:
        rows = [[_code(p["name"]), _code(p["version"]), size(p["bytes"])] for p in packages["reinstalled_identical"]]
        lines += (
            [
                "### Re-shipped although identical",
                "",
                "<details><summary>"
                f"{count(len(rows), 'package')}, {size(sum(p['bytes'] for p in packages['reinstalled_identical']))}: same version and files, "
                "in a new layer (the layer was rebuilt although they did not change)</summary>",
                "",
            ]
            + _table(["package", "version", "re-shipped"], rows, "llr")
            + ["", "</details>", ""]
        )
    if packages.get("reinstalled_changed"):
        rows = [[_code(p["name"]), _code(p["version"]), size(p["bytes"])] for p in packages["reinstalled_changed"]]
        lines += ["### Rebuilt at the same version (files differ)", ""] + _table(["package", "version", "shipped"], rows, "llr") + [""]
    return "\n".join(lines)


HISTORY_ENGINE_NOTE = (
    "~ the engine's own layer sizes (they count symlinks): within a few kB of the sum of the layers' "
    "contents that `report` and `diff` show; read the image once (`uvscope report`) for the exact figure."
)


def history_markdown(doc: dict[str, Any]) -> str:
    """`uvscope.history/1` as Markdown."""
    lines = []
    if doc["images"]:
        lines += ["## Image history", ""]
        mark = {"layers": "", "engine": "~"}
        rows = [
            [
                _code(i["ref"]),
                i["created"][:19],
                *(mark[i.get("size_source", "layers")] + size(i[key]) for key in ("size_bytes", "new_bytes", "reused_bytes")),
            ]
            for i in doc["images"]
        ]
        lines += _table(["image", "created", "size", "new", "reused"], rows, "llrrr") + [""]
        if any(i.get("size_source") == "engine" for i in doc["images"]):
            lines += [HISTORY_ENGINE_NOTE, ""]
    if doc["lock_commits"]:
        lines += ["## uv.lock history", ""]
        rows = []
        for c in doc["lock_commits"]:
            parts = [f"+{md_code(p['name'] + ' ' + p['version'], in_table=True)}" for p in c["added"]]
            parts += [f"-{md_code(p['name'], in_table=True)}" for p in c["removed"]]
            parts += [md_code(f"{p['name']} {p['from']}→{p['to']}", in_table=True) for p in c["changed"]]
            text = Cell(", ".join(parts[:8]) + (f" (+{len(parts) - 8} more)" if len(parts) > 8 else ""))
            row = [_code(c["commit"][:10]), c["date"][:10], elide(c["subject"], 50), text]
            if "rebuild_bytes_current" in c:
                grouped = c["rebuild_bytes_grouped"]
                row += [size(c["rebuild_bytes_current"]), size(grouped) if grouped is not None else ""]
            rows.append(row)
        headers = ["commit", "date", "subject", "packages"]
        if rows and len(rows[0]) > 4:
            headers += ["rebuilt today", "with groups"]
        lines += _table(headers, rows) + [""]
    if not lines:
        lines = ["No images and no uv.lock commits to show."]
    return "\n".join(lines)


def report_markdown(doc: dict[str, Any], top: int = 15) -> str:
    """`uvscope.report/1` as Markdown for a pull-request comment."""
    image = doc["image"]
    lines = [
        f"## uvscope: {md_code(image['ref'])}",
        "",
        f"**{size(image['size_bytes'])}** in {count(len(doc['layers']), 'layer')}, {count(len(doc['packages']), 'package')} · "
        f"efficiency **{percent(image['efficiency'])}** (dive's) · reclaimable **{size(image['reclaimable_bytes'])}**",
        "",
    ]
    if doc.get("findings"):
        lines += ["### Findings", ""]
        for f in doc["findings"]:
            lines += [
                f"- **{md_text(f['severity'])}** {md_prose(f['title'])}  ",
                f"  {md_prose(f['detail'])}  ",
                f"  *Fix:* {md_prose(f['fix'])}",
            ]
        lines.append("")
    rows = [
        [str(layer["index"]), size(layer["size_bytes"]), str(layer["file_count"]), _command(layer["created_by"])] for layer in doc["layers"]
    ]
    lines += ["### Layers", ""] + _table(["#", "size", "files", "command"], rows, "rrrl") + [""]
    if doc["packages"]:
        rows = [
            [
                _code(p["name"]),
                _code(p["version"]),
                size(p["bytes"]),
                (p["lock"] or {}).get("status", ""),
                ",".join(map(str, p["layer_bytes"])),
                size(p["closure"]["bytes"]) if p["closure"] else "",
            ]
            for p in doc["packages"][:top]
        ]
        lines += ["### Largest packages", ""] + _table(["package", "version", "size", "lock", "layers", "closure"], rows, "llrllr")
        if len(doc["packages"]) > top:
            rest = [[_code(p["name"]), _code(p["version"]), size(p["bytes"])] for p in doc["packages"][top:]]
            lines += (
                ["", f"<details><summary>{len(rest)} more packages</summary>", ""]
                + _table(["package", "version", "size"], rest, "llr")
                + ["", "</details>"]
            )
        lines.append("")
    reclaimable = doc["reclaimable"]
    if reclaimable["paths"]:
        rows = [[size(p["bytes"]), _code(p["path"]), f"{p['reason']} in layer {p['hidden_by']}"] for p in reclaimable["paths"][:top]]
        lines += (
            [
                "<details><summary>Waste: " + size(reclaimable["bytes"]) + f" in {reclaimable['copies']} hidden copies</summary>",
                "",
            ]
            + _table(["bytes", "path", "why"], rows, "rll")
            + ["", "</details>", ""]
        )
    attribution = doc.get("attribution")
    if attribution:
        lines += [
            f"Python environments: {', '.join(md_code(e) for e in attribution['environments']) or 'none'} · "
            f"{size(attribution['attributed_bytes'])} of {size(attribution['site_packages_bytes'])} attributed to packages.",
            "",
        ]
    return "\n".join(lines)
