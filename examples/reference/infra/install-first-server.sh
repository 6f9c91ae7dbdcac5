#!/usr/bin/env bash
# The first control node: starts a new embedded etcd cluster.
set -euo pipefail
source "$(dirname "$0")/k3s-flags.sh"

curl -sfL https://get.k3s.io | INSTALL_K3S_EXEC="server --cluster-init ${K3S_SERVER_FLAGS[*]}" sh -

mkdir -p "$HOME/.kube"
cp /etc/rancher/k3s/k3s.yaml "$HOME/.kube/config"
echo "node token for the other nodes: /var/lib/rancher/k3s/server/node-token"
