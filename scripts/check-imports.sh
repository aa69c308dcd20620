#!/usr/bin/env bash
# Fails when modules of a crate import each other in a circle.
#
#   scripts/check-imports.sh            # every crate in the workspace
#   scripts/check-imports.sh wallet-core issuer
#   scripts/check-imports.sh --graph wallet-core   # also print the edges
#
# Modules are compared with their siblings: the top-level modules of a crate
# (`scheme`, `request`, ...) with each other, and the submodules of one
# module (`request/parse.rs`, `request/candidates.rs`, ...) with each other.
# A file under module A that names anything under sibling B (`use
# crate::b::...`, `super::b::...`, or an inline `crate::b::x` path) is an
# edge A -> B; a cycle among siblings is an error. A name imported through
# a re-export (`super::Thing` where the parent has `pub use b::Thing`) counts
# as naming the module that defines it. A child naming its parent's own
# items is how Rust modules are built and is not an edge.
#
# Test code is left out: files named `tests.rs` or under a `tests/` module,
# and a trailing `#[cfg(test)] mod tests { ... }` block, since tests may
# reach across modules without making the library's layers circular.
# Requires python3 (standard library only).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec python3 - "$root" "$@" <<'PY'
import os
import re
import sys

root = sys.argv[1]
args = sys.argv[2:]
show_graph = "--graph" in args
crates = [a for a in args if a != "--graph"]
if not crates:
    crates = sorted(
        d for d in os.listdir(root)
        if os.path.isfile(os.path.join(root, d, "Cargo.toml"))
        and os.path.isdir(os.path.join(root, d, "src"))
    )


def strip_code(text):
    """Source without comments, string/char literals and trailing tests."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif c == "r" and re.match(r'r#*"', text[i:i + 8]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'r(#*)"', text[i:])
            end = '"' + m.group(1)
            j = text.find(end, i + len(m.group(0)))
            i = n if j < 0 else j + len(end)
            out.append('""')
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            out.append('""')
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:i + 4]) or (c == "'" and re.match(r"'\\u\{[0-9a-fA-F]+\}'", text[i:i + 12])):
            m = re.match(r"'(\\u\{[0-9a-fA-F]+\}|\\.|[^\\'])'", text[i:])
            i += len(m.group(0))
            out.append("' '")
        else:
            out.append(c)
            i += 1
    code = "".join(out)
    m = re.search(r"#\[cfg\(test\)\]\s*(pub(\([^)]*\))?\s+)?mod\s+\w+\s*\{", code)
    if m:
        code = code[:m.start()]
    return code


def expand_use(tree):
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e']."""
    tree = re.sub(r"\s+", "", tree)

    def split_top(s):
        parts, depth, cur = [], 0, ""
        for ch in s:
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            if ch == "," and depth == 0:
                parts.append(cur)
                cur = ""
            else:
                cur += ch
        if cur:
            parts.append(cur)
        return parts

    def go(s):
        i = s.find("{")
        if i < 0:
            return [re.sub(r"\bas\w+$", "", s)]
        prefix, inner = s[:i], s[i + 1:s.rfind("}")]
        out = []
        for part in split_top(inner):
            for p in go(part):
                out.append(prefix + p)
        return out

    return [p.rstrip(":") for p in go(tree)]


def module_files(src):
    """Module path (tuple) -> file, for every module file of a crate."""
    mods = {}
    for dirpath, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, f), src)
            parts = rel[:-3].split(os.sep)
            if parts[0] == "bin" or parts[-1] == "main" and len(parts) == 1:
                continue
            if parts == ["lib"]:
                key = ()
            elif parts[-1] == "mod":
                key = tuple(parts[:-1])
            else:
                key = tuple(parts)
            if any(k == "tests" or k.endswith("_tests") for k in key):
                continue
            mods[key] = os.path.join(src, rel)
    return mods


def resolve(path, here, mods, depth=0):
    """Module named by `path` (a::b::c) used in module `here`: the deepest
    module file on the path, followed through `pub use` re-exports so that
    `super::Thing` counts as the sibling that defines `Thing`."""
    segs = [s for s in path.split("::") if s]
    if not segs:
        return None
    cur = list(here)
    if segs[0] == "crate":
        cur, segs = [], segs[1:]
    elif segs[0] in ("self", "super"):
        while segs and segs[0] in ("self", "super"):
            if segs[0] == "super":
                if not cur:
                    return None
                cur.pop()
            segs = segs[1:]
    elif tuple(here + (segs[0],)) in mods:
        # A child module named without `self::` (2018 paths).
        pass
    else:
        return None  # an external crate or a local item
    full = list(cur)
    best = tuple(cur)
    rest = list(segs)
    for s in segs:
        full.append(s)
        if tuple(full) in mods:
            best = tuple(full)
            rest = rest[1:]
        else:
            break
    if rest and rest[0] not in ("*", "self") and depth < 8:
        origin = reexport_origin(best, rest[0], mods, depth)
        if origin is not None:
            return origin
    return best


