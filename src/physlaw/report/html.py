"""One self-contained HTML page per run: text, tables and figures (embedded as base64 PNG), readable offline."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from physlaw.io.atomic import atomic_path

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 980px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
figure { margin: 1em 0; } figcaption { font-size: 0.85em; color: #555; }
img { max-width: 100%; } .verdict { font-size: 1.15em; background: #eef6ee; padding: 0.6em; }
.warn { color: #a33; font-size: 0.9em; }
"""


class Section:
    """A report section: paragraphs, tables and figures in order."""

    def __init__(self, title: str):
        self.title = title
        self.parts: list[str] = []

    def text(self, text: str, cls: str | None = None) -> "Section":
        attr = f' class="{cls}"' if cls else ""
        self.parts.append(f"<p{attr}>{html.escape(text)}</p>")
        return self

    def table(self, header: list[str], rows: list[list], caption: str | None = None) -> "Section":
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in row) + "</tr>" for row in rows)
        cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
        self.parts.append(f"<table>{cap}<tr>{head}</tr>{body}</table>")
        return self

    def figure(self, png: Path, caption: str) -> "Section":
        png = Path(png)
        if png.exists():
            data = base64.b64encode(png.read_bytes()).decode("ascii")
            self.parts.append(f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
                              f"<figcaption>{html.escape(caption)}</figcaption></figure>")
        return self


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def write_report(path: Path, title: str, sections: list[Section]) -> None:
    """Write the page atomically."""
    body = "".join(f"<h2>{html.escape(s.title)}</h2>{''.join(s.parts)}" for s in sections)
    page = (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>\n")
    with atomic_path(path) as tmp:
        Path(tmp).write_text(page, encoding="utf-8")
