"""Print the registered vendors (harness.vendors.registry) as a Markdown table.

docs/regenerate.py runs this for docs/architecture.md, so the page shows what the registry holds.
"""

from harness.vendors import registry

COLUMNS = ("vendor", "display", "service", "scale", "similarity", "env prefix", "port", "default rate (calls/s)",
           "$ per 1,000 calls")
print("| " + " | ".join(COLUMNS) + " |")
print("|" + "---|" * len(COLUMNS))
for s in registry.specs():
    price = ", ".join(f"{op} {'unknown' if p is None else f'{p:.2f}'}" for op, p in s.price_per_1000_usd.items())
    print(
        f"| `{s.name}` | {s.display_name} | {s.service} | 0-{s.scale:g} | {'yes' if s.supports_similarity else 'no'} "
        f"| `{s.env_prefix}` | {s.default_port} | {s.default_rate.per_second:.4g} | {price} |"
    )
print()
print("References of `aws` (resolved lazily, `module:attribute`):")
print()
for what, ref in registry.get("aws").refs.items():
    print(f"- `{what}`: `{ref}`")
