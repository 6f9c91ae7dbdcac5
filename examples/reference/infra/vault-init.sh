#!/usr/bin/env bash
# Vault bootstrap (section 13), from a machine with kubectl and jq, in two
# steps while root-platform syncs:
#
#   ./vault-init.sh transit  once pod vault-transit-0 runs (wave 0): initialises
#                            and unseals the transit Vault, creates the
#                            autounseal key and the vault-transit-seal Secret
#                            that vault-ha loads as its seal stanza (wave 1).
#   ./vault-init.sh ha       once pod vault-ha-0 runs: initialises vault-ha
#                            (auto-unsealed by transit), enables the kv-v2
#                            engine at kv/ and the Kubernetes auth that the
#                            avp-helm plugin logs in with (role
#                            argocd-repo-server: ServiceAccount
#                            argocd-repo-server in argocd-system, read on
#                            kv/data/argocd/*).
#
# The init output (unseal and recovery keys, root tokens) is written to
# ./vault-init-<step>.json, readable by you only: move it offline at once, never
# commit it. Then write the secrets under kv/argocd/platform/<app> and
# kv/argocd/apps/helm/<app> (README.md, Bootstrap secrets).
set -euo pipefail
NS=vault-core
step="${1:?usage: vault-init.sh transit|ha}"
umask 077

vault_in() {
  local pod="$1"
  shift
  kubectl -n "$NS" exec -i "$pod" -- env VAULT_ADDR=http://127.0.0.1:8200 "$@"
}

case "$step" in
transit)
  kubectl -n "$NS" wait pod/vault-transit-0 --for=jsonpath='{.status.phase}'=Running --timeout=15m
  vault_in vault-transit-0 vault operator init -key-shares=5 -key-threshold=3 -format=json >vault-init-transit.json
  for i in 0 1 2; do
    vault_in vault-transit-0 vault operator unseal "$(jq -r ".unseal_keys_b64[$i]" vault-init-transit.json)" >/dev/null
  done
  root="$(jq -r .root_token vault-init-transit.json)"
  tv() { vault_in vault-transit-0 env VAULT_TOKEN="$root" vault "$@"; }
  tv secrets enable transit
  tv write -f transit/keys/autounseal
  printf '%s\n' \
    'path "transit/encrypt/autounseal" { capabilities = ["update"] }' \
    'path "transit/decrypt/autounseal" { capabilities = ["update"] }' | tv policy write autounseal -
  token="$(tv token create -orphan -period=24h -policy=autounseal -field=token)"
  kubectl -n "$NS" create secret generic vault-transit-seal --from-file=seal.hcl=/dev/stdin <<HCL
seal "transit" {
  address         = "http://vault-transit.vault-core.svc.cluster.local:8200"
  token           = "$token"
  disable_renewal = "false"
  key_name        = "autounseal"
  mount_path      = "transit/"
  tls_disable     = "true"
}
HCL
  echo "vault-transit is unsealed; keys in vault-init-transit.json (move them offline)."
  echo "It is unsealed by hand after every restart: vault operator unseal, three keys."
  ;;
ha)
  kubectl -n "$NS" wait pod/vault-ha-0 --for=jsonpath='{.status.phase}'=Running --timeout=15m
  vault_in vault-ha-0 vault operator init -recovery-shares=5 -recovery-threshold=3 -format=json >vault-init-ha.json
  root="$(jq -r .root_token vault-init-ha.json)"
  hv() { vault_in vault-ha-0 env VAULT_TOKEN="$root" vault "$@"; }
  until hv status >/dev/null 2>&1; do sleep 5; done # auto-unsealed against transit
  hv secrets enable -path=kv kv-v2
  hv auth enable kubernetes
  # In the pod, Vault reviews tokens with its own ServiceAccount (the chart's
  # system:auth-delegator binding) and the cluster CA.
  hv write auth/kubernetes/config kubernetes_host=https://kubernetes.default.svc:443
  printf '%s\n' 'path "kv/data/argocd/*" { capabilities = ["read"] }' | hv policy write argocd-repo-server -
  hv write auth/kubernetes/role/argocd-repo-server \
    bound_service_account_names=argocd-repo-server \
    bound_service_account_namespaces=argocd-system \
    policies=argocd-repo-server ttl=1h
  echo "vault-ha is initialised; recovery keys and root token in vault-init-ha.json (move them offline)."
  ;;
*)
  echo "usage: vault-init.sh transit|ha" >&2
  exit 2
  ;;
esac
