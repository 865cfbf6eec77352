"""Build ``doc-example`` cassettes from the vendors' documentation examples.

The examples are answers without the image that produced them, so each request carries a
stand-in image: the UTF-8 bytes of ``doc-example:<file name>`` (see :func:`stand_in_image`).
Replaying ``recognize(stand_in_image(name))`` through the real client code checks that the
documented answer shapes parse (AWS ones through botocore's own parser). Sources and licences
are written into each cassette's metadata (see ../shared/data/vendor-recordings/SOURCES.md).

Run: ``python -m harness.cassettes.doc_examples [SHARED_DATA] [OUT_DIR]``.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

import yaml
from vcr.request import Request
from vcr.serializers import compat

from harness.cassettes.filters import redact_request
from harness.paths import shared_data_dir

AWS_HOST = "https://rekognition.us-west-2.amazonaws.com/"
AZURE_HOST = "https://westus.api.cognitive.microsoft.com"

# (file under vendor-recordings, operation, source and licence, fix-ups applied)
AWS_EXAMPLES = [
    ("aws/API_RecognizeCelebrities.md.sample-response.json", "RecognizeCelebrities",
     "awsdocs/amazon-rekognition-developer-guide API_RecognizeCelebrities.md (CC-BY-SA-4.0)", None),
    ("aws/celebrities-procedure-image.md.response-example.json", "RecognizeCelebrities",
     "awsdocs/amazon-rekognition-developer-guide celebrities-procedure-image.md (CC-BY-SA-4.0)",
     "published with Python's True; written here as JSON true"),
    ("aws/aws-cli/recognize-celebrities.rst.output.json", "RecognizeCelebrities",
     "aws/aws-cli awscli/examples/rekognition/recognize-celebrities.rst (Apache-2.0)", None),
    ("aws/faces-comparefaces.md.response-example.json", "CompareFaces",
     "awsdocs/amazon-rekognition-developer-guide faces-comparefaces.md (CC-BY-SA-4.0)", None),
    ("aws/aws-cli/compare-faces.rst.output.json", "CompareFaces",
     "aws/aws-cli awscli/examples/rekognition/compare-faces.rst (Apache-2.0)", None),
]
AZURE_EXAMPLES = [
    ("azure/azure-rest-api-specs/SuccessfulAnalyzeImageByDomainWithStream.json",
     "Azure/azure-rest-api-specs ComputerVision v3.2 example (MIT)"),
    ("azure/ms-docs/concept-detecting-domain-content.celebrities-example.json",
     "Microsoft Learn concept-detecting-domain-content (CC-BY-4.0)"),
]


def stand_in_image(example_file: str) -> bytes:
    """The bytes the doc-example cassettes record as "the image" of ``example_file`` (its path
    under vendor-recordings, e.g. ``aws/aws-cli/compare-faces.rst.output.json``)."""
    return f"doc-example:{example_file}".encode()


def _interaction(request: Request, body: dict[str, Any], content_type: str) -> dict[str, Any]:
    request = redact_request(request)
    text = json.dumps(body)
    response = {"status": {"code": 200, "message": "OK"},
                "headers": {"Content-Type": [content_type], "Content-Length": [str(len(text))]},
                "body": {"string": text}}
    return {"request": compat.convert_to_unicode(request._to_dict()), "response": response}


def _read_json(path: Path, fixup: str | None) -> Any:
    text = path.read_text(encoding="utf-8")
    if fixup:
        text = text.replace(": True", ": true").replace(": False", ": false")
    return json.loads(text)


def build_aws(rec: Path) -> dict[str, Any]:
    interactions, sources = [], []
    for name, op, source, fixup in AWS_EXAMPLES:
        body = _read_json(rec / name, fixup)
        image = base64.b64encode(stand_in_image(name)).decode()
        payload: dict[str, object]
        if op == "RecognizeCelebrities":
            payload = {"Image": {"Bytes": image}}
        else:  # the harness calls CompareFaces with SimilarityThreshold 0
            payload = {"SourceImage": {"Bytes": image}, "TargetImage": {"Bytes": image}, "SimilarityThreshold": 0.0}
        req = Request("POST", AWS_HOST, json.dumps(payload).encode(),
                      {"X-Amz-Target": f"RekognitionService.{op}", "Content-Type": "application/x-amz-json-1.1"})
        interactions.append(_interaction(req, body, "application/x-amz-json-1.1"))
        sources.append(f"{name}: {source}" + (f"; {fixup}" if fixup else ""))
    return _cassette(interactions, "aws", sources)


def build_azure(rec: Path) -> dict[str, Any]:
    interactions, sources = [], []
    for name, source in AZURE_EXAMPLES:
        data = json.loads((rec / name).read_text(encoding="utf-8"))
        body = data["responses"]["200"]["body"] if "responses" in data else data
        req = Request("POST", AZURE_HOST + "/vision/v3.2/models/celebrities/analyze", stand_in_image(name),
                      {"Content-Type": "application/octet-stream"})
        interactions.append(_interaction(req, body, "application/json; charset=utf-8"))
        sources.append(f"{name}: {source}")
    return _cassette(interactions, "ms", sources)


def _cassette(interactions: list[dict[str, Any]], vendor: str, sources: list[str]) -> dict[str, Any]:
    return {"version": 1, "interactions": interactions, "metadata": {
        "provenance": "doc-example",
        "vendor": vendor,
        "note": "documentation examples, not captured traffic; each request's image is a stand-in: "
                "the bytes of 'doc-example:<source file>' (harness.cassettes.doc_examples.stand_in_image)",
        "sources": sources,
    }}


def main(argv: list[str]) -> None:
    shared = Path(argv[0]) if argv else shared_data_dir()
    out = Path(argv[1]) if len(argv) > 1 else Path("cassettes/doc-example")
    if shared is None:
        raise SystemExit("../shared/data not found; pass its path")
    rec = shared / "vendor-recordings"
    out.mkdir(parents=True, exist_ok=True)
    for vendor, cassette in (("aws", build_aws(rec)), ("ms", build_azure(rec))):
        (out / f"{vendor}.yaml").write_text(
            yaml.safe_dump(cassette, sort_keys=False, allow_unicode=True), encoding="utf-8"
        )
        print(out / f"{vendor}.yaml", len(cassette["interactions"]), "interactions")


if __name__ == "__main__":
    main(sys.argv[1:])
