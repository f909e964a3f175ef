"""Generate docs/rules.md from the `Rule` objects of the codemod registry.

The rule reference is the rules' own text (what `asyncfix explain` prints and SARIF and
fixit carry), so it cannot drift from the code; tests/test_docs.py fails when the file is
stale. Regenerate it after changing a rule:

    .venv/bin/python scripts/document_rules.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from asyncfix.codemods import all_codemods, families

OUT = Path(__file__).resolve().parent.parent / "docs" / "rules.md"
COMMAND = ".venv/bin/python scripts/document_rules.py"


def render() -> str:
    """The whole of docs/rules.md."""
    codemods = all_codemods()
    lines = [
        "# Rules",
        "",
        f"<!-- generated from the Rule objects by {COMMAND}; do not edit -->",
        "",
        "Every rule with its family, the codemod that implements it, why it matters, the fix,",
        "and an example that the test suite runs (the codemod must turn *before* into exactly",
        "*after*). `asyncfix explain CODE` prints the same text. Rules marked *local fix* are",
        "offered to `fixit fix`; the others are fixed by `asyncfix apply` (they reach beyond",
        "the site). More about each family's limits: [rule-details.md](rule-details.md).",
        "",
        "| code | family | summary |",
        "|---|---|---|",
    ]
    rows = sorted((rule.code, c.FAMILY, rule.summary) for c in codemods for rule in c.RULES)
    lines += [f"| [{code}](#{code.lower()}) | {fam} | {_cell(text)} |" for code, fam, text in rows]
    for family in families():
        lines += ["", f"## {family}"]
        members = [(rule, c) for c in codemods if family == c.FAMILY for rule in c.RULES]
        for rule, codemod in sorted(members, key=lambda m: m[0].code):
            fix = "local fix" if rule.local_fix else "fixed by `asyncfix apply`"
            lines += [
                "",
                f"### {rule.code}",
                "",
                f"**{rule.summary}**",
                "",
                f"`{rule.name}`, codemod `{codemod.NAME}`; {fix}.",
                "",
                f"*Why it matters.* {rule.why}",
                "",
                f"*The fix.* {rule.fix}",
                "",
                "Before:",
                "",
                "```python",
                rule.before.rstrip("\n"),
                "```",
                "",
            ]
            if rule.after == rule.before:
                lines.append("Reported for manual review; not rewritten.")
            else:
                lines += ["After:", "", "```python", rule.after.rstrip("\n"), "```"]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    # A table cell: a pipe would end it.
    return text.replace("|", "\\|")


def main() -> int:
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
