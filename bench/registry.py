"""One registry per kind of plug-in: methods, datasets (and, in `bench.generators`, fake
generators).

A plug-in registers itself with a decorator that names it explicitly (`methods/dn2.py`):

    @register_method("dn2", groups=("knn", "frozen-features"))
    class DN2(FrozenFeatureDetector): ...

Built-in plug-ins are the modules of `bench.methods` and `bench.datasets` (dropping a file
there is enough); third-party ones are found through the entry-point groups
`nearbench.methods` and `nearbench.datasets`. Lookups take exact names, globs (`pyod-*`) and
groups (`all`, `near`, ...), as comma lists; a leading `-` removes what a token selects:

>>> from bench.registry import methods
>>> methods.select("dn2,pyod-k*")
['dn2', 'pyod-knn']
>>> "pyod-lof" in methods.select("pyod,-pyod-lof")
False

A family of plug-ins can be derived from every registered one: `datasets.derive("-fsde",
make)` makes `cifar100-fsde` resolve for a registered `cifar100` (built by `make(entry)`, None
where it does not apply). Derived names resolve by name and by glob; groups, `all` included,
list only registered plug-ins, and a registered name wins over a derived one.

A renamed plug-in keeps its old name as an alias that still works and warns:

>>> import warnings
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     methods.select("fitymi-wgan")
['fitymi-wgan-gp']
>>> str(caught[0].message)
"method 'fitymi-wgan' is now called 'fitymi-wgan-gp'; the old name will be removed"
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import importlib.metadata
import pkgutil
import re
import sys
import warnings
from dataclasses import dataclass, replace
from typing import Callable, Iterable

from bench.errors import UserError

ALL = "all"


@dataclass(frozen=True)
class Entry:
    """A registered plug-in: its public name, the class that builds it, and how it is listed;
    `distribution` is (name, version) of the installed distribution whose entry point
    brought it, None for built-ins and plug-ins registered otherwise."""

    name: str
    factory: type
    groups: tuple[str, ...]
    description: str
    distribution: tuple[str, str] | None = None


def natural_key(name: str) -> list:
    """Sort key that puts `resnet9` before `resnet10`."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def first_line(doc: str | None) -> str:
    return (doc or "").strip().splitlines()[0].strip() if (doc or "").strip() else ""


