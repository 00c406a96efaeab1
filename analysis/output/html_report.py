"""`uvscope.report/1` as one self-contained HTML file: inline SVG charts, a sortable,
filterable package table, the findings. No network access when opened."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from ..untrusted import html_prose, html_text
from .text import elide_path, percent, size

PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#9c755f"]
OTHER = "#bab0ac"

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#222;max-width:1200px}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
.summary span{display:inline-block;margin-right:1.5rem}.summary b{font-size:1.2rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{padding:.25rem .5rem;border-bottom:1px solid #ddd;text-align:left}
th{cursor:pointer;background:#f4f4f4;user-select:none}td.n,th.n{text-align:right}
.finding{border-left:4px solid #ccc;padding:.3rem .8rem;margin:.6rem 0}.high{border-color:#e15759}.medium{border-color:#f28e2b}.low{border-color:#76b7b2}
code{background:#f4f4f4;padding:0 .2rem}svg text{font-size:11px;fill:#333}.legend span{margin-right:1rem}
.legend i{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}
input{padding:.3rem;margin:.5rem 1rem .5rem 0}
"""

SCRIPT = """
(function(){
  var table=document.getElementById('packages');var body=table.tBodies[0];
  var rows=Array.prototype.slice.call(body.rows);var state={col:2,dir:-1};
  function value(row,col){var c=row.cells[col];var v=c.getAttribute('data-v');return v!==null?parseFloat(v):c.textContent.toLowerCase();}
  function render(){
    var text=document.getElementById('filter').value.toLowerCase();
    var min=parseFloat(document.getElementById('min').value||'0')*1e6;
    var sorted=rows.slice().sort(function(a,b){var x=value(a,state.col),y=value(b,state.col);return (x<y?-1:x>y?1:0)*state.dir;});
    var shown=0;
    sorted.forEach(function(row){var ok=row.textContent.toLowerCase().indexOf(text)>=0&&parseFloat(row.cells[2].getAttribute('data-v'))>=min;
      row.style.display=ok?'':'none';if(ok){shown++;}body.appendChild(row);});
    document.getElementById('shown').textContent=shown+' of '+rows.length+' packages';
  }
  Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,i){th.addEventListener('click',function(){state.dir=state.col===i?-state.dir:(th.className==='n'?-1:1);state.col=i;render();});});
  document.getElementById('filter').addEventListener('input',render);document.getElementById('min').addEventListener('input',render);
  render();
  document.body.setAttribute('data-charts',String(document.querySelectorAll('svg.chart rect.bar').length));
  document.body.setAttribute('data-ready','1');
})();
"""

GUARD = """
window.__uvscopeErrors=0;window.addEventListener('error',function(){window.__uvscopeErrors++;document.documentElement.setAttribute('data-errors',String(window.__uvscopeErrors));});
(function(){var e=console.error;console.error=function(){window.__uvscopeErrors++;document.documentElement.setAttribute('data-errors',String(window.__uvscopeErrors));return e.apply(console,arguments);};})();
document.documentElement.setAttribute('data-errors','0');
"""


def _stacked_layers(doc: dict[str, Any], width: int = 900, top: int = 5) -> str:
    layers = doc["layers"]
    packages = doc["packages"][:top]
    colors = {p["name"]: PALETTE[i % len(PALETTE)] for i, p in enumerate(packages)}
    largest = max((layer["size_bytes"] for layer in layers), default=0) or 1
    row, label = 22, 60
    bars = []
    for i, layer in enumerate(layers):
        x = label
        segments = [(p["name"], p["layer_bytes"].get(str(layer["index"]), 0)) for p in packages]
        other = max(0, layer["size_bytes"] - sum(b for _, b in segments))
        for name, nbytes in segments + [("other", other)]:
            if nbytes <= 0:
                continue
            w = max(1.0, (width - label - 80) * nbytes / largest)
            color = colors.get(name, OTHER)
            bars.append(
                f'<rect class="bar" x="{x:.1f}" y="{i * row + 4}" width="{w:.1f}" height="{row - 8}" fill="{color}"><title>{html_text(name)}: {size(nbytes)}</title></rect>'
            )
            x += w
        bars.append(
            f'<text x="0" y="{i * row + 15}">layer {layer["index"]}</text><text x="{x + 6:.1f}" y="{i * row + 15}">{size(layer["size_bytes"])}</text>'
        )
    legend = (
        "".join(f'<span><i style="background:{c}"></i>{html_text(n)}</span>' for n, c in colors.items())
        + f'<span><i style="background:{OTHER}"></i>other</span>'
    )
    return f'<div class="legend">{legend}</div><svg class="chart" id="chart-layers" width="{width}" height="{len(layers) * row + 4}" role="img">{"".join(bars)}</svg>'


