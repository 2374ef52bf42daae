"""The authoring suite's report: JSON for machines, one HTML page for people (like the read suite's)."""
from __future__ import annotations

import html
import json
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..report import STYLE, WritesReportFiles
from .known import KNOWN_DIFFERENCES
from .runner import AuthoringSession, ScenarioResult
from .scenarios import SCENARIOS

NORMALISATIONS = [
    "edited_on, subtree_edited_on, published_on: presence only (each side stamps its own clock)",
    "structure, definition and version ids: not compared (each side makes its own; has_changes and the "
    "trees show whether versions moved)",
    "errors: Learning Core's authoring errors stand for the Split exceptions listed in "
    "conformance.authoring.state.ERROR_EQUIVALENTS",
    "runtime.* checks compare the Learning Core runtime with the facade (column 'split' holds the facade's value)",
]


@dataclass
class AuthoringReport(WritesReportFiles):
    results: list[ScenarioResult]
    seconds: float = 0.0
    created: str = field(default_factory=lambda: datetime.now(tz=timezone.utc).isoformat())

    @property
    def differences(self) -> int:
        return sum(len(r.findings) for r in self.results)

    def as_dict(self) -> dict:
        return {
            "created": self.created, "seconds": round(self.seconds, 3), "normalisations": NORMALISATIONS,
            "summary": {"scenarios": len(self.results), "failing": sum(1 for r in self.results if not r.ok),
                        "steps": sum(r.steps for r in self.results), "differences": self.differences,
                        "known": sum(len(r.known) for r in self.results)},
            "known_differences": [asdict(k) for k in KNOWN_DIFFERENCES],
            "scenarios": [{**asdict(r), "ok": r.ok, "seconds": round(r.seconds, 3)} for r in self.results],
        }

    def html(self) -> str:
        return render_html(self)


def run_all(names=None, progress=None) -> AuthoringReport:
    """Every scenario (or those named), each on a course of its own."""
    started = time.perf_counter()
    results = []
    chosen = [s for s in SCENARIOS if not names or s.name in names]
    session = AuthoringSession()
    for done, scenario in enumerate(chosen, start=1):
        results.append(session.run(scenario))
        if progress:
            progress(done, len(chosen), scenario.name)
    return AuthoringReport(results, time.perf_counter() - started)


def _finding_row(css_class: str, scenario: str, finding, *, pre: bool) -> str:
    """One table row of a finding (a difference, or a known one): both sides' values as JSON."""
    def value(side) -> str:
        text = html.escape(json.dumps(side, default=str))
        return f"<pre>{text}</pre>" if pre else text

    return (f'<tr class="{css_class}"><td>{html.escape(scenario)}</td><td>{finding.step}: {html.escape(finding.operation)}</td>'
            f"<td>{html.escape(finding.check)}</td><td>{html.escape(finding.block)}</td><td>{html.escape(finding.detail)}</td>"
            f"<td>{value(finding.split)}</td><td>{value(finding.learning_core)}</td></tr>")


def render_html(report: AuthoringReport) -> str:
    verdict = ("ok", "no differences") if report.differences == 0 else ("bad", f"{report.differences} differences")
    rows = "".join(
        f'<tr class="scenario"><td>{html.escape(r.name)}</td><td>{html.escape(r.upstream)}</td><td>{r.steps}</td>'
        f'<td class="{"ok" if r.ok else "bad"}">{len(r.findings)}</td><td>{r.seconds:.2f} s</td></tr>'
        for r in report.results)
    findings = "".join(_finding_row("difference", r.name, f, pre=True) for r in report.results for f in r.findings)
    known = "".join(_finding_row("known", r.name, f, pre=False) for r in report.results for f in r.known)
    reasons = "".join(f"<li><b>{html.escape(k.check)}</b> {html.escape(', '.join(k.details))} "
                      f"{html.escape(', '.join(k.scenarios))}: {html.escape(k.reason)}</li>" for k in KNOWN_DIFFERENCES)
    normalisations = "".join(f"<li>{html.escape(n)}</li>" for n in NORMALISATIONS)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Authoring conformance</title>
<style>{STYLE}</style></head><body>
<h1>Authoring conformance: Split reference vs Learning Core</h1>
<p class="summary">{len(report.results)} scenarios · <span id="verdict" class="{verdict[0]}">{verdict[1]}</span> ·
 {report.seconds:.1f} s · {html.escape(report.created)}</p>
<h2>Scenarios</h2>
<table id="scenarios"><tr><th>scenario</th><th>upstream rule</th><th>steps</th><th>differences</th><th>time</th></tr>
{rows}</table>
<h2>Differences (after each step)</h2>
<table id="differences"><tr><th>scenario</th><th>step</th><th>check</th><th>block</th><th>detail</th>
<th>split</th><th>learning_core</th></tr>{findings}</table>
{"<p class='ok'>None.</p>" if not report.differences else ""}
<h2>Known differences (reported, not counted)</h2><ul>{reasons}</ul>
<table id="known"><tr><th>scenario</th><th>step</th><th>check</th><th>block</th><th>detail</th>
<th>split</th><th>learning_core</th></tr>{known}</table>
<h2>Normalised on purpose</h2><ul>{normalisations}</ul>
</body></html>
"""
