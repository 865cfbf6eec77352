"""Print the import-linter layer contract of pyproject.toml as a Markdown list, top to bottom.

docs/regenerate.py runs this for docs/architecture.md, so the page shows the rules the test checks.
"""

import tomllib
from pathlib import Path

NOTES = {
    "harness.cli": "the `dfi` command line, one module per command",
    "harness.jobs": "library entry points the CLI calls thinly",
    "harness.distributed": "campaigns and simulations on a Ray cluster (`--executor ray`, the optional ray extra)",
    "harness.report": "terminal tables, CSV/JSON, plots, HTML",
    "harness.metrics": "the six metrics, Wilson intervals",
    "harness.campaign": "journal, resume, cache, cost",
    "mockvendors": "vendor behaviour and wire protocols",
}

root = Path(__file__).resolve().parents[2]
config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["importlinter"]
for contract in config["contracts"]:
    if contract["type"] != "layers":
        continue
    for i, layer in enumerate(contract["layers"], 1):
        names = [n.strip() for n in layer.split(":")]
        text = " : ".join(f"`{n}`" for n in names)
        note = NOTES.get(layer.strip())
        if len(names) > 1 and i == len(contract["layers"]):
            note = "foundation"
        elif len(names) > 1 and any(n in ("harness.sweep", "harness.defense") for n in names):
            note = "the analyses, side by side"
        print(f"{i}. {text}" + (f" — {note}" if note else ""))
others = [c["name"] for c in config["contracts"] if c["type"] != "layers"]
if others:
    print()
    print("Other contracts: " + "; ".join(others) + ".")
