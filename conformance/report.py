"""Conformance reports: JSON for machines, one self-contained HTML page for people."""
from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .checks import NORMALISATIONS, ComparisonResult


class WritesReportFiles:
    """The JSON and HTML files of a report (the read suite's and the authoring suite's): ``as_dict`` and ``html``."""

    def write_json(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_dict(), indent=1, sort_keys=True, default=str) + "\n")
        return path

    def write_html(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.html())
        return path


@dataclass
class ConformanceReport(WritesReportFiles):
    course_key: str
    left: str
    right: str
    branches: list[str]
    result: ComparisonResult
    seconds: float = 0.0
    created: str = field(default_factory=lambda: datetime.now(tz=timezone.utc).isoformat())

    @property
    def differences(self) -> int:
        return len(self.result.differences)

    @property
    def checks_run(self) -> int:
        return sum(run.run for run in self.result.runs)

    def as_dict(self) -> dict:
        return {
            "course_key": self.course_key, "left": self.left, "right": self.right, "branches": self.branches,
            "created": self.created, "seconds": round(self.seconds, 3), "normalisations": NORMALISATIONS,
            "summary": {"checks_run": self.checks_run, "differences": self.differences,
                        "blocks": {b: len(t) for b, t in self.result.blocks.items()}},
            "checks": [asdict(run) for run in self.result.runs],
            "differences": [asdict(d) for d in self.result.differences],
            "unusual_blocks": self.result.notes,
            "lms_harness": self.result.lms,  # per branch: block types and blocks rendered, learner flows, seconds
            "left_memo": self.result.left_memo,  # None, or the left side's observations reused / made now
            "not_applicable": self.result.not_applicable_list(),
            "known_unsupported": {
                "entries": [asdict(e) for e in self.result.known_unsupported],
                "findings": self.result.unsupported,
            },
        }

    def html(self) -> str:
        return render_html(self)


STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em} h2{font-size:1.15em;margin-top:1.5em}
.ok{color:#11661d} .bad{color:#b00020;font-weight:600}
ul.tree{list-style:none;padding-left:1.2em;border-left:1px dotted #ccc}
ul.tree li{margin:2px 0} .dot{display:inline-block;width:.7em;height:.7em;border-radius:50%;margin-right:.4em}
.dot.ok{background:#2e9e44} .dot.bad{background:#d32f2f}
table{border-collapse:collapse;margin:.5em 0} td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}
td pre{margin:0;white-space:pre-wrap;max-width:40em;font-size:.85em} .summary{font-size:1.05em}
"""


def _tree_html(blocks: dict) -> str:
    roots = [key for key, info in blocks.items() if info["parent"] is None]

    def node(key, seen):
        info = blocks.get(key)
        if info is None or key in seen:
            return ""
        seen.add(key)
        state = "ok" if info["ok"] else "bad"
        label = html.escape(f"{info['block_type']} {info.get('display_name') or ''}".strip())
        kids = "".join(node(child, seen) for child in info["children"])
        return (f'<li class="block {state}" data-usage-key="{html.escape(key)}"><span class="dot {state}"></span>'
                f"{label}" + (f'<ul class="tree">{kids}</ul>' if kids else "") + "</li>")

    seen: set = set()
    return '<ul class="tree">' + "".join(node(k, seen) for k in roots) + "</ul>"


def render_html(report: ConformanceReport) -> str:
    verdict = ("ok", "no differences") if report.differences == 0 else ("bad", f"{report.differences} differences")
    rows = "".join(
        f'<tr class="check-row"><td>{html.escape(r.check)}</td><td>{html.escape(r.description)}</td>'
        f"<td>{html.escape(r.branch)}</td><td>{r.run}</td>"
        f'<td class="{"ok" if r.differences == 0 else "bad"}">{r.differences}</td></tr>'
        for r in report.result.runs)
    diffs = "".join(
        f'<tr class="difference"><td>{html.escape(d.check + (f" ({d.during})" if d.during else ""))}</td><td>{html.escape(d.branch)}</td>'
        f"<td>{html.escape(str(d.block))}</td><td>{html.escape(str(d.field or ''))}</td>"
        f"<td><pre>{html.escape(json.dumps(d.left, indent=1, default=str))}</pre></td>"
        f"<td><pre>{html.escape(json.dumps(d.right, indent=1, default=str))}</pre></td></tr>"
        for d in report.result.differences)
    trees = "".join(f"<h2>Course tree — {html.escape(branch)} branch</h2>{_tree_html(blocks)}"
                    for branch, blocks in report.result.blocks.items())
    normalisations = "".join(f"<li>{html.escape(n)}</li>" for n in NORMALISATIONS)
    known = "".join(
        f'<tr class="known-unsupported"><td>{html.escape(str(u["check"]))}</td><td>{html.escape(u["branch"])}</td>'
        f'<td>{html.escape(str(u["block"]))}</td><td>{html.escape(str(u["during"]))}</td>'
        f'<td>{html.escape(u["reason"])}</td></tr>'
        for u in report.result.unsupported)
    notes = "".join(
        f'<tr class="unusual"><td>{html.escape(n["kind"])}</td><td>{html.escape(n["side"])}</td>'
        f'<td>{html.escape(n["branch"])}</td><td>{html.escape(n["block"])}</td><td>{html.escape(n["detail"])}</td></tr>'
        for n in report.result.notes)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Conformance: {html.escape(report.course_key)}</title>
<style>{STYLE}</style></head><body>
<h1>Conformance of {html.escape(report.course_key)}: {html.escape(report.left)} vs {html.escape(report.right)}</h1>
<p class="summary">Branches: {html.escape(", ".join(report.branches))} ·
 {report.checks_run} checks run · <span id="verdict" class="{verdict[0]}">{verdict[1]}</span> ·
 {report.seconds:.1f} s · {html.escape(report.created)}</p>
<h2>Checks</h2>
<table id="checks"><tr><th>check</th><th>what it compares</th><th>branch</th><th>run</th><th>differences</th></tr>
{rows}</table>
<h2>Differences</h2>
<table id="differences"><tr><th>check</th><th>branch</th><th>block / query</th><th>field</th>
<th>{html.escape(report.left)}</th><th>{html.escape(report.right)}</th></tr>{diffs}</table>
{"<p class='ok'>None.</p>" if not report.result.differences else ""}
<h2>Known unsupported (reported, not counted)</h2>
<table id="known-unsupported"><tr><th>finding</th><th>branch</th><th>block</th><th>during</th><th>why</th></tr>
{known}</table>
<h2>Blocks that did not load as themselves</h2>
<table id="unusual"><tr><th>kind</th><th>side</th><th>branch</th><th>block</th><th>why</th></tr>{notes}</table>
{trees}
<h2>Normalised on purpose</h2><ul>{normalisations}</ul>
</body></html>
"""
