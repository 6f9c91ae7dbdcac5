#!/usr/bin/env bash
# Host preparation, on every node before K3s is installed.
set -euo pipefail

cat > /etc/sysctl.d/k8s.conf <<'SYSCTL'
net.ipv4.ip_forward = 1
net.bridge.bridge-nf-call-iptables = 1
net.bridge.bridge-nf-call-ip6tables = 1
SYSCTL
modprobe br_netfilter
sysctl --system

# Kubernetes requires swap off, now and after a reboot.
swapoff -a
sed -i.bak -E 's/^([^#].*[[:space:]]swap[[:space:]].*)$/# \1/' /etc/fstab

# K3s and Calico program the packet filter; a host firewall fights them.
if command -v firewall-cmd >/dev/null 2>&1; then
  systemctl disable --now firewalld
fi
if command -v ufw >/dev/null 2>&1; then
  systemctl disable --now ufw
fi

# RHEL family: SELinux permissive at minimum.
if command -v setenforce >/dev/null 2>&1; then
  setenforce 0 || true
  sed -i -E 's/^SELINUX=enforcing/SELINUX=permissive/' /etc/selinux/config
fi

# Longhorn attaches its volumes over iSCSI from the host (iscsiadm and the
# iscsid service) and mounts ReadWriteMany volumes over NFSv4: every node needs
# both clients. The write-up lists only curl; Longhorn's own prerequisites
# (its environment check) require these.
if command -v dnf >/dev/null 2>&1; then
  dnf install -y curl iscsi-initiator-utils nfs-utils
elif command -v apt-get >/dev/null 2>&1; then
  apt-get update && apt-get install -y curl open-iscsi nfs-common
fi
modprobe iscsi_tcp
echo iscsi_tcp > /etc/modules-load.d/iscsi_tcp.conf
systemctl enable --now iscsid
