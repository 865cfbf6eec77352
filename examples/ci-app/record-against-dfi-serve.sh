#!/usr/bin/env bash
# Record celebcheck's cassettes against `dfi serve` instead of the mock servers the pytest plugin
# starts inside the test session: the same command a team runs against the real services, with the
# endpoints and (fake) credentials in the environment. Arguments go to pytest (e.g. a test file).
set -euo pipefail
cd "$(dirname "$0")"
log=$(mktemp)
dfi serve --aws-port 0 --ms-port 0 --nav-port 0 >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -f "$log"' EXIT
until grep -q "Ctrl-C stops." "$log"; do  # free ports: read the endpoints it printed
  kill -0 "$server" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.2
done
url() { grep -o "$1=[^ ]*" "$log" | cut -d= -f2; }

export AWS_ENDPOINT_URL_REKOGNITION=$(url DFI_AWS_ENDPOINT_URL)
export AZURE_VISION_ENDPOINT=$(url DFI_AZURE_VISION_ENDPOINT) AZURE_FACE_ENDPOINT=$(url DFI_AZURE_VISION_ENDPOINT)
export NAVER_CFR_URL=$(url DFI_NAVER_ENDPOINT)/v1/vision/celebrity
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
export AZURE_VISION_KEY=fake-key AZURE_FACE_KEY=fake-key NAVER_CLIENT_ID=fake-id NAVER_CLIENT_SECRET=fake-secret
python -m pytest --record-mode=rewrite --vendors-from-env "$@"