class Registry:
    """Name → plug-in class, filled by a decorator, loaded lazily on first lookup."""

    def __init__(
        self,
        kind: str,
        package: str,
        entry_point_group: str,
        validate: Callable[[str, type], None] = lambda name, cls: None,
    ):
        self.kind = kind
        self.package = package
        self.entry_point_group = entry_point_group
        self._validate = validate
        self._entries: dict[str, Entry] = {}
        self._aliases: dict[str, str] = {}  # old name → current name
        self._derivations: dict[str, Callable[[Entry], type | None]] = {}  # suffix → class maker
        self._derived: dict[str, Entry | None] = {}  # derived name → entry (None: does not apply)
        self._loaded = False

    # -- registration -------------------------------------------------------------------
    def register(
        self, name: str, *, groups: Iterable[str] = (), description: str | None = None, aliases: Iterable[str] = ()
    ):
        """Class decorator: register `cls` under `name` in `groups`; `aliases` are former names
        that keep working with a deprecation warning."""
        for checked in (name, *aliases):
            if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", checked):
                raise ValueError(f"{self.kind} name {checked!r}: use lower-case letters, digits, '.', '_', '-'")

        def decorator(cls: type) -> type:
            if name in self._entries or name in self._aliases:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            for alias in aliases:
                if alias in self._entries or alias in self._aliases:
                    raise ValueError(f"{self.kind} alias {alias!r} is already a name")
            self._validate(name, cls)
            group_names = tuple(dict.fromkeys(groups))
            if ALL in group_names:
                raise ValueError(f"{self.kind} {name!r}: {ALL!r} is implicit, do not list it")
            if not cls.__dict__.get("name"):
                cls.name = name  # so a plug-in can name itself in messages (not inherited)
            self._entries[name] = Entry(
                name=name,
                factory=cls,
                groups=group_names,
                description=description or first_line(cls.__doc__),
            )
            self._aliases.update({alias: name for alias in aliases})
            self._derived = {}  # a derived name may now be registered, or derive from this one
            return cls

        return decorator

    def derive(self, suffix: str, make: Callable[[Entry], type | None]) -> None:
        """Let `NAME<suffix>` resolve for every registered NAME: `make(entry)` returns the
        derived class (registered lazily under that name, its `name` set), or None where the
        derivation does not apply to that plug-in."""
        if suffix in self._derivations:
            raise ValueError(f"{self.kind} suffix {suffix!r} is derived twice")
        self._derivations[suffix] = make

    def derived(self, name: str) -> Entry | None:
        """The derived plug-in called `name`, or None when no derivation makes it."""
        if name in self._derived:
            return self._derived[name]
        entry = None
        for suffix, make in self._derivations.items():
            base = name[: -len(suffix)]
            if name.endswith(suffix) and base in self._entries:
                cls = make(self._entries[base])
                if cls is not None:
                    self._validate(name, cls)
                    cls.name = name
                    entry = Entry(name=name, factory=cls, groups=(), description=first_line(cls.__doc__))
                break
        self._derived[name] = entry
        return entry

    def derived_names(self) -> list[str]:
        """Every name a derivation makes from the registered plug-ins (registered ones excluded)."""
        self.load()
        names = [f"{entry.name}{suffix}" for suffix in self._derivations for entry in self.entries()]
        return [name for name in names if name not in self._entries and self.derived(name) is not None]

    def derivations(self) -> dict[str, list[str]]:
        """Suffix → the registered plug-ins it applies to."""
        self.load()
        return {suffix: [e.name for e in self.entries() if f"{e.name}{suffix}" in self._entries
                         or self.derived(f"{e.name}{suffix}") is not None]
                for suffix in self._derivations}

    # -- loading ------------------------------------------------------------------------
    def load(self) -> None:
        """Import the built-in modules and the entry-point plug-ins, once."""
        if self._loaded:
            return
        self._loaded = True
        package = importlib.import_module(self.package)
        for module in pkgutil.iter_modules(package.__path__):
            if not module.name.startswith("_"):
                importlib.import_module(f"{self.package}.{module.name}")
        for entry_point in importlib.metadata.entry_points(group=self.entry_point_group):
            self._load_plugin(entry_point)

    def _load_plugin(self, entry_point) -> None:
        try:
            before = set(self._entries)
            loaded = entry_point.load()
            if isinstance(loaded, type) and not any(e.factory is loaded for e in self._entries.values()):
                self.register(entry_point.name, groups=getattr(loaded, "groups", ()))(loaded)
            dist = getattr(entry_point, "dist", None)
            if dist is not None:  # what the entry point's module registered comes from its distribution
                for name in set(self._entries) - before:
                    self._entries[name] = replace(self._entries[name], distribution=(dist.name, dist.version))
        except Exception as error:  # a broken plug-in must not take the harness down
            warnings.warn(
                f"skipping {self.kind} plug-in {entry_point.name!r} ({entry_point.value}): "
                f"{type(error).__name__}: {error}",
                stacklevel=2,
            )

    def unregister(self, name: str) -> None:
        """Remove a registered plug-in and its aliases (tests, interactive sessions)."""
        self._entries.pop(name, None)
        self._derived = {}
        self._aliases = {old: new for old, new in self._aliases.items() if new != name}

    def reload(self) -> None:
        """Forget entry-point plug-ins and look again (tests; a freshly installed plug-in).
        Their modules are imported afresh, so those that register on import do so again."""
        builtin = f"{self.package}."
        forgotten = {e.factory.__module__ for e in self._entries.values() if not e.factory.__module__.startswith(builtin)}
        for module in forgotten:
            sys.modules.pop(module, None)
        self._entries = {
            name: entry
            for name, entry in self._entries.items()
            if entry.factory.__module__.startswith(builtin)
        }
        self._derived = {}
        self._aliases = {old: new for old, new in self._aliases.items() if new in self._entries}
        self._loaded = False
        self.load()

    # -- lookup -------------------------------------------------------------------------
    def names(self) -> list[str]:
        self.load()
        return sorted(self._entries, key=natural_key)

    def entries(self) -> list[Entry]:
        return [self._entries[name] for name in self.names()]

    def __contains__(self, name: str) -> bool:
        self.load()
        return name in self._entries or name in self._aliases or self.derived(name) is not None

    def aliases(self) -> dict[str, str]:
        """Former names → current names."""
        self.load()
        return dict(self._aliases)

    def resolve(self, name: str) -> str:
        """The current name for `name`: itself, or what an alias now points to (with a
        FutureWarning, which the CLI shows as one line)."""
        self.load()
        if name in self._aliases:
            current = self._aliases[name]
            warnings.warn(f"{self.kind} {name!r} is now called {current!r}; the old name will be removed",
                          FutureWarning, stacklevel=3)
            return current
        return name

    def get(self, name: str) -> Entry:
        name = self.resolve(name)
        if name not in self._entries:
            derived = self.derived(name)
            if derived is None:
                raise UserError(self._unknown(name))
            return derived
        return self._entries[name]

    def groups(self) -> dict[str, list[str]]:
        """Group name → member names, `all` first."""
        members: dict[str, list[str]] = {ALL: self.names()}
        for entry in self.entries():
            for group in entry.groups:
                members.setdefault(group, []).append(entry.name)
        return members

    def _tokens(self, spec: str) -> list[str]:
        """The comma list's tokens; one that starts by removing starts from `all` (`-dn2`)."""
        tokens = [token.strip() for token in spec.split(",") if token.strip()]
        if not tokens:
            raise UserError(f"no {self.kind} named: give names, globs or groups (bench list {self.kind}s)")
        return [ALL, *tokens] if tokens[0].startswith("-") else tokens

    def select(self, spec: str) -> list[str]:
        """Expand a comma list of names, globs and groups, in order, without repeats.

        A token starting with `-` removes what it selects: `all,-csi`, or `-csi` alone.
        """
        groups = self.groups()
        chosen: dict[str, None] = {}
        tokens = self._tokens(spec)
        for token in tokens:
            remove = token.startswith("-")
            names = self._expand(token[1:] if remove else token, groups)
            for name in names:
                if remove:
                    chosen.pop(name, None)
                else:
                    chosen[name] = None
        if not chosen:
            raise UserError(f"{spec!r} selects no {self.kind}")
        return list(chosen)

    def match(self, spec: str, names: Iterable[str]) -> list[str]:
        """The `names` (those of records, say, which may include plug-ins no longer installed)
        that a spec selects, with `select`'s rules: groups, globs, exact names (aliases
        resolved), a leading `-` removes. An exact name that is neither among `names` nor
        registered is a UserError with the closest names; a spec may select none of `names`.

        >>> methods.match("all,-pyod-*", ["dn2", "pyod-knn", "gone-plugin"])
        ['dn2']
        >>> methods.match("gone-*", ["dn2", "gone-plugin"])
        ['gone-plugin']
        """
        names = list(dict.fromkeys(names))
        groups = self.groups()
        chosen: dict[str, None] = {}
        tokens = self._tokens(spec)
        for token in tokens:
            remove = token.startswith("-")
            token = token[1:] if remove else token
            if token in groups:
                selected = [name for name in names if name in groups[token]]
            elif any(char in token for char in "*?["):
                selected = [name for name in names if fnmatch.fnmatchcase(name, token)]
            elif token in names:
                selected = [token]
            else:
                selected = [self.get(token).name]  # an alias, or a UserError naming the closest
            for name in selected:
                if remove:
                    chosen.pop(name, None)
                else:
                    chosen[name] = None
        return [name for name in chosen if name in names]

    def _expand(self, token: str, groups: dict[str, list[str]]) -> list[str]:
        if token in groups:
            return groups[token]
        if any(char in token for char in "*?["):
            names = [name for name in self.names() + self.derived_names() if fnmatch.fnmatchcase(name, token)]
            if not names:
                raise UserError(f"no {self.kind} matches {token!r} (bench list {self.kind}s shows them)")
            return names
        return [self.get(token).name]

    def _unknown(self, name: str) -> str:
        candidates = self.names() + self.derived_names() + [g for g in self.groups() if g != ALL]
        close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.5)
        if close:
            hint = f"did you mean {' or '.join(repr(c) for c in close)}?"
        else:
            nearest = difflib.get_close_matches(name, candidates, n=3, cutoff=0.0)
            hint = f"the closest are {', '.join(nearest)};" if nearest else ""
        return f"unknown {self.kind} {name!r}: {hint} `bench list {self.kind}s` shows all {len(self.names())}"


def _validate_method(name: str, cls: type) -> None:
    from bench.detector import validate_method_class

    validate_method_class(name, cls)


def _validate_dataset(name: str, cls: type) -> None:
    from bench.benchmark import validate_benchmark_class

    validate_benchmark_class(name, cls)


methods = Registry("method", "bench.methods", "nearbench.methods", _validate_method)
datasets = Registry("dataset", "bench.datasets", "nearbench.datasets", _validate_dataset)

register_method = methods.register
register_dataset = datasets.register
