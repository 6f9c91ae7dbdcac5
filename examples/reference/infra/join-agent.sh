#!/usr/bin/env bash
# Worker nodes: join as agents.
#   K3S_TOKEN=<node-token> FIRST_SERVER=192.0.2.51 ./join-agent.sh
set -euo pipefail
: "${K3S_TOKEN:?set K3S_TOKEN to the node token of the first server}"
FIRST_SERVER="${FIRST_SERVER:-192.0.2.51}"

curl -sfL https://get.k3s.io | K3S_URL="https://${FIRST_SERVER}:6443" K3S_TOKEN="$K3S_TOKEN" sh -