def _hbars(chart_id: str, items: list[tuple[str, int]], width: int = 900, color: str = PALETTE[0]) -> str:
    if not items:
        return f'<p>none</p><svg class="chart" id="{chart_id}" width="0" height="0"></svg>'
    largest = max(b for _, b in items) or 1
    row, label = 22, 220
    parts = []
    for i, (name, nbytes) in enumerate(items):
        w = max(1.0, (width - label - 90) * nbytes / largest)
        parts.append(
            f'<text x="0" y="{i * row + 15}">{html_text(elide_path(name, 34))}<title>{html_text(name)}</title></text>'
            f'<rect class="bar" x="{label}" y="{i * row + 4}" width="{w:.1f}" height="{row - 8}" fill="{color}"><title>{size(nbytes)}</title></rect>'
            f'<text x="{label + w + 6:.1f}" y="{i * row + 15}">{size(nbytes)}</text>'
        )
    return f'<svg class="chart" id="{chart_id}" width="{width}" height="{len(items) * row + 4}" role="img">{"".join(parts)}</svg>'


def report_html(doc: dict[str, Any]) -> str:
    """The whole page."""
    image = doc["image"]
    findings = (
        "".join(
            f'<div class="finding {html_text(f["severity"])}"><b>{html_prose(f["title"])}</b><br>{html_prose(f["detail"])}<br><i>Fix:</i> {html_prose(f["fix"])}</div>'
            for f in doc.get("findings", [])
        )
        or "<p>No findings.</p>"
    )
    rows = "".join(
        "<tr>"
        f"<td>{html_text(p['name'])}</td><td>{html_text(p['version'])}</td>"
        f'<td class="n" data-v="{p["bytes"]}">{size(p["bytes"])}</td>'
        f"<td>{html_text((p['lock'] or {}).get('status', ''))}</td>"
        f"<td>{html_text(','.join(p['layer_bytes']))}</td>"
        f'<td class="n" data-v="{(p["closure"] or {}).get("bytes", 0)}">{size(p["closure"]["bytes"]) if p["closure"] else ""}</td>'
        f'<td class="n" data-v="{p["reshipped_bytes"]}">{size(p["reshipped_bytes"]) if p["reshipped_bytes"] else ""}</td>'
        f"<td>{html_text(p['environment'])}</td>"
        "</tr>"
        for p in doc["packages"]
    )
    reclaimable = [(p["path"], p["bytes"]) for p in doc["reclaimable"]["paths"][:15]]
    top_packages = [(p["name"], p["bytes"]) for p in doc["packages"][:15]]
    data = escape(json.dumps({"schema": doc["schema"], "image": image}))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>uvscope: {html_text(image["ref"])}</title><script>{GUARD}</script><style>{STYLE}</style></head>
