#!/usr/bin/env python3
"""Fails when modules of one crate import each other in a cycle. A parent and its own descendants
may use each other; any other cycle is reported. Reads the `crate::` and `super::` paths of every
module, leaving out its `#[cfg(test)] mod tests`.

Usage: python3 scripts/module-cycles.py SRC_DIR...   (each a crate's src/ folder)
"""
import os
import re
import sys
from collections import defaultdict

CRATE_PATH = re.compile(r"crate::((?:[a-z_0-9]+::)*[a-z_0-9]+)")
SUPER_PATH = re.compile(r"super::((?:[a-z_0-9]+::)*[a-z_0-9]+)")
TESTS = re.compile(r"#\[cfg\(test\)\]\s*mod tests")


def module_of(src_dir, file):
    """`a/b.rs` and `a/b/mod.rs` are module ('a', 'b'); lib.rs and main.rs are the crate, ()."""
    parts = os.path.relpath(file, src_dir)[: -len(".rs")].split(os.sep)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)


def longest_module(path, modules):
    """The longest prefix of `path` that is a module (the rest names an item in it)."""
    for end in range(len(path), 0, -1):
        if path[:end] in modules:
            return path[:end]
    return None


def imports(src_dir):
    """Every (module, module it uses) pair of one crate."""
    files = [os.path.join(d, f) for d, _, fs in os.walk(src_dir) for f in fs if f.endswith(".rs")]
    modules = {module_of(src_dir, f): f for f in files}
    edges = set()
    for module, file in modules.items():
        with open(file, encoding="utf-8") as f:
            source = TESTS.split(f.read())[0]
        paths = [tuple(p.split("::")) for p in CRATE_PATH.findall(source)]
        paths += [module[:-1] + tuple(p.split("::")) for p in SUPER_PATH.findall(source)]
        for path in paths:
            used = longest_module(path, modules)
            if used is not None and used != module:
                edges.add((module, used))
    return edges


def related(a, b):
    return a[: len(b)] == b or b[: len(a)] == a


def cycles(edges):
    """Strongly connected groups of more than one module, over edges between unrelated modules."""
    graph = defaultdict(set)
    for a, b in edges:
        if not related(a, b):
            graph[a].add(b)
    order, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):  # Tarjan's algorithm
        order[v] = low[v] = len(order)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in order:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], order[w])
        if low[v] == order[v]:
            group = []
            while not group or group[-1] != v:
                group.append(stack.pop())
                on_stack.discard(group[-1])
            if len(group) > 1:
                found.append(group)

    for v in list(graph):
        if v not in order:
            visit(v)
    return found


def main(src_dirs):
    failed = False
    for src_dir in src_dirs:
        for group in cycles(imports(src_dir)):
            names = " <-> ".join("::".join(m) or "crate" for m in group)
            print(f"{src_dir}: modules import each other in a cycle: {names}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
