"""The event-built loader against PyYAML itself: same data as its SafeLoader, same positions as
its composed nodes' marks. The loader is hand-tuned for speed, so this is what keeps it honest."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml

from gitops_kit import yamlio

REFERENCE = Path(__file__).resolve().parent.parent / "examples" / "reference"

TRICKY = [
    "a: &x {b: 1, c: [1, 2]}\nd: *x\n",
    "base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  x: 5\n",
    "a: &a {q: 1, z: 0}\nb: &b {z: 9, w: 1}\nm:\n  <<: [*a, *b]\n  z: 3\n",
    "m:\n  k: 1\n  <<: {k: 2, j: 3}\n",
    "- 010\n- 0x1F\n- 1_000\n- 1:30\n- 0\n- -5\n- +5\n- 3.5\n- .inf\n- -.Inf\n- 6.02e+23\n- yes\n- No\n"
    "- off\n- ~\n- null\n- '12'\n- \"yes\"\n- 0b101\n- 0o17\n- 00\n- 1e3\n",
    "x: |\n  literal\n  two\ny: >-\n  folded\n  text\nz: 'single ''quoted'''\n",
    "!!str 1: !!int '2'\nq: !!float '3'\nb: !!bool 'true'\n",
    "a: 1\nb: 2\n---\n- x\n- [y, {z: 1}]\n...\n---\n",
    "a:\n  - b: 1\n    c: &z 2\n  - *z\n  -\n  - ''\n",
    "{a: 1, b: [1, 2, {c: d}], e: {f: g}}\n",
    "'quoted key': 1\n\"dq\": 2\nplain: 3\n? explicit\n: 4\n",
    "k: &v 5\nl: *v\nlist: [*v, *v]\n",
    "key with spaces: value with spaces\nurl: https://example.com:8443/x?y=1#z\n",
    "nested:\n  deeper:\n    deepest:\n      - - - 1\n",
]


def _docs():
    cases = [(str(p.relative_to(REFERENCE)), p.read_text(encoding="utf-8"))
             for p in sorted(REFERENCE.rglob("*.y*ml"))]
    cases += [(f"tricky[{i}]", text) for i, text in enumerate(TRICKY)]
    rng = random.Random(6)
    pieces = [line for _, text in cases for line in text.split("\n")]
    sources = [text for _, text in cases]
    for i in range(300):  # mutants: lines moved, indented, anchored and aliased
        lines = rng.choice(sources).split("\n")
        for _ in range(rng.randint(1, 4)):
            j = rng.randrange(len(lines) + 1)
            op = rng.random()
            if op < 0.35:
                lines.insert(j, rng.choice(pieces))
            elif op < 0.55 and lines:
                lines.pop(min(j, len(lines) - 1))
            elif op < 0.75 and lines:
                k = min(j, len(lines) - 1)
                lines[k] = "  " + lines[k]
            else:
                lines.insert(j, rng.choice(["x: &m1 {k: v}", "y: *m1", "- &m2 item", "- *m2", "<<: *m1"]))
        cases.append((f"mutant[{i}]", "\n".join(lines)))
    return cases


def _pyyaml(text: str):
    try:
        return list(yaml.load_all(text, Loader=yaml.CSafeLoader)), list(yaml.compose_all(text, Loader=yaml.CSafeLoader))
    except yaml.YAMLError:
        return None, None


def _check_marks(node: yaml.Node, data, where: str, seen: set[int]) -> None:
    # PyYAML's graph reuses the anchored node for an alias, with the anchor's marks; the loader
    # gives an alias the position of the alias itself, which is where a finding should point.
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        assert isinstance(data, yamlio.YMap), where
        assert data.pos == (node.start_mark.line + 1, node.start_mark.column + 1), where
        keys = {}
        for knode, vnode in node.value:
            if not isinstance(knode, yaml.ScalarNode):
                continue
            keys[knode.value] = (knode, vnode)  # the last of duplicate keys wins, as in the data
        for text, (knode, vnode) in keys.items():
            match = [k for k in data if str(k) == text or (isinstance(k, bool) and text.lower() in ("yes", "no", "on", "off", "true", "false"))]
            if len(match) != 1:
                continue
            key = match[0]
            assert data.key_pos(key) == (knode.start_mark.line + 1, knode.start_mark.column + 1), (where, text)
            if id(vnode) not in seen:
                assert data.value_pos(key) == (vnode.start_mark.line + 1, vnode.start_mark.column + 1), (where, text)
            _check_marks(vnode, data[key], f"{where}.{text}", seen)
    elif isinstance(node, yaml.SequenceNode):
        assert isinstance(data, yamlio.YSeq), where
        assert data.pos == (node.start_mark.line + 1, node.start_mark.column + 1), where
        for i, item in enumerate(node.value):
            if id(item) not in seen:
                assert data.item_pos(i) == (item.start_mark.line + 1, item.start_mark.column + 1), (where, i)
            _check_marks(item, data[i], f"{where}[{i}]", seen)


@pytest.mark.parametrize("name,text", _docs(), ids=lambda v: v if isinstance(v, str) and len(v) < 60 else None)
def test_loader_agrees_with_pyyaml(name: str, text: str) -> None:
    expected, nodes = _pyyaml(text)
    loaded = yamlio.load_text(text)
    if expected is None:  # PyYAML refuses it: so must we, with a fatal problem and a line
        assert any(p.fatal for p in loaded.problems), name
        return
    assert not any(p.fatal for p in loaded.problems), name
    assert [yamlio.plain(d.data) for d in loaded.documents] == expected, name
    if "<<" in text:  # merged keys carry the positions of their source: compared by the data only
        return
    for node, doc in zip(nodes, loaded.documents):
        if node is not None:
            _check_marks(node, doc.data, name, set())
