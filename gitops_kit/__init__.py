"""gitops-kit: generate and lint three-layer ArgoCD GitOps repositories."""

__version__ = "0.1.0"
