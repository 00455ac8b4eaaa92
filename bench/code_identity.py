"""The identity of the code a cell runs, so that a record outlives no change to it.

A plug-in's identity (a method's, a fake generator's) is a digest per Python module it runs:
the module that defines its class and every module of nearbench or of the plug-in's own
package that it imports, directly or through others (imports inside functions included,
`if TYPE_CHECKING:` blocks not). Each module is parsed and its syntax tree hashed with the
docstrings removed, so editing comments, docstrings or layout changes nothing, while any
change to the code does. Modules that cannot change a number are not followed: `PLUMBING`
(registration, errors, capability tags, file requirements, parameter resolution — whose
result is in the cell's config hash anyway —, progress bars, paths, the package facade).
Third-party libraries are identified by their versions in a record's provenance, not here.
A plug-in installed as a distribution also carries the distribution's name and version.

A record stores `code_identity(...)`; `differences(old, new)` says in words what changed.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import importlib.util
import os
import sys
import time
from functools import lru_cache
from typing import Any, Iterable

from bench.digest import RACY_S

PLUMBING = frozenset({
    "bench", "bench.registry", "bench.errors", "bench.tags", "bench.requirements", "bench.params",
    "bench.progress", "bench.paths",
})
# What turns every method's scores into numbers, function by function (so that adding a table
# label to bench.metrics, say, changes no record's identity).
EVALUATION = ("bench.metrics:one_class_metrics", "bench.metrics:fpr_at_tpr", "bench.runner:check_scores",
              "bench.seeding:seed_everything", "bench.bootstrap:auroc_interval", "bench.bootstrap:resampled_aurocs",
              "bench.bootstrap:draw_counts")
DIGEST_LENGTH = 16
_modules: dict[str, tuple[tuple | None, dict]] = {}  # module → (its file's signature, `_parsed`)


class _Stripped(ast.NodeTransformer):
    """Docstrings out; `if TYPE_CHECKING:` bodies kept (they are code) but not followed."""

    def _strip(self, node):
        self.generic_visit(node)
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
        return node

    visit_Module = visit_ClassDef = visit_FunctionDef = visit_AsyncFunctionDef = _strip


def _type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def _imported_names(tree: ast.AST, module: str, is_package: bool) -> list[str]:
    """Absolute names of what `module` imports: `import a.b` → a.b; `from a import b` → a.b
    (a module or an attribute of a; the caller tells which)."""
    package = module if is_package else module.rpartition(".")[0]
    names: list[str] = []

    def visit(node: ast.AST) -> None:
        if _type_checking(node):
            return
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            names.append(base)
            names.extend(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return names


def _spec(name: str):
    module = sys.modules.get(name)
    if module is not None and getattr(module, "__spec__", None) is not None:
        return module.__spec__
    try:
        return importlib.util.find_spec(name)
    except (ImportError, AttributeError, ValueError):  # an attribute, not a module
        return None


def _hash(tree: ast.AST) -> str:
    dumped = ast.dump(_Stripped().visit(tree), include_attributes=False)
    return hashlib.sha256(dumped.encode()).hexdigest()[:DIGEST_LENGTH]


def _parsed(name: str) -> dict:
    """Module `name`: its `digest`, the names it `imports`, its top-level `definitions`'
    digests; all None/empty without Python source. Parsed again only when its file changes
    (its path, inode, size or mtime; files changed in the last `RACY_S` seconds every time)."""
    spec = _spec(name)
    origin = spec.origin if spec is not None and spec.has_location else None
    try:
        stat = os.stat(origin) if origin else None
    except OSError:
        stat = None
    signature = (origin, stat.st_mtime_ns, stat.st_size, stat.st_ino) if stat else None
    remembered = _modules.get(name)
    if remembered is not None and signature is not None and remembered[0] == signature:
        return remembered[1]
    try:
        source = spec.loader.get_source(name) if spec is not None and spec.loader is not None else None
    except Exception:  # a loader without sources (compiled, or one that cannot give them)
        source = None
    if source is None:
        parsed = {"digest": None, "imports": (), "definitions": {}}
    else:
        tree = ast.parse(source)
        imports = tuple(_imported_names(tree, name, spec.submodule_search_locations is not None))
        definitions = {node.name: _hash(node) for node in ast.parse(source).body
                       if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
        parsed = {"digest": _hash(tree), "imports": imports, "definitions": definitions}
    if stat is not None and time.time() - max(stat.st_mtime_ns, stat.st_ctime_ns) / 1e9 > RACY_S:
        _modules[name] = (signature, parsed)  # a file edited just now could change again unseen
    return parsed


def definition_digests(names: Iterable[str]) -> dict[str, str | None]:
    """`module:name` → digest of that top-level function or class (docstrings stripped);
    None when it is gone."""
    digests = {}
    for name in names:
        module, _, definition = name.partition(":")
        digests[name] = _parsed(module)["definitions"].get(definition)
    return digests


def module_digests(roots: Iterable[str], packages: Iterable[str]) -> dict[str, str | None]:
    """Module name → digest, for `roots` and every module of `packages` (top-level names)
    they import, directly or not, `PLUMBING` left out. Names that are attributes, not
    modules, resolve to their module."""
    packages = tuple(packages)
    first_party = lambda name: any(name == p or name.startswith(p + ".") for p in packages)  # noqa: E731
    digests: dict[str, str | None] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in digests or name in PLUMBING or not first_party(name):
            continue
        if _spec(name) is None:
            continue  # `from package import attribute`: the package is followed on its own
        parsed = _parsed(name)
        digests[name] = parsed["digest"]
        todo.extend(parsed["imports"])
    return dict(sorted(digests.items()))


@lru_cache(maxsize=None)
def _distribution_of_package(package: str) -> tuple[str, str] | None:
    names = importlib.metadata.packages_distributions().get(package) or []
    for name in names:
        try:
            return name, importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def plugin_identity(cls: type, distribution: tuple[str, str] | None = None) -> dict[str, Any]:
    """The code of a plug-in class: its modules' digests and, for one that is not part of
    nearbench, its distribution's name and version (`distribution`, as the registry knows it
    from the entry point, else the installed distribution that provides its top-level
    package; None if none does)."""
    module = cls.__module__
    package = module.split(".")[0]
    identity: dict[str, Any] = {"modules": module_digests([module], {"bench", package})}
    if package != "bench":
        found = distribution or _distribution_of_package(package)
        identity["distribution"] = {"name": found[0], "version": found[1]} if found else None
    return identity


def code_identity(method: str, method_params: dict) -> dict[str, Any]:
    """The identity of what a cell of `method` with `method_params` runs: the method, the fake
    generators it trains on (`Detector.generators_used`, as their registry entries), and the
    evaluation (the functions of `EVALUATION`: metrics, the score check, seeding)."""
    from bench import registry

    entry = registry.methods.get(method)
    return {
        "method": plugin_identity(entry.factory, entry.distribution),
        "generators": {
            used.name: plugin_identity(used.factory, used.distribution)
            for used in sorted(entry.factory.generators_used(method_params), key=lambda e: e.name)
        },
        "evaluation": definition_digests(EVALUATION),
    }


def _module_changes(old: dict, new: dict) -> list[str]:
    names = sorted(set(old) | set(new))
    return [name for name in names if old.get(name) != new.get(name)]


def _plugin_changes(what: str, old: dict | None, new: dict | None) -> list[str]:
    old, new = old or {}, new or {}
    reasons = []
    changed = _module_changes(old.get("modules", {}), new.get("modules", {}))
    if changed:
        shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
        reasons.append(f"code of {what} changed ({shown})")
    if old.get("distribution") != new.get("distribution"):
        def named(d):
            return f"{d['name']} {d['version']}" if d else "none"

        reasons.append(f"{what} distribution {named(old.get('distribution'))} → {named(new.get('distribution'))}")
    return reasons


def differences(old: dict | None, new: dict, method: str) -> list[str]:
    """What differs between a record's code identity `old` and today's `new`, in words
    (empty when nothing does)."""
    if not old:
        return ["made before records named their code"]
    reasons = _plugin_changes(method, old.get("method"), new["method"])
    for name in sorted(set(old.get("generators", {})) | set(new["generators"])):
        reasons += _plugin_changes(f"generator {name}", old.get("generators", {}).get(name),
                                   new["generators"].get(name))
    changed = _module_changes(old.get("evaluation", {}), new["evaluation"])
    if changed:
        reasons.append(f"evaluation code changed ({', '.join(changed)})")
    return reasons
