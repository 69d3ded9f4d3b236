"""`--format html` / report.html: one self-contained page (pictures embedded as base64 data URIs,
inline CSS, no network). A small inline script records in `<body data-images-loaded>` whether every
picture decoded ("true"/"false"), which the browser test reads back."""

from __future__ import annotations

import base64
import html
from typing import TYPE_CHECKING

from archscale.report.render import display
from archscale.report.render.benchmark import rankings_table as benchmark_rankings

if TYPE_CHECKING:
    import pandas as pd

    from archscale.report.claims.comparison import Comparison

CAPTIONS = {
    "learning_rates": "The LR an arm searched per architecture against the LR of the arm it is paired with; "
    "dashed: y = x.",
    "probe": "Predicted vs probed maximal learning rate (the LR with the lowest training-loss criterion); the "
    "base network is included, as in the paper; dashed: y = x.",
    "probe_depth": "Probed maximal LR vs depth for chain networks, with the fitted power law and the paper's L^-1.5.",
    "accuracy": "Final score per architecture and arm: mean over seeds with its 95% interval (method in the tables).",
    "search_cost": "Best-so-far validation score of each per-architecture search vs its cumulative device time "
    "(one line per repeat); other arms are single points at the cost of their searches.",
    "cost_to_match": "Score after the first k trials of a per-architecture search (estimated from the search's "
    "trials: the test score of the trial it would pick by validation accuracy), mean over architectures, against "
    "the paired arm's final mean (dashed).",
    "rank_shift": "How each architecture's rank changes between the two arms of a pair (1 = best).",
    "benchmark_accuracy": "Each arm's test accuracy per NAS-Bench-201 cell (mean over seeds) against the "
    "benchmark's published accuracy (mean over its seeds); dashed: y = x (Fig. 4 left).",
    "benchmark_rankings": "Kendall τ of each arm's ranking against the benchmark's, on the benchmark's top K% of "
    "the cells (Fig. 4 middle); dashed: the benchmark's own seed-vs-seed τ, the noise floor (App. E.4).",
    "benchmark_gaps": "Accuracy gaps |a − b| over all pairs of cells, the benchmark's and each arm's "
    "(Fig. 4 right): smaller gaps make cells less distinguishable.",
}
STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1200px;
       padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
.lede { color: #555; margin-top: 0; }
.notes { background: #fff8e1; border-left: 4px solid #f0b400; padding: 0.5rem 1rem 0.5rem 2rem; }
dl.results { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; }
dl.results dt { font-weight: 600; } dl.results dd { margin: 0; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); gap: 1.5rem; }
figure { margin: 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.85rem; color: #555; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0; }
th, td { padding: 0.25rem 0.6rem; border-bottom: 1px solid #e5e5e5; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; } th { background: #f5f5f5; }
td.text, th.text { text-align: left; white-space: normal; min-width: 14rem; }
"""
SCRIPT = """
(function () {
  function check() {
    var images = Array.prototype.slice.call(document.images);
    var ok = images.every(function (img) { return img.complete && img.naturalWidth > 0; });
    document.body.dataset.imagesLoaded = ok ? "true" : "false";
    document.body.dataset.imageCount = String(images.length);
  }
  if (document.readyState === "complete") { check(); } else { window.addEventListener("load", check); }
})();
"""
TEXT_COLUMNS = {"notes", "note", "statistic", "budget"}


def render_html(c: Comparison, figures: dict[str, bytes] | None = None) -> str:
    """The report page; `figures` (name → PNG bytes, from `plots.figures`) default to all that apply."""
    if figures is None:
        from archscale.report.render.plots import figures as draw

        figures = draw(c)
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<link rel="icon" href="data:,">',
        f"<title>archscale compare: {e(c.study)}</title>",
        f"<style>{STYLE}</style></head>",
        '<body data-images-loaded="pending">',
        f"<h1>Comparison: {e(c.study)}{' (simulated)' if c.plan.simulated else ''}</h1>",
        f'<p class="lede">{e(display.heading(c))}</p>',
    ]
    if c.notes:
        parts.append('<ul class="notes">' + "".join(f"<li>{e(n)}</li>" for n in c.notes) + "</ul>")
    lines = display.summary_lines(c)
    if lines:
        parts.append('<h2>Key results</h2><dl class="results">')
        parts += [f"<dt>{e(head)}</dt><dd>{e(text)}</dd>" for head, text in lines]
        parts.append("</dl>")
    if figures:
        parts.append('<h2>Pictures</h2><div class="figures">')
        for name, data in figures.items():
            source = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
            caption = CAPTIONS.get(name, name.replace("_", " "))
            parts.append(
                f'<figure><img src="{source}" alt="{e(caption)}" id="fig-{e(name)}">'
                f"<figcaption>{e(caption)}</figcaption></figure>"
            )
        parts.append("</div>")
    sections: list[tuple[str, pd.DataFrame | None]] = [
        ("Per architecture", display.architecture_table(c) if len(c.per_architecture) else None),
        ("Probe: maximal learning rates", display.probe_table(c)),
        ("Summary statistics", display.summary_table(c) if len(c.summary) else None),
        ("Rank agreement", display.rankings_table(c) if len(c.rankings) else None),
        (
            f"Rank agreement with {c.benchmark.benchmark} per top K%" if c.benchmark is not None else "",
            benchmark_rankings(c.benchmark) if c.benchmark is not None else None,
        ),
        ("Cost", display.cost_table(c) if len(c.cost) else None),
        ("Search budgets", display.budgets_table(c) if len(c.searches) else None),
        ("Searches", display.searches_table(c) if len(c.searches) else None),
    ]
    for title, frame in sections:
        if frame is not None:
            parts += [f"<h2>{e(title)}</h2>", table(frame)]
    parts += [f"<script>{SCRIPT}</script>", "</body></html>"]
    return "\n".join(parts)


def table(frame: pd.DataFrame) -> str:
    e = html.escape
    text = [str(col) in TEXT_COLUMNS for col in frame.columns]
    head = "".join(
        f'<th class="text">{e(str(c))}</th>' if t else f"<th>{e(str(c))}</th>"
        for c, t in zip(frame.columns, text, strict=True)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="text">{e(str(v))}</td>' if t else f"<td>{e(str(v))}</td>"
            for v, t in zip(row, text, strict=True)
        )
        + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'
