"""Evaluation reports: ``report.json``, a markdown table, and a self-contained HTML page (images
embedded as data URIs) with the table and, per difficulty level, the best, median and worst pairs
as person | cloth | try-on | ground truth. Every file is written atomically."""

from __future__ import annotations

import base64
import html
import io
import json
import math
from pathlib import Path

from PIL import Image

from acgpn.data.files import load_image
from acgpn.evaluation.evaluate import Evaluation, examples, ranking_metric
from acgpn.fileio import save_text

THUMB_HEIGHT = 256


def _columns(report: dict) -> list[tuple[str, dict]]:
    return [("all", report["overall"])] + list(report.get("by_level", {}).items())


def metric_names(report: dict) -> list[str]:
    """Metric keys of the report's summaries, in first-seen order."""
    names: dict[str, None] = {}
    for _, summary in _columns(report):
        names.update((k, None) for k in summary if k != "count")
    return list(names)


def format_value(value: float | None) -> str:
    """A table cell: 4 decimals below 10, 2 above, a dash for no value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.4f}" if abs(value) < 10 else f"{value:.2f}"


def markdown_table(report: dict) -> str:
    """One row per metric, one column for all pairs and one per difficulty level."""
    cols = _columns(report)
    lines = ["| metric | " + " | ".join(f"{name} ({s['count']})" for name, s in cols) + " |",
             "| --- |" + " ---: |" * len(cols)]  # fmt: skip
    for m in metric_names(report):
        lines.append(f"| {m} | " + " | ".join(format_value(s.get(m)) for _, s in cols) + " |")
    return "\n".join(lines)


def write_json(path: str | Path, report: dict) -> Path:
    """``report.json`` (indented, metric names in lower case)."""
    return save_text(path, json.dumps(report, indent=1, default=float) + "\n")


def _data_uri(path: Path | None) -> str | None:
    if path is None:
        return None
    img = load_image(path, "an image for the report").convert("RGB")
    if img.height > THUMB_HEIGHT:
        img = img.resize((round(img.width * THUMB_HEIGHT / img.height), THUMB_HEIGHT), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _table_html(report: dict) -> str:
    cols = _columns(report)
    head = "".join(f"<th>{html.escape(n)} ({s['count']})</th>" for n, s in cols)
    rows = "".join(
        f"<tr><td>{html.escape(m)}</td>" + "".join(f"<td>{format_value(s.get(m))}</td>" for _, s in cols) + "</tr>"
        for m in metric_names(report)
    )
    return f"<table><tr><th>metric</th>{head}</tr>{rows}</table>"


def _levels_text(protocol: dict) -> str:
    levels = protocol.get("levels", {})
    t = levels.get("thresholds") or {}
    bounds = f" (hard: C < {t['t1']:.2f}, easy: C >= {t['t2']:.2f}, {t.get('source', '')})" if "t1" in t else ""
    return f"{levels.get('source', 'none')}{bounds}"


def render_html(evaluation: Evaluation) -> str:
    """The HTML page as a string (see the module docstring)."""
    report = evaluation.report
    proto = report.get("protocol", {})
    rank = ranking_metric(report["per_pair"])
    image_dir = evaluation.folders
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>acgpn evaluation</title><style>",
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #bbb;"
        "padding:3px 8px;text-align:right}td:first-child{text-align:left}figure{display:inline-block;margin:4px;"
        "text-align:center}figcaption{font-size:80%}img{height:192px;image-rendering:pixelated}.none{display:inline-block;"
        "width:96px;height:192px;background:#eee;line-height:192px}</style></head><body>",
        f"<h1>acgpn evaluation: {report['count']} pairs</h1>",
        f"<p>predictions {html.escape(str(proto.get('predictions', '')))} · data {html.escape(str(proto.get('data', '')))}"
        f" · {proto.get('paired', 0)} paired, {proto.get('unpaired', 0)} unpaired · levels: {html.escape(_levels_text(proto))}</p>",
        _table_html(report),
    ]
    parts += [f"<p><i>{html.escape(n)}</i></p>" for n in report.get("notes", [])]
    ordering = f" (ordered by {rank[0]}, {'higher' if rank[1] else 'lower'} is better)" if rank else ""
    for level, picks in examples(evaluation).items():
        parts.append(f"<h2>{html.escape(level)}{ordering}</h2>")
        for tag, i in picks:
            pair, record = evaluation.pairs[i], report["per_pair"][i]
            value = f" {rank[0]} {format_value(record.get(rank[0]))}" if rank else ""
            parts.append(f"<h3>{tag}: {html.escape(pair.person)} + {html.escape(pair.cloth)}{value}</h3><div>")
            images = [("person", image_dir["image"] / pair.person), ("cloth", image_dir["cloth"] / pair.cloth),
                      ("try-on", pair.prediction), ("ground truth", pair.reference)]  # fmt: skip
            for caption, path in images:
                uri = _data_uri(path)
                body = f"<img src='{uri}' alt='{caption}'>" if uri else "<span class='none'>none</span>"
                parts.append(f"<figure>{body}<figcaption>{caption}</figcaption></figure>")
            parts.append("</div>")
    parts.append("</body></html>\n")
    return "".join(parts)


def write_html(path: str | Path, evaluation: Evaluation) -> Path:
    """Write the self-contained HTML report."""
    return save_text(path, render_html(evaluation))
