#!/usr/bin/env bash
# Put every node on its tier: charts select it with a nodeSelector on example.com/role.
#   CONTROL_NODES="k3s-control-01 k3s-control-02 k3s-control-03" \
#   WORKER_NODES="k3s-worker-01 k3s-worker-02 k3s-worker-03" ./label-nodes.sh
set -euo pipefail
TIER_LABEL="example.com/role"
CONTROL_NODES="${CONTROL_NODES:-k3s-control-01 k3s-control-02 k3s-control-03}"
WORKER_NODES="${WORKER_NODES:-k3s-worker-01 k3s-worker-02 k3s-worker-03}"

# shellcheck disable=SC2086 # node lists are split on purpose
kubectl label node --overwrite $CONTROL_NODES "${TIER_LABEL}=control"
# shellcheck disable=SC2086
kubectl label node --overwrite $WORKER_NODES "${TIER_LABEL}=worker"
kubectl get nodes -L "$TIER_LABEL"
