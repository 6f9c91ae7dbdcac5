"""The loader: positions, and bad input that must never raise or hang."""

from __future__ import annotations

import time

from gitops_kit import yamlio


def test_positions_of_keys_values_and_items():
    doc = yamlio.load_text("a: 1\nb:\n  - x\n  - y: 2\n").documents[0].data
    assert doc.key_pos("a") == (1, 1)
    assert doc.value_pos("a") == (1, 4)
    assert doc["b"].item_pos(1) == (4, 5)
    assert doc["b"][1].key_pos("y") == (4, 5)


def test_quoted_strings_are_marked():
    doc = yamlio.load_text('a: "0"\nb: 0\nc: zero\n').documents[0].data
    assert isinstance(doc["a"], yamlio.QStr) and doc["a"] == "0"
    assert doc["b"] == 0 and not isinstance(doc["c"], yamlio.QStr)


def test_duplicate_keys_at_depth_are_reported():
    loaded = yamlio.load_text("a:\n  b: 1\n  c: 2\n  b: 3\nd: 1\nd: 2\n")
    lines = sorted(p.line for p in loaded.problems if "duplicate key" in p.message)
    assert lines == [4, 6]


def test_custom_tags_are_never_constructed():
    loaded = yamlio.load_text("a: !!python/object/apply:os.system ['echo hacked']\nb: !custom 3\n")
    data = loaded.documents[0].data
    assert data["b"] == "3"
    assert isinstance(data["a"], list)  # the node's content as plain data, nothing run


def test_yaml11_surprises_read_as_yaml11_does():
    data = yamlio.load_text("on: yes\nmode: 0777\nversion: 1.10\nexp: 1e3\n").documents[0].data
    assert data[True] is True and data["mode"] == 511 and data["version"] == 1.1
    assert data["exp"] == "1e3"  # YAML 1.1 needs a dot for a float


def test_alias_bomb_is_refused_quickly():
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    start = time.monotonic()
    loaded = yamlio.load_text("\n".join(lines) + "\n")
    assert time.monotonic() - start < 5
    assert any("alias" in p.message and p.fatal for p in loaded.problems)


def test_recursive_alias_is_refused():
    loaded = yamlio.load_text("a: &x\n  b: *x\n")
    assert any("recursive" in p.message for p in loaded.problems)


def test_undefined_alias_is_a_fatal_problem_with_its_line():
    loaded = yamlio.load_text("a: 1\nb: *nowhere\n---\nc: 2\n")
    fatal = [p for p in loaded.problems if p.fatal]
    assert [(p.line, p.column) for p in fatal] == [(2, 4)] and "alias" in fatal[0].message
    assert "nowhere" not in fatal[0].message  # an alias's name may be a value meant as text (a password)
    assert loaded.documents[0].data is None and loaded.documents[1].data == {"c": 2}


def test_deep_flow_nesting_is_refused_not_crashing():
    loaded = yamlio.load_text("[" * 100_000 + "]" * 100_000)
    assert loaded.problems and loaded.problems[0].fatal


def test_syntax_error_has_a_line():
    loaded = yamlio.load_text("a: 1\nb: [1, 2\nc: 3\n")
    fatal = [p for p in loaded.problems if p.fatal]
    assert fatal and fatal[0].line >= 2


def test_tabs_in_indentation():
    loaded = yamlio.load_text("a:\n\tb: 1\n")
    assert any(p.line == 2 and "tab" in p.message for p in loaded.problems)


def test_decode_variants():
    assert yamlio.decode(b"a: 1\n")[0] == "a: 1\n"
    assert yamlio.decode(b"\xef\xbb\xbfa: 1\n")[0] == "a: 1\n"
    text, problems = yamlio.decode("a: 1\n".encode("utf-16"))
    assert text == "a: 1\n" and "UTF-16" in problems[0].message
    assert yamlio.decode(b"\x00\x01binary")[0] is None
    text, problems = yamlio.decode(b"a: \xff\n")
    assert text is None and problems[0].line == 1 and problems[0].column == 4


def test_empty_and_separator_only_documents():
    assert yamlio.load_text("").documents == []
    loaded = yamlio.load_text("---\n")
    assert loaded.problems == [] and [d.data for d in loaded.documents] == [None]


def test_atomic_write_refuses_to_overwrite(tmp_path):
    target = tmp_path / "f.yaml"
    yamlio.atomic_write(target, "a: 1\n")
    try:
        yamlio.atomic_write(target, "a: 2\n")
    except FileExistsError:
        pass
    else:
        raise AssertionError("overwrote without overwrite=True")
    assert target.read_text() == "a: 1\n"
    yamlio.atomic_write(target, "a: 2\n", overwrite=True)
    assert target.read_text() == "a: 2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["f.yaml"]