<body data-report="{data}">
<h1>uvscope: <code>{html_text(image["ref"])}</code></h1>
<p class="summary"><span>size <b>{size(image["size_bytes"])}</b></span><span>layers <b>{len(doc["layers"])}</b></span>
<span>packages <b>{len(doc["packages"])}</b></span><span>efficiency (dive) <b>{percent(image["efficiency"])}</b></span>
<span>reclaimable <b>{size(image["reclaimable_bytes"])}</b></span></p>
<h2>Findings</h2>{findings}
<h2>Layer sizes, by package</h2>{_stacked_layers(doc)}
<h2>Largest packages</h2>{_hbars("chart-packages", top_packages)}
<h2>Reclaimable bytes</h2>{_hbars("chart-reclaimable", reclaimable, color=PALETTE[2])}
<h2>Packages</h2>
<input id="filter" placeholder="filter packages"><input id="min" type="number" min="0" step="0.1" placeholder="min MB"><span id="shown"></span>
<table id="packages"><thead><tr><th>name</th><th>version</th><th class="n">size</th><th>lock</th><th>layers</th><th class="n">closure</th><th class="n">re-shipped</th><th>environment</th></tr></thead>
<tbody>{rows}</tbody></table>
<script>{SCRIPT}</script>
</body></html>
"""


def _table_html(headers: list[str], rows: list[list[str]], numeric: str = "") -> str:
    """An HTML table of escaped cells; column i is right-aligned when numeric[i] == "r"."""

    def cls(i: int) -> str:
        return ' class="n"' if i < len(numeric) and numeric[i] == "r" else ""

    head = "".join(f"<th{cls(i)}>{html_text(h)}</th>" for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f"<td{cls(i)}>{html_text(c)}</td>" for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def diff_html(doc: dict[str, Any]) -> str:
    """`uvscope.diff/1` as one self-contained page (the same sections and figures as `diff_markdown`)."""
    from .text import count, short_command

    a, b = doc["a"], doc["b"]
    packages = doc["packages"]
    new = [layer for layer in doc["layers"] if layer["status"] == "new"]
    identical = doc["identical_content"]
    parts = [
        f"<p>Pulling <b>{html_text(b['ref'])}</b> when you have {html_text(a['ref'])} costs <b>{size(doc['pull_bytes'])}</b> "
        f"({len(new)} new of {count(len(doc['layers']), 'layer')}; image {size(a['size_bytes'])} → {size(b['size_bytes'])}).</p>"
    ]
    if identical["bytes"]:
        parts.append(
            f"<p>Of that, <b>{size(identical['bytes'])}</b> is content A already had, shipped again: "
            f"{size(identical['reinstalled_identical_bytes'])} in the "
            f"{count(len(packages['reinstalled_identical']), 'package')} re-shipped identical.</p>"
        )
    layer_rows = [
        [
            str(layer["index"]),
            layer["status"],
            size(layer["size_bytes"]),
            size(layer["identical_content_bytes"]) if layer["status"] == "new" else "",
            short_command(layer.get("created_by", ""), 100),
        ]
        for layer in doc["layers"]
    ]
    parts.append("<h2>Layers</h2>" + _table_html(["#", "status", "size", "identical content", "command"], layer_rows, "rlrrl"))
    for title, key in (("Added", "added"), ("Removed", "removed")):
        if packages[key]:
            rows = [[p["name"], p["version"], size(p["bytes"])] for p in packages[key]]
            parts.append(f"<h2>{title} packages</h2>" + _table_html(["package", "version", "size"], rows, "llr"))
    if packages["changed"]:
        rows = [[p["name"], p["from"], p["to"], p["direction"], f"{p['bytes_delta']:+,}"] for p in packages["changed"]]
        parts.append("<h2>Changed packages</h2>" + _table_html(["package", "from", "to", "", "bytes Δ"], rows, "llllr"))
    if packages["reinstalled_identical"]:
        rows = [[p["name"], p["version"], size(p["bytes"])] for p in packages["reinstalled_identical"]]
        parts.append("<h2>Re-shipped although identical</h2>" + _table_html(["package", "version", "re-shipped"], rows, "llr"))
    if packages.get("reinstalled_changed"):
        rows = [[p["name"], p["version"], size(p["bytes"])] for p in packages["reinstalled_changed"]]
        parts.append("<h2>Rebuilt at the same version (files differ)</h2>" + _table_html(["package", "version", "shipped"], rows, "llr"))
    title = f"{a['ref']} → {b['ref']}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>uvscope diff: {html_text(title)}</title><script>{GUARD}</script><style>{STYLE}</style></head>
<body>
<h1>uvscope diff: <code>{html_text(a["ref"])}</code> → <code>{html_text(b["ref"])}</code></h1>
{"".join(parts)}
</body></html>
"""
