"""Blueprints: ``gitops-kit init`` and ``gitops-kit new-app``.

One flow for both commands: check every input with the lint rules' own helpers, render the
cookiecutter blueprints (``blueprints/``) into a temporary directory, list the files that
already exist and refuse them without ``--force``, write everything under a repository lock
(``.gitops-kit.lock``) as one all-or-nothing change, then lint the result with the full catalog.

Modules: :mod:`.seed` (the seed platform's data), :mod:`.render` (cookiecutter, trust of
user blueprints), :mod:`.inputs` (validation and defaults), :mod:`.plan` (what to write for
``init`` and ``new-app``), :mod:`.writer` (lock, conflicts, all-or-nothing writes, dry run), :mod:`.execute` (dry run or
lock -> write -> lint -> report), :mod:`.commands` (the click commands).
"""
