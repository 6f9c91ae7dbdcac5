# Sourced by the server scripts: the flags every K3s server runs with.
# shellcheck shell=bash
K3S_SERVER_FLAGS=(
  --disable traefik
  --flannel-backend=none
  # Failover: a dead node is NotReady after 16 s and its pods are evicted 30 s later.
  --kube-controller-manager-arg=node-monitor-period=2s
  --kube-controller-manager-arg=node-monitor-grace-period=16s
  --kube-apiserver-arg=default-not-ready-toleration-seconds=30
  --kube-apiserver-arg=default-unreachable-toleration-seconds=30
  # etcd: the lowest values at which Longhorn's load causes no spurious elections.
  --etcd-arg=heartbeat-interval=500
  --etcd-arg=election-timeout=5000
)
