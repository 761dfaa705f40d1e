"""The provisioning plan: what each provisioner will create, the drift it leaves alone, as text and HTML."""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence


@dataclass(frozen=True)
class Step:
    """One change a provisioner makes: ``what`` for the plan, ``run`` does it (one or a few calls)."""

    what: str
    detail: str
    run: Callable[[Any], None] = field(compare=False, repr=False)


@dataclass(frozen=True)
class Drift:
    """A difference the provisioner will not touch. ``blocking``: what the mapping needs cannot be made."""

    target: str
    problem: str
    fix: str
    blocking: bool = False


@dataclass
class Section:
    """One provisioner's part of the plan."""

    name: str
    steps: list[Step] = field(default_factory=list)
    drift: list[Drift] = field(default_factory=list)
    in_place: list[str] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        return any(d.blocking for d in self.drift)


def render_text(sections: Sequence[Section], *, applied: bool) -> str:
    lines = [f"ECBridge Marketo provisioning plan ({'applied' if applied else 'dry run: nothing changed'})", ""]
    for section in sections:
        lines.append(f"== {section.name}")
        if not section.steps:
            lines.append("  nothing to create")
        for step in section.steps:
            parts = step.detail.split("; ")
            if len(parts) == 1:
                lines.append(f"  + {step.what}: {step.detail}")
            else:
                lines.append(f"  + {step.what}:")
                lines += [f"      {part}" for part in parts]
        for item in section.drift:
            mark = "!! blocked" if item.blocking else "~  drift (left alone)"
            lines.append(f"  {mark} {item.target}: {item.problem}")
            lines.append(f"       fix: {item.fix}")
        if section.in_place:
            lines.append(f"  = already in place: {', '.join(section.in_place)}")
        lines.append("")
    return "\n".join(lines)


def render_html(sections: Sequence[Section], *, applied: bool, title: str = "ECBridge Marketo provisioning plan") -> str:
    esc = html.escape
    steps = sum(len(s.steps) for s in sections)
    drift = sum(len(s.drift) for s in sections)
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1.5em}"
        "td,th{border:1px solid #bbb;padding:4px 8px;text-align:left}tr.create{background:#e8f6e8}"
        "tr.drift{background:#fff6dd}tr.blocked{background:#fbe3e3}h2{font-size:1.05em}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        f"<p>{'Applied' if applied else 'Dry run: nothing changed in Marketo'}. {steps} changes, {drift} drift items. "
        "Nothing is ever deleted.</p>",
    ]
    for section in sections:
        parts.append(f"<h2>{esc(section.name)}</h2>")
        parts.append("<table><tr><th>kind</th><th>what</th><th>detail</th><th>fix</th></tr>")
        for step in section.steps:
            parts.append(f'<tr class="create"><td>create</td><td>{esc(step.what)}</td><td>{esc(step.detail)}</td>'
                         "<td></td></tr>")
        for item in section.drift:
            kind = "blocked" if item.blocking else "drift"
            parts.append(f'<tr class="{kind}"><td>{kind}</td><td>{esc(item.target)}</td><td>{esc(item.problem)}</td>'
                         f"<td>{esc(item.fix)}</td></tr>")
        if section.in_place:
            parts.append(f"<tr><td>in place</td><td colspan=\"3\">{esc(', '.join(section.in_place))}</td></tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_plan(sections: Sequence[Section], output_dir: Path, *, applied: bool) -> tuple[Path, Path]:
    output_dir.mkdir(parents=True, exist_ok=True)
    text_path, html_path = output_dir / "plan.txt", output_dir / "plan.html"
    text_path.write_text(render_text(sections, applied=applied), encoding="utf-8")
    html_path.write_text(render_html(sections, applied=applied), encoding="utf-8")
    return text_path, html_path
