"""Generate docs/rules.md from the `Rule` objects of the codemod registry.

The rule reference is the rules' own text (what `asyncfix explain` prints and SARIF and
fixit carry), so it cannot drift from the code; tests/test_docs.py fails when the file is
stale. Regenerate it after changing a rule:

    .venv/bin/python scripts/document_rules.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from asyncfix.codemods import all_rules, every_rule

OUT = Path(__file__).resolve().parent.parent / "docs" / "rules.md"
COMMAND = ".venv/bin/python scripts/document_rules.py"


def render() -> str:
    """The whole of docs/rules.md."""
    rules = every_rule()
    pipeline = all_rules()
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
        "The `profile` rules are found in a profile (`check --profile`), not in the source.",
        "",
        "| code | family | summary |",
        "|---|---|---|",
    ]
    rows = sorted((code, c.FAMILY, rule.summary) for code, (c, rule) in rules.items())
    lines += [f"| [{code}](#{code.lower()}) | {fam} | {_cell(text)} |" for code, fam, text in rows]
    # Families in the order of their first codes (serializer AF1xx first).
    for family in dict.fromkeys(family for _, family, _ in rows):
        lines += ["", f"## {family}"]
        members = [(rule, c) for c, rule in rules.values() if family == c.FAMILY]
        for rule, codemod in sorted(members, key=lambda m: m[0].code):
            if rule.code not in pipeline:
                fix = "reported with `--profile`, never rewritten"
            elif rule.local_fix:
                fix = "local fix"
            else:
                fix = "fixed by `asyncfix apply`"
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
