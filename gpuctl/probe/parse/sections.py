"""Split the probe script's output into its sections.

Each command's output is framed by marker lines that carry a nonce chosen for this run, so no
command output can fake one, and the command's exit status:

    @@NONCE begin NAME
    ...what the command printed...
    @@NONCE end NAME STATUS

and, when the command wrote to stderr, the same framing around it under the name `stderr:NAME`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gpuctl.probe.parse.common import clean_text


@dataclass(frozen=True)
class Section:
    text: str
    status: int | None
    """Exit status of the command; None when the output stopped before the section's end."""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 0

    def error(self) -> str:
        """The command's complaint for a message: the first stderr (or stdout) line, shortened."""
        for line in (self.stderr + "\n" + self.text).split("\n"):
            if line.strip():
                return line.strip()[:200]
        return "no output"


def parse_sections(output: str, nonce: str) -> dict[str, Section]:
    marker = re.compile(rf"^@@{re.escape(nonce)} (begin|end) (\S+)(?: (\d+))?$")
    texts: dict[str, list[str]] = {}
    statuses: dict[str, int | None] = {}
    current: str | None = None
    for line in clean_text(output).split("\n"):
        match = marker.match(line)
        if not match:
            if current is not None:
                texts[current].append(line)
            continue
        kind, name, status = match.groups()
        if kind == "begin":
            current = name
            texts[name] = []
            statuses[name] = None
        elif name == current:
            statuses[name] = int(status) if status is not None else None
            current = None
    sections = {}
    for name, lines in texts.items():
        if name.startswith("stderr:"):
            continue
        stderr = "\n".join(texts.get(f"stderr:{name}", [])).strip("\n")
        sections[name] = Section("\n".join(lines).strip("\n"), statuses[name], stderr)
    return sections
