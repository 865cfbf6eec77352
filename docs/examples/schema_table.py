"""Print the results table's columns (harness/results/schema.py) as a Markdown table.

docs/regenerate.py runs this to write docs/reference/results-schema.md, so the page cannot drift
from the code.
"""

from harness.results import schema
from harness.vendors import registry

print(f"Schema version {schema.SCHEMA_VERSION}. Vendors: {', '.join(registry.names())}. "
      f"Generation methods: {', '.join(schema.METHODS)}. "
      f"Required columns: {', '.join('`' + c + '`' for c in schema.REQUIRED_COLUMNS)}.")
print()
print("| column | type | meaning |")
print("|---|---|---|")
for name, (kind, text) in schema.COLUMNS.items():
    print(f"| `{name}` | {kind} | {text.replace('|', '&#124;')} |")
