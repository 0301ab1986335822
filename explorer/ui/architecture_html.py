"""The Architecture tab's words and tables as Markdown and HTML: a model's totals, its layer table by
block, the side-by-side comparison, and the chapter's CNNNet paired layer by layer with AlexNet."""
from __future__ import annotations

import html

from explorer.core import architecture as arch


def _fmt(n: int) -> str:
    return f"{n:,}"


def totals_markdown(s: arch.Summary) -> str:
    lines = [f"**{arch.model_title(s.model)}** "
             f"(`{s.module_type}`) on a {'×'.join(map(str, s.input_size))} input → output "
             f"{'×'.join(map(str, s.output_shape))}: **{_fmt(s.total_params)} parameters** "
             f"(sum of `p.numel()`), **{s.total_macs / 1e9:.3f} G multiply-accumulates** per image "
             f"(counted by `torch.utils.flop_counter`), {len(s.rows)} layers run in {len(s.blocks)} groups."]
    if s.params_in_forward != s.total_params:
        unused = ", ".join(f"`{n}` ({_fmt(p)})" for n, p in s.unused[:6])
        lines.append(f"Only {_fmt(s.params_in_forward)} of them take part in this forward pass; never run in "
                     f"eval mode: {unused}.")
    last = [r for r in s.rows if r.receptive_field is not None]
    if last:
        rf, jump = last[-1].receptive_field, last[-1].jump
        lines.append(f"Before the global pooling / classifier one unit sees {arch._dims(rf)}×{arch._dims(rf)} "
                     f"input pixels (its receptive field, padding included) and neighbouring units are "
                     f"{arch._dims(jump)} pixels apart (the jump).")
    return "\n\n".join(lines)


def table_html(s: arch.Summary) -> str:
    """The layer table, one collapsible <details> per block, with totals per block and overall."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in arch.COLUMNS[:-1])
    style = ("<style>.arch-table table{border-collapse:collapse;font-size:12px;width:100%}"
             ".arch-table td,.arch-table th{border-bottom:1px solid #ddd;padding:2px 6px;text-align:right;"
             "white-space:nowrap}.arch-table td:nth-child(2),.arch-table td:nth-child(3),"
             ".arch-table th{text-align:left}.arch-table summary{cursor:pointer;padding:3px 0;font-size:13px}"
             ".arch-table details{border-left:3px solid #8aa8d8;padding-left:6px;margin:2px 0}</style>")
    parts = [style, '<div class="arch-table">']
    index = 0
    groups: list[tuple[str, list]] = []
    for row in s.rows:
        if not groups or groups[-1][0] != row.block:
            groups.append((row.block, []))
        groups[-1][1].append(row)
    block_types = dict(s.blocks)
    for block, rows in groups:
        params = sum(r.params for r in rows)
        macs = sum(r.macs for r in rows)
        kind = block_types.get(block, "")
        name = html.escape(block or "top level")
        summary = (f"<b>{name}</b> {html.escape(kind)} · {len(rows)} layers · {_fmt(params)} parameters · "
                   f"{macs / 1e6:,.1f} M MACs · out {'×'.join(map(str, rows[-1].output_shape))}")
        body = []
        for row in rows:
            index += 1
            cells = arch.row_cells(row, index)[:-1]
            cells[7] = _fmt(cells[7])
            cells[8] = _fmt(cells[8])
            body.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
        open_attr = " open" if len(groups) <= 4 else ""
        parts.append(f"<details{open_attr}><summary>{summary}</summary><table><tr>{head}</tr>"
                     + "".join(body) + "</table></details>")
    parts.append(f"<p><b>Total</b>: {len(s.rows)} layers · {_fmt(s.params_in_forward)} parameters in the layers "
                 f"that ran · {_fmt(s.total_params)} parameters in the model · {s.total_macs / 1e9:.3f} G MACs</p>")
    parts.append("</div>")
    return "".join(parts)


def compare_table_html(rows: list[arch.Comparison]) -> str:
    """The side-by-side table as the page shows it: headers wrap between words, never inside one."""
    head = "".join("<th>" + " ".join(f'<span class="word">{html.escape(w)}</span>' for w in c.split()) + "</th>"
                   for c in arch.COMPARE_COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(c))}</td>" for c in arch.comparison_cells(r)) + "</tr>"
                   for r in rows)
    return f'<div class="compare-table"><table><tr>{head}</tr>{body}</table></div>'


def _cell(value) -> str:
    if isinstance(value, str) and "_Weights." in value:     # "ResNet18_Weights.IMAGENET1K_V1": the model is in column 1
        return value.split(".", 1)[1]
    return str(value)


def alexnet_check_html() -> str:
    import torch
    from torchvision.models import alexnet

    with torch.device("meta"):
        matches = arch.match_layers(arch.CNNNet(num_classes=2), alexnet(num_classes=2))
    colours = {"same": "#d9f2d9", "same maths": "#fff3c4", "different": "#f8d0d0"}
    counts = {v: sum(1 for m in matches if m.verdict == v) for v in colours}
    rows = "".join(
        f"<tr style='background:{colours[m.verdict]}'><td>{m.index}</td><td>{html.escape(m.name_a)}</td>"
        f"<td><code>{html.escape(m.layer_a)}</code></td><td><code>{html.escape(m.layer_b)}</code></td>"
        f"<td><b>{m.verdict}</b>{'<br>' + html.escape('; '.join(m.differences)) if m.differences else ''}</td></tr>"
        for m in matches)
    return (f"<p>{len(matches)} layers paired in order: <b>{counts['same']} identical</b> in type and every setting "
            f"and parameter shape, <b>{counts['same maths']} same maths</b> (they differ only in "
            f"<code>inplace</code>: torchvision's ReLU overwrites its input to save memory, the chapter's makes "
            f"a new tensor; the numbers are the same), <b>{counts['different']} different</b>.</p>"
            "<table style='border-collapse:collapse;font-size:12px'><tr><th>#</th><th>layer</th>"
            "<th>the chapter's CNNNet(num_classes=2)</th><th>torchvision alexnet(num_classes=2)</th>"
            f"<th>verdict</th></tr>{rows}</table>")
