#!/usr/bin/env bash
# The other control nodes: join the first server's etcd cluster.
#   K3S_TOKEN=<node-token> FIRST_SERVER=192.0.2.51 ./join-server.sh
set -euo pipefail
source "$(dirname "$0")/k3s-flags.sh"
: "${K3S_TOKEN:?set K3S_TOKEN to the node token of the first server}"
FIRST_SERVER="${FIRST_SERVER:-192.0.2.51}"

curl -sfL https://get.k3s.io | K3S_TOKEN="$K3S_TOKEN" \
  INSTALL_K3S_EXEC="server --server https://${FIRST_SERVER}:6443 ${K3S_SERVER_FLAGS[*]}" sh -