_code_cache = {}


def code_of(module, mods):
    # Keyed by file: crates share module names (`store`, `session`).
    path = mods[module]
    if path not in _code_cache:
        _code_cache[path] = strip_code(open(path, encoding="utf-8").read())
    return _code_cache[path]


def defines(module, name, mods):
    return re.search(
        r"\b(struct|enum|union|fn|trait|type|const|static|mod)\s+" + re.escape(name) + r"\b"
        r"|macro_rules!\s*" + re.escape(name) + r"\b",
        code_of(module, mods),
    ) is not None


def reexport_origin(module, name, mods, depth):
    """The descendant of `module` that `pub use` in `module` takes `name`
    from, or None when `module` defines it itself or takes it from outside."""
    if defines(module, name, mods):
        return None
    for m in re.finditer(r"\bpub(?:\([^)]*\))?\s+use\s+([^;]+);", code_of(module, mods)):
        for p in expand_use(m.group(1)):
            last = p.split("::")[-1]
            if last == name:
                target = resolve(p, module, mods, depth + 1)
            elif last == "*":
                target = resolve(p[:-3] or "self", module, mods, depth + 1)
                if target is None or not (defines(target, name, mods)
                                          or reexport_origin(target, name, mods, depth + 1)):
                    continue
                deeper = reexport_origin(target, name, mods, depth + 1)
                target = deeper or target
            else:
                continue
            if target is not None and len(target) > len(module) and target[:len(module)] == module:
                return target
    return None


def circles(nodes, edges):
    """Strongly connected groups of more than one module (Tarjan)."""
    index, low, on, stack, out = {}, {}, set(), [], []

    def visit(n):
        index[n] = low[n] = len(index)
        stack.append(n)
        on.add(n)
        for m in sorted(edges.get(n, ())):
            if m not in index:
                visit(m)
                low[n] = min(low[n], low[m])
            elif m in on:
                low[n] = min(low[n], index[m])
        if low[n] == index[n]:
            group = []
            while True:
                m = stack.pop()
                on.discard(m)
                group.append(m)
                if m == n:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for n in sorted(nodes):
        if n not in index:
            visit(n)
    return out


failed = False
for crate in crates:
    src = os.path.join(root, crate, "src")
    if not os.path.isdir(src):
        print(f"{crate}: no src directory", file=sys.stderr)
        failed = True
        continue
    mods = module_files(src)
    # Sibling edges: parent module -> {child -> {child it names}}.
    groups = {}
    for here, file in mods.items():
        code = code_of(here, mods)
        paths = []
        for m in re.finditer(r"\buse\s+([^;]+);", code):
            paths += expand_use(m.group(1))
        paths += re.findall(r"\b(?:crate|super|self)(?:::\w+)+", code)
        for p in paths:
            target = resolve(p, here, mods)
            if target is None or target == here:
                continue
            # The nearest common ancestor decides which siblings are linked.
            k = 0
            while k < min(len(here), len(target)) and here[k] == target[k]:
                k += 1
            if k == len(here) or k == len(target):
                continue  # ancestor or descendant: not between siblings
            parent = here[:k]
            groups.setdefault(parent, {}).setdefault(here[k], set()).add(target[k])
    for parent, edges in sorted(groups.items()):
        nodes = set(edges) | {m for t in edges.values() for m in t}
        where = "::".join((crate.replace("-", "_"),) + parent)
        if show_graph:
            for a in sorted(edges):
                print(f"{where}: {a} -> {', '.join(sorted(edges[a]))}")
        for group in circles(nodes, edges):
            failed = True
            links = "; ".join(
                f"{a} -> {', '.join(sorted(edges.get(a, set()) & set(group)))}" for a in group
            )
            print(f"import circle in {where} among {', '.join(group)} ({links})")

if failed:
    sys.exit(1)
print(f"no import circles in {', '.join(crates)}")
PY
