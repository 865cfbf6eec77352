"""Print the simulation's measured parameters (harness/simulate/params.json) as Markdown.

docs/regenerate.py runs this for docs/simulation.md; `dfi simulate --estimate FILE` re-measures
the file itself.
"""

import json
from pathlib import Path

import harness.simulate

params = json.loads((Path(harness.simulate.__file__).parent / "params.json").read_text())
emb, gen = params["embedding"], params["generators"]


def ms(d: dict) -> str:
    return f"{d['mean']:.3f} +- {d['sd']:.3f}"


print("| quantity | cosine (mean +- sd) | measured on |")
print("|---|---|---|")
print(f"| same person | {ms(emb['same_person'])} | {emb['provenance']} |")
print(f"| different people | {ms(emb['different_person'])} | (as above) |")
for name, g in gen.items():
    print(f"| {name}: deepfake to its identity source / to the other person | "
          f"{ms(g['to_identity'])} / {ms(g['to_other'])} | {g['provenance']} |")
print()
sizes = ", ".join(f"{d['name']} {d['probes']:,} probes / {d['targets']} targets ({d['method']})"
                  for d in params["datasets"])
regions = ", ".join(f"{k} {v:.0%}" for k, v in params["regions"].items())
print(f"World: {params['celebrities']} celebrities ({regions}), {params['gallery_photos']} gallery "
      f"photos each; datasets: {sizes}. {params['notes']}")
