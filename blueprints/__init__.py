"""gitops-kit's blueprints: cookiecutter templates, shipped as package data (see README.md)."""
