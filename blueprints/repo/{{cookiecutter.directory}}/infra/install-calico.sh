#!/usr/bin/env bash
# Calico v3.29.1 (section 7), from a machine with kubectl access once the
# servers run: K3s starts without flannel, so nodes stay NotReady until this.
#
# The pod CIDR is set at install time: Calico's manifest leaves
# CALICO_IPV4POOL_CIDR commented out (its default pool would be
# 192.168.0.0/16); it is set to K3s's cluster CIDR, 10.42.0.0/16, the pool
# that apps/manifests/cluster-config/calico-ippool.yaml then keeps in git.
# K3s also needs IP forwarding allowed in Calico's CNI container settings.
set -euo pipefail
CALICO_VERSION="v3.29.1"
POD_CIDR="${POD_CIDR:-10.42.0.0/16}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

curl -fsSL -o "$work/calico.yaml" \
  "https://raw.githubusercontent.com/projectcalico/calico/${CALICO_VERSION}/manifests/calico.yaml"
sed -i -E \
  -e 's|^([[:space:]]*)# (- name: CALICO_IPV4POOL_CIDR)$|\1\2|' \
  -e 's|^([[:space:]]*)#   value: "192\.168\.0\.0/16"$|\1  value: "'"$POD_CIDR"'"|' \
  -e 's|^([[:space:]]*)"type": "calico",$|&\n\1"container_settings": {"allow_ip_forwarding": true},|' \
  "$work/calico.yaml"
grep -q "value: \"$POD_CIDR\"" "$work/calico.yaml" || { echo "CALICO_IPV4POOL_CIDR not set" >&2; exit 1; }
grep -q '"allow_ip_forwarding": true' "$work/calico.yaml" || { echo "allow_ip_forwarding not set" >&2; exit 1; }

kubectl create -f "$work/calico.yaml"
kubectl -n kube-system rollout status daemonset/calico-node --timeout=10m
kubectl get nodes