def test_writes_keep_the_mode_of_the_replaced_file(tmp_path):
    import os

    target = tmp_path / "run.sh.yaml"
    target.write_text("a: 1\n")
    target.chmod(0o755)
    yamlio.atomic_write(target, "a: 2\n", overwrite=True)
    assert target.stat().st_mode & 0o777 == 0o755
    yamlio.write_all({str(target): "a: 3\n"}, {str(target): b"a: 2\n"})
    assert target.stat().st_mode & 0o777 == 0o755
    fresh = tmp_path / "new.yaml"
    yamlio.atomic_write(fresh, "a: 1\n")
    umask = os.umask(0)
    os.umask(umask)
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~umask


GOLDEN_BEFORE = """# header comment
spec:
  syncPolicy:
    automated:
      prune: false   # aligned comment

  # a comment before the next block
  other: 'single'    # quoted
list:
  - a   # item
"""


def test_round_trip_edit_keeps_every_other_line_byte_for_byte():
    out = yamlio.edit_text(GOLDEN_BEFORE, [(0, ("spec", "syncPolicy", "automated", "prune"), True),
                                           (0, ("spec", "syncPolicy", "automated", "selfHeal"), True)])
    old, new = GOLDEN_BEFORE.splitlines(), out.splitlines()
    assert [ln for ln in new if ln not in old] == ["      prune: true    # aligned comment",
                                                   "      selfHeal: true"]
    assert [ln for ln in old if ln not in new] == ["      prune: false   # aligned comment"]
    assert new.index("      selfHeal: true") < new.index("  # a comment before the next block")


def test_round_trip_edit_never_changes_a_keep_chomped_block_scalar():
    text = "a:\n  b: |+\n    kept\n\n  c: 1\n"
    out = yamlio.edit_text(text, [(0, ("a", "d"), 2)])
    data = yamlio.load_text(out).documents[0].data
    assert data["a"]["b"] == "kept\n\n" and data["a"]["d"] == 2


MIXED = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: demo
  finalizers:
  - resources-finalizer.argocd.argoproj.io
spec:
  sources:
    - repoURL: https://example.com/a.git   # first
      path: apps/x
  syncPolicy:
    automated:
      prune: true
      selfHeal: false
    syncOptions:
    - CreateNamespace=true
"""


def _changed_lines(old: str, new: str) -> list[str]:
    import difflib

    return [line for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_an_edit_leaves_a_file_of_mixed_indentation_as_it_was_around_the_edit():
    """ruamel writes one sequence style per document; every other line must come back as written."""
    out = yamlio.edit_text(MIXED, [(0, ("spec", "syncPolicy", "automated", "selfHeal"), True)])
    assert _changed_lines(MIXED, out) == ["-      selfHeal: false", "+      selfHeal: true"]
    out = yamlio.edit_text(MIXED, [(0, ("metadata", "annotations", "argocd.argoproj.io/sync-wave"), yamlio.QStr("5"))])
    assert _changed_lines(MIXED, out) == ["+  annotations:", '+    argocd.argoproj.io/sync-wave: "5"']
    out = yamlio.edit_text("---\n" + MIXED + "---\n" + MIXED, [(1, ("spec", "syncPolicy", "automated", "prune"),
                                                                 yamlio.DELETE)])
    assert _changed_lines("---\n" + MIXED + "---\n" + MIXED, out) == ["-      prune: true"]


def test_unquoted_substitution_in_a_flow_collection_is_a_syntax_error():
    """``[vault.${CLUSTER_DOMAIN}:8200]``: '{' is a flow indicator, so the plain value ends there
    in every YAML parser (libyaml, PyYAML, go-yaml v2 and v3, which kubectl, kustomize and ArgoCD
    use). The loader keeps rejecting it (no loader change: it is not a false positive); a ':'
    inside a plain value of a flow collection parses, and the quoted value is a string."""
    [problem] = yamlio.load_text("hosts: [vault.${CLUSTER_DOMAIN}:8200]\n").problems
    assert problem.fatal and (problem.line, problem.column) == (1, 16)
    assert yamlio.plain(yamlio.load_text("hosts: [vault.internal:8200]\n").documents[0].data) == \
        {"hosts": ["vault.internal:8200"]}
    assert yamlio.plain(yamlio.load_text('hosts: ["vault.${CLUSTER_DOMAIN}:8200"]\n').documents[0].data) == \
        {"hosts": ["vault.${CLUSTER_DOMAIN}:8200"]}


def test_yaml_syntax_explains_an_unquoted_substitution(tmp_path):
    from gitops_kit.api import lint

    (tmp_path / "argo").mkdir()
    (tmp_path / "a.yaml").write_text("x: 1\nhosts: [vault.${CLUSTER_DOMAIN}:8200]\n")
    (tmp_path / "b.yaml").write_text("x: [1\n")
    found = {f.path: f for f in lint([str(tmp_path)], select=["yaml-syntax"]).findings}
    assert found["a.yaml"].line == 2 and str(found["a.yaml"].severity) == "error"
    assert "quote the whole value" in found["a.yaml"].message
    assert "quote the whole value" not in found["b.yaml"].message
