# Sourced by the server scripts: the flags every K3s server runs with.
# shellcheck shell=bash
K3S_SERVER_FLAGS=(
  --disable traefik
  # MetalLB hands out LoadBalancer addresses. The write-up's install line keeps
  # K3s's ServiceLB (klipper-lb), which would also claim every LoadBalancer
  # Service and bind its ports on the nodes: off.
  --disable servicelb
  # Calico is the CNI and enforces NetworkPolicy; K3s's embedded network policy
  # controller would enforce the same policies a second time: off (the
  # write-up's install line keeps it).
  --flannel-backend=none
  --disable-network-policy
  # K3s's defaults, stated: install-calico.sh gives Calico the same pod CIDR
  # (section 7's caveat: aligned CIDRs keep cross-node NetworkPolicy working).
  --cluster-cidr=10.42.0.0/16
  --service-cidr=10.43.0.0/16
  # Failover: a dead node is NotReady after 16 s and its pods are evicted 30 s later.
  --kube-controller-manager-arg=node-monitor-period=2s
  --kube-controller-manager-arg=node-monitor-grace-period=16s
  --kube-apiserver-arg=default-not-ready-toleration-seconds=30
  --kube-apiserver-arg=default-unreachable-toleration-seconds=30
  # etcd: the lowest values at which Longhorn's load causes no spurious elections.
  --etcd-arg=heartbeat-interval=500
  --etcd-arg=election-timeout=5000
)
