"""The Architecture tab's words and tables as Markdown and HTML: a model's totals, its layer table by
block, the side-by-side comparison, and the chapter's CNNNet paired layer by layer with AlexNet."""
from __future__ import annotations

import html

from explorer.core import architecture as arch
from explorer.core.words import current, say

# The layer table's and the comparison's column headers in Chinese (arch.COLUMNS and COMPARE_COLUMNS stay
# the API's English).
COLUMNS_ZH = ["#", "层", "类型", "卷积核", "步幅", "填充", "输出 (C×H×W)", "参数", "MACs", "感受野", "跳距", "块"]
COMPARE_COLUMNS_ZH = ["模型", "输入", "参数 (M)", "MACs (G)", "延迟 (ms)", "设备", "ImageNet top-1 %",
                      "ImageNet top-5 %", "权重", "本章给出的 top-5 错误率"]
VERDICTS = {"same": "完全相同", "same maths": "计算相同", "different": "不同"}


def columns(english: list[str], chinese: list[str]) -> list[str]:
    """Column headers in the language spoken."""
    return chinese if current() == "zh" else english


def _fmt(n: int) -> str:
    return f"{n:,}"


def totals_markdown(s: arch.Summary) -> str:
    values = dict(title=arch.model_title(s.model), type=s.module_type, size="×".join(map(str, s.input_size)),
                  out="×".join(map(str, s.output_shape)), params=_fmt(s.total_params), macs=f"{s.total_macs / 1e9:.3f}",
                  layers=len(s.rows), groups=len(s.blocks))
    lines = [say("**{title}** (`{type}`) on a {size} input → output {out}: **{params} parameters** (sum of "
                 "`p.numel()`), **{macs} G multiply-accumulates** per image (counted by `torch.utils.flop_counter`), "
                 "{layers} layer{s} run in {groups} group{gs}.",
                 "**{title}**（`{type}`），输入 {size} → 输出 {out}：**{params} 个参数**（`p.numel()` 之和），每张图 "
                 "**{macs} G 次乘加**（由 `torch.utils.flop_counter` 计数），共运行 {layers} 层，分 {groups} 组。",
                 s="s" * (len(s.rows) != 1), gs="s" * (len(s.blocks) != 1), **values)]
    if s.params_in_forward != s.total_params:
        unused = ", ".join(f"`{n}` ({_fmt(p)})" for n, p in s.unused[:6])
        lines.append(say("Only {n} of them take part in this forward pass; never run in eval mode: {unused}.",
                         "其中只有 {n} 个参与这次前向传播；评估模式下从未运行的：{unused}。",
                         n=_fmt(s.params_in_forward), unused=unused))
    last = [r for r in s.rows if r.receptive_field is not None]
    if last:
        rf, jump = last[-1].receptive_field, last[-1].jump
        lines.append(say("Before the global pooling / classifier one unit sees {rf}×{rf} input pixels (its receptive "
                         "field, padding included) and neighbouring units are {jump} pixels apart (the jump).",
                         "在全局池化 / 分类器之前，一个单元能看到 {rf}×{rf} 个输入像素（它的感受野，含填充），"
                         "相邻单元相隔 {jump} 个像素（跳距）。", rf=arch._dims(rf), jump=arch._dims(jump)))
    return "\n\n".join(lines)


def table_html(s: arch.Summary) -> str:
    """The layer table, one collapsible <details> per block, with totals per block and overall."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns(arch.COLUMNS, COLUMNS_ZH)[:-1])
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
        name = html.escape(block or say("top level", "顶层"))
        summary = say("<b>{name}</b> {kind} · {n} layer{s} · {params} parameters · {macs} M MACs · out {out}",
                      "<b>{name}</b> {kind} · {n} 层 · {params} 个参数 · {macs} M MACs · 输出 {out}",
                      name=name, kind=html.escape(kind), n=len(rows), s="s" * (len(rows) != 1), params=_fmt(params),
                      macs=f"{macs / 1e6:,.1f}", out="×".join(map(str, rows[-1].output_shape)))
        body = []
        for row in rows:
            index += 1
            cells = arch.row_cells(row, index)[:-1]
            if row.receptive_field is None:
                cells[9] = say("whole input", "整个输入")
            if not row.name:
                cells[1] = say("(forward)", "（forward）")
            cells[7] = _fmt(cells[7])
            cells[8] = _fmt(cells[8])
            body.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
        open_attr = " open" if len(groups) <= 4 else ""
        parts.append(f"<details{open_attr}><summary>{summary}</summary><table><tr>{head}</tr>"
                     + "".join(body) + "</table></details>")
    parts.append(say("<p><b>Total</b>: {n} layer{s} · {ran} parameters in the layers that ran · {all} parameters in "
                     "the model · {macs} G MACs</p>",
                     "<p><b>合计</b>：{n} 层 · 运行过的层中有 {ran} 个参数 · 模型共有 {all} 个参数 · {macs} G MACs</p>",
                     n=len(s.rows), s="s" * (len(s.rows) != 1), ran=_fmt(s.params_in_forward), all=_fmt(s.total_params),
                     macs=f"{s.total_macs / 1e9:.3f}"))
    parts.append("</div>")
    return "".join(parts)


def compare_table_html(rows: list[arch.Comparison]) -> str:
    """The side-by-side table as the page shows it: headers wrap between words, never inside one."""
    head = "".join("<th>" + " ".join(f'<span class="word">{html.escape(w)}</span>' for w in c.split()) + "</th>"
                   for c in columns(arch.COMPARE_COLUMNS, COMPARE_COLUMNS_ZH))
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
        f"<td><b>{say(m.verdict, VERDICTS[m.verdict])}</b>"
        f"{'<br>' + html.escape('; '.join(m.differences)) if m.differences else ''}</td></tr>"
        for m in matches)
    return say("<p>{n} layers paired in order: <b>{same} identical</b> in type and every setting and parameter "
               "shape, <b>{maths} same maths</b> (they differ only in <code>inplace</code>: torchvision's ReLU "
               "overwrites its input to save memory, the chapter's makes a new tensor; the numbers are the same), "
               "<b>{different} different</b>.</p><table style='border-collapse:collapse;font-size:12px'><tr>"
               "<th>#</th><th>layer</th><th>the chapter's CNNNet(num_classes=2)</th>"
               "<th>torchvision alexnet(num_classes=2)</th><th>verdict</th></tr>{rows}</table>",
               "<p>按顺序配对了 {n} 层：<b>{same} 层完全相同</b>（类型、每个设置和参数形状都一样），<b>{maths} 层计算相同</b>"
               "（只差在 <code>inplace</code>：torchvision 的 ReLU 直接改写输入以省内存，本章的会新建一个张量；"
               "数值一样），<b>{different} 层不同</b>。</p><table style='border-collapse:collapse;font-size:12px'><tr>"
               "<th>#</th><th>层</th><th>本章的 CNNNet(num_classes=2)</th>"
               "<th>torchvision alexnet(num_classes=2)</th><th>结论</th></tr>{rows}</table>",
               n=len(matches), same=counts["same"], maths=counts["same maths"], different=counts["different"], rows=rows)
