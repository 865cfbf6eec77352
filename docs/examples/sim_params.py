"""Print the simulation's measured parameters (harness/simulate/params.json) as Markdown: one column
per recognizer (the reference first), then each view's coupling to the reference.

docs/regenerate.py runs this for docs/simulation.md; `dfi simulate --estimate FILE` re-measures
the file itself.
"""

from harness.simulate.params import SimulationParams, Spread

p = SimulationParams.load()
names = p.recognizer_names


def ms(s: Spread) -> str:
    return f"{s.mean:.3f} +- {s.sd:.3f}"


print("| cosine (mean +- sd) | " + " | ".join(f"{n} ({p.stats_of(n)[0].dim}-d)" + (" reference" if n == p.recognizer
                                                                                   else "") for n in names) + " |")
print("|---|" + "---|" * len(names))
print("| same person | " + " | ".join(ms(p.stats_of(n)[0].same_person) for n in names) + " |")
print("| different people | " + " | ".join(ms(p.stats_of(n)[0].different_person) for n in names) + " |")
for fam in p.generators:
    print(f"| {fam}: deepfake to its identity source | "
          + " | ".join(ms(p.stats_of(n)[1][fam].to_identity) for n in names) + " |")
    print(f"| {fam}: deepfake to the other person | "
          + " | ".join(ms(p.stats_of(n)[1][fam].to_other) for n in names) + " |")
print()
print("Measured on: " + p.embedding.provenance.removeprefix(f"measured with {p.recognizer}: ") + ".")
for fam, g in p.generators.items():
    print(f"{fam}: {g.provenance}.")
print()
print("| view | identity coupling | deepfake coupling | how it was found |")
print("|---|---|---|---|")
for n, v in p.recognizers.items():
    print(f"| {n} | {v.coupling.identity:.3f} | {v.coupling.deepfake:.3f} | {v.coupling.provenance} |")
print()
sizes = ", ".join(f"{d.name} {d.probes:,} probes / {d.targets} targets ({d.method})" for d in p.datasets)
regions = ", ".join(f"{k} {v:.0%}" for k, v in p.regions.items())
print(f"World: {p.celebrities} celebrities ({regions}), {p.gallery_photos} gallery "
      f"photos each; datasets: {sizes}. {p.notes}")
