"""The project index: names of the project's modules -> their summaries, built on demand and cached.

``ProjectIndex`` owns one project (a root folder) and the summaries read so far; ``ModuleView`` is
what one file's facts see of it: its own module name (for relative imports), the names other
modules export, and the class or function an absolute name stands for, re-exports and star
imports followed. A view records every module it read, so that a cached result can be checked
against their current contents. Nothing here imports or runs the code it reads.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import replace
from pathlib import Path

from typing import TYPE_CHECKING

from hs_lint.files import TooLarge, Unreadable, read_source
from hs_lint.gcpause import collector_paused
from hs_lint.prefilter import HELPER_LOCALS, imported_modules
from hs_lint.project import layout
from hs_lint.project.store import SummaryStore, cache_directory, digest
from hs_lint.project.summary import ClassSummary, Config, Constant, FunctionSummary, ModuleSummary, ObjectSummary

if TYPE_CHECKING:
    from hs_lint.values import Choice

# ``nn.LSTM(``, ``getattr(nn, "LSTM")(``, ``Cell = nn.GRU``, ``class Tagger(RNNBase)``: a torch recurrent class
# built, aliased or defined (not one named in a table or a string).
_RECURRENT_CALL = re.compile(r"\b(?:RNN|LSTM|GRU)(?:Cell|Base)?\b(?:[\"']\s*\))?[ \t]*(?:\(|\)\s*:|$)", re.MULTILINE)
# a ``return`` line with the indented lines before it, where a helper's expression and its locals are; the
# indentation is matched atomically (``(?=(x))\1``), or splitting it between ``[ \t]+`` and ``.*`` backtracks
# exponentially in the lines taken (0.7 s on torch's module.py, against 10 ms)
_RETURN_LINE = re.compile(r"(?:^(?=([ \t]+))\1.*\n){0,%d}^(?=([ \t]+))\2return\b.*$" % HELPER_LOCALS, re.MULTILINE)
_SKIPPED = frozenset({"__pycache__", "node_modules", "build", "dist", "site-packages", "venv", "env"})
_MAX_SCANNED = 5000  # files looked through for a class's constructions
MAX_SUMMARY_CHARS = 1_000_000  # as the engine's per-file limit: larger modules stay opaque
_MAX_DEPTH = 8  # re-export and base-class chains followed at most this far
_IMPORT_DEPTH = 3  # for the screen, imports of an imported module followed this far (package, module, base class)
# A key of a view's ``used`` that stands for a question, not a file: which of the project's modules name a word
# (a module added later that builds a class or imports a module changes the answer, and redoes the result).
_NAMING = "names:"
Member = ClassSummary | FunctionSummary | ObjectSummary | Constant  # what a name of another module can stand for


class ProjectIndex:
    def __init__(self, root: Path, store: SummaryStore | None = None) -> None:
        self.root = root.resolve()
        self.store = store
        # (path, digest) -> the summary and the other files it was made from
        self._summaries: dict[tuple[str, str], tuple[ModuleSummary | None, dict[str, str]]] = {}
        self._building: set[str] = set()
        self._all_files: list[Path] | None = None
        self._naming: dict[str, list[Path]] = {}
        self._texts: dict[Path, tuple[str, bool, tuple[str, ...], str]] = {}
        self._recurrent_modules: dict[tuple[str, str], tuple[Path | None, dict[str, str]]] = {}
        self._importing: dict[tuple[Path, int], tuple[bool, dict[str, str]]] = {}

    def _read(self, path: Path) -> tuple[str, bool, tuple[str, ...], str]:
        """What the screen needs of a module's text, read once per run: the hash of its bytes ("" when it cannot
        be read), whether it names a torch recurrent class, the modules it imports (as written), and the text of
        its ``return`` lines (where every one-expression helper's expression is)."""
        if path not in self._texts:
            try:
                data = read_source(path)
            except (Unreadable, TooLarge):
                self._texts[path] = ("", False, (), "")
                return self._texts[path]
            text = data.decode("utf-8", "replace")
            self._texts[path] = (
                content_hash(data),
                any(w in text for w in ("RNN", "LSTM", "GRU")) and _RECURRENT_CALL.search(text) is not None,
                tuple(imported_modules(text)),
                "\n".join(m.group(0) for m in _RETURN_LINE.finditer(text)),
            )
        return self._texts[path]

    def names_recurrent(self, path: Path, used: dict[str, str] | None = None) -> bool:
        """The module's text builds or defines a torch recurrent class: only then can it hold recurrent code.
        ``used`` records the file read, so that a result that relied on it is redone when it changes."""
        key, recurrent, _, _ = self._read(path)
        if used is not None:
            used[str(path)] = key
        return recurrent

    def imports_recurrent(self, path: Path, used: dict[str, str], depth: int = _IMPORT_DEPTH) -> bool:
        """A project module that the module at ``path`` imports names a torch recurrent class, or (``depth``
        imports deep) imports one: a package that re-exports a model, a model whose layers are in a base class of
        another module. ``used`` records every file read."""
        if (path, depth) not in self._importing:
            read: dict[str, str] = {}
            self._importing[(path, depth)] = (self._imports_recurrent(path, read, depth), read)
        found, read = self._importing[(path, depth)]
        used.update(read)
        return found

    def _imports_recurrent(self, path: Path, used: dict[str, str], depth: int) -> bool:
        key, _, imported, _ = self._read(path)
        used[str(path)] = key
        if depth <= 0:
            return False
        name, package = layout.module_name(self.root, path), path.name == "__init__.py"
        for spelling in imported:
            dots = len(spelling) - len(spelling.lstrip("."))
            absolute = layout.absolute_import(name, package, dots, spelling[dots:] or None) if dots else spelling
            found = self.module_file(absolute, path) if absolute else None
            if found is not None and found != path and (
                    self.names_recurrent(found, used) or self.imports_recurrent(found, used, depth - 1)):
                return True
        return False

    def view(self, path: Path) -> ModuleView:
        """``path``: resolved (as every path the index itself finds is)."""
        return ModuleView(self, path)

    def recurrent_module(self, absolute: str, importer: Path, used: dict[str, str]) -> Path | None:
        """The module file that ``absolute`` (a module, or a name in one) names from ``importer``, when its text
        may hold recurrent code (``ModuleView.holds_recurrent``); ``used`` records the files read. Asked of every
        import of every file, so kept by folder."""
        key = (absolute, os.path.dirname(importer))
        if key not in self._recurrent_modules:
            read: dict[str, str] = {}
            found = None
            for module in (absolute, absolute.rpartition(".")[0]):
                path = layout.module_file(layout.search_folders(self.root, importer), module) if module else None
                if path is not None:
                    found = path if self.names_recurrent(path, read) or self.imports_recurrent(path, read) else None
                    break
            self._recurrent_modules[key] = (found, read)
        found, read = self._recurrent_modules[key]
        used.update(read)
        return found

    def modules_naming(self, name: str) -> list[Path]:
        """The project's modules whose text contains ``name`` (at most ``_MAX_SCANNED`` files are looked at)."""
        if name not in self._naming:
            found = []
            for path in self.files():
                try:
                    if name in read_source(path).decode("utf-8", "replace"):
                        found.append(path)
                except (Unreadable, TooLarge):  # a FIFO or a device would block or never end
                    continue
            self._naming[name] = found
        return self._naming[name]

    def files(self) -> list[Path]:
        """The project's Python files (virtualenvs, caches and hidden folders aside), at most ``_MAX_SCANNED``."""
        if self._all_files is None:
            self._all_files = []
            for folder, dirs, files in os.walk(self.root):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIPPED
                                 and not os.path.exists(os.path.join(folder, d, "pyvenv.cfg")))
                self._all_files.extend(Path(folder, f) for f in sorted(files) if f.endswith(".py"))
                if len(self._all_files) >= _MAX_SCANNED:
                    break
        return self._all_files[:_MAX_SCANNED]

    def module_file(self, name: str, importer: Path) -> Path | None:
        return layout.module_file(layout.search_folders(self.root, importer), name)

    def summary(self, path: Path) -> tuple[ModuleSummary | None, dict[str, str]]:
        """The module's summary (None when it cannot be read or parsed), and what it was made from: the hash of
        each file's bytes, the module's own and those of the modules defining the classes it imports (what a
        cached result that used it is checked against)."""
        try:
            data = read_source(path)
        except (Unreadable, TooLarge):
            return None, {str(path): ""}
        name = layout.module_name(self.root, path)
        key, own = digest(name, data), {str(path): content_hash(data)}
        if (str(path), key) in self._summaries:
            found, deps = self._summaries[(str(path), key)]
            return found, {**own, **deps}
        if str(path) in self._building:  # an import cycle through base classes: this module is not known yet
            return None, own
        stored = self.store.get(key) if self.store is not None else None
        if stored is not None and self._current(stored[1]):
            found, deps = stored
        else:
            found, deps = self._build(path, name, data)
            if found is not None and self.store is not None:
                self.store.put(key, found, deps)
        self._summaries[(str(path), key)] = (found, deps)
        return found, {**own, **deps}

    def _current(self, used: dict[str, str]) -> bool:
        """Every file a stored summary was made from still has those bytes (each file hashed once a run)."""
        return all(self._read(Path(path))[0] == expected for path, expected in used.items())

    def _build(self, path: Path, name: str, data: bytes) -> tuple[ModuleSummary | None, dict[str, str]]:
        """The summary, made with the classes the module imports from the project (its base classes, the classes
        it builds) and nothing else of other modules, and the files those came from."""
        import libcst as cst  # the analysis loads only for modules that a question needs

        from hs_lint.facts import FileFacts
        from hs_lint.inline import expand
        from hs_lint.project.summarise import summarise

        try:
            source = data.decode("utf-8")
            if len(source) > MAX_SUMMARY_CHARS:
                return None, {}
            with collector_paused():
                module = cst.parse_module(source)
        except (UnicodeDecodeError, cst.ParserSyntaxError, RecursionError, ValueError):
            return None, {}
        self._building.add(str(path))
        view = ModuleView(self, path, local=True)
        try:
            with collector_paused():
                expansion = expand(module, view)
                return summarise(FileFacts(expansion.module, view, expansion.imports), name), view.used
        except RecursionError:
            return None, view.used
        finally:
            self._building.discard(str(path))


def _listing(paths: list[Path]) -> str:
    return content_hash("\n".join(map(str, paths)).encode("utf-8", "surrogateescape"))


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def unchanged(used: dict[str, str], memo: dict[str, str | None] | None = None) -> bool:
    """Every module a cached result read still has the bytes it had then, and every question it asked of the
    project (which modules name a word) has the same answer. ``memo`` keeps the hashes read for the next result
    of the same run."""
    memo = {} if memo is None else memo
    for path, expected in used.items():
        if path not in memo and path.startswith(_NAMING):
            root, _, name = path[len(_NAMING):].rpartition(os.pathsep)
            memo[path] = _listing(ProjectIndex(Path(root)).modules_naming(name))
        elif path not in memo:
            try:
                memo[path] = content_hash(read_source(path))
            except (Unreadable, TooLarge):
                memo[path] = None
        if memo[path] != expected:
            return False
    return True


class Projects:
    """The projects of the files one run checks: one index per root, found from each file's path.

    Summaries are stored in ``store_dir`` (the CLI's cache directory), or, for a front end that has no
    directory of its own (the flake8 plugin: ``stored``), in each project's (``store.cache_directory``);
    else only in memory.
    """

    def __init__(self, fallback: Path | None = None, store_dir: Path | None = None, stored: bool = False) -> None:
        self.fallback = fallback
        self.store_dir = store_dir
        self.stored = stored
        self._indexes: dict[Path, ProjectIndex] = {}
        self._roots: dict[Path, Path] = {}  # folder -> its root, for the run (every file of a folder shares it)

    def _store(self, root: Path) -> SummaryStore | None:
        if self.store_dir is not None:
            return SummaryStore(self.store_dir)
        return SummaryStore(cache_directory(root)) if self.stored else None

    def view(self, path: Path) -> ModuleView | None:
        """The view of the project ``path`` belongs to; None for a path that is not a file on disk."""
        if not path.is_file():
            return None
        path = path.resolve()
        root = self._roots.get(path.parent)
        if root is None:
            root = self._roots[path.parent] = layout.find_root(path, self.fallback)
        if root not in self._indexes:
            self._indexes[root] = ProjectIndex(root, self._store(root))
        return self._indexes[root].view(path)


class ModuleView:
    """One module's window on the project. ``local``: relative imports only (what a summary may depend on)."""

    def __init__(self, index: ProjectIndex, path: Path, local: bool = False) -> None:
        self.index = index
        self.path = path
        self.local = local
        self.name = layout.module_name(index.root, path)
        self.is_package = path.name == "__init__.py"
        self.used: dict[str, str] = {}  # path -> digest of every module this view read

    def absolute(self, level: int, module: str | None) -> str | None:
        return layout.absolute_import(self.name, self.is_package, level, module)

    def _summary(self, module: str) -> ModuleSummary | None:
        found = self._located(module)
        return found[0] if found is not None else None

    def _located(self, module: str) -> tuple[ModuleSummary, Path] | None:
        path = self.index.module_file(module, self.path)
        if path is None or path == self.path:
            return None
        found = self._summary_at(path)
        return (found, path) if found is not None else None

    def _summary_at(self, path: Path) -> ModuleSummary | None:
        """The summary of the module at ``path``, with the files it was made from recorded as read."""
        found, used = self.index.summary(path)
        self.used.update(used)
        return found

    def _spelled(self, spelling: str) -> str | None:
        """An import as written (``pkg.helpers``, ``.helpers``) -> the absolute module name."""
        dots = len(spelling) - len(spelling.lstrip("."))
        return self.absolute(dots, spelling[dots:] or None) if dots else spelling

    def in_project(self, module: str) -> bool:
        """``module`` (absolute) is a file of this project other than this one (or a name in one)."""
        if self.local:
            return False
        for name in (module, module.rpartition(".")[0]):
            path = self.index.module_file(name, self.path) if name else None
            if path is not None:
                return path != self.path
        return False

    def exports(self, module: str, depth: int = 0) -> tuple[str, ...]:
        """What ``from module import *`` binds here (through its own star imports)."""
        summary = None if self.local or depth > _MAX_DEPTH else self._summary(module)
        if summary is None:
            return ()
        names = list(summary.exports)
        for star in summary.star_imports:
            names.extend(self.exports(star, depth + 1))
        return tuple(dict.fromkeys(names))

    def resolve(self, qualified: str, depth: int = 0) -> Member | None:
        """The class, function or module-level object ``pkg.model.CharRNN`` stands for; None when it is not the
        project's."""
        found = self.locate(qualified, depth)
        return found[0] if found is not None else None

    def locate(self, qualified: str, depth: int = 0) -> tuple[Member, Path] | None:
        """``resolve``, with the file that defines it (two equal classes in two files are two classes). A summary's
        view (``local``) finds classes only: a module's summary is made with the classes it inherits from or builds
        (in an import cycle of such modules, which Python itself can rarely import, the later one is unknown)."""
        if depth > _MAX_DEPTH or qualified.startswith(("torch.", "numpy.")):
            return None
        found = self._locate(qualified, depth)
        return None if self.local and found is not None and not isinstance(found[0], ClassSummary) else found

    def _locate(self, qualified: str, depth: int) -> tuple[Member, Path] | None:
        parts = qualified.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            located = self._located(".".join(parts[:cut]))
            if located is None:
                continue
            rest = parts[cut:]
            if len(rest) != 1:
                return None
            return self._member(*located, rest[0], qualified, depth)
        return None

    def _member(self, summary: ModuleSummary, path: Path, name: str, qualified: str, depth: int):
        if name in summary.classes:
            return self._with_bases(summary.classes[name], depth), path
        if name in summary.functions:
            return summary.functions[name], path
        if name in summary.objects:
            return summary.objects[name], path
        if name in summary.constants:
            return Constant(summary.constants[name]), path
        origin = summary.imports.get(name)
        if origin is not None and origin != qualified:
            return self.locate(origin, depth + 1)
        for star in summary.star_imports:
            found = self.locate(f"{star}.{name}", depth + 1)
            if found is not None:
                return found
        return None

    def _with_bases(self, cls: ClassSummary, depth: int) -> ClassSummary:
        """The class with what it inherits from project classes: methods, attributes, recurrent-ness."""
        for base in cls.bases:
            inherited = self.resolve(base, depth + 1) if "." in base else None
            if not isinstance(inherited, ClassSummary):
                continue
            own_forward = "forward" in cls.methods
            attrs = {**inherited.attrs, **cls.attrs}
            runs_inherited = any(attrs.get(a, ("",))[0] == "module" for a in cls.called_attrs if a not in cls.attrs)
            cls = replace(
                cls,
                recurrent_kind=cls.recurrent_kind or inherited.recurrent_kind,
                # a method here runs a recurrent module its base builds: recurrent, as in one file
                is_recurrent=cls.is_recurrent or inherited.is_recurrent or runs_inherited,
                attrs=attrs,
                # a parameter of the base's __init__ is bound by this class's own __init__, if it has one
                configs={**({a: _unbound(c) for a, c in inherited.configs.items()} if "__init__" in cls.methods
                            else inherited.configs), **cls.configs},
                attr_params=cls.attr_params if "__init__" in cls.methods else {**inherited.attr_params, **cls.attr_params},
                layers={**({a: _unbound(layer) for a, layer in inherited.layers.items()} if "__init__" in cls.methods
                           else inherited.layers), **cls.layers},
                methods={**inherited.methods, **cls.methods},
                held_attrs=cls.held_attrs if own_forward else tuple(sorted({*cls.held_attrs, *inherited.held_attrs})),
                summarises_sequence=cls.summarises_sequence if own_forward else inherited.summarises_sequence,
                resets={**inherited.resets, **cls.resets},
                read_attrs=tuple(sorted({*cls.read_attrs, *inherited.read_attrs})),
                called_attrs=tuple(sorted({*cls.called_attrs, *inherited.called_attrs})),
            )
        return cls

    def holds_recurrent(self, spelling: str) -> bool:
        """For the screen: an imported module or name (``pkg.model``, ``.model.Tagger``) may be recurrent code of
        this project, judged by the text of its module (a torch recurrent class named there, or a package that
        re-exports). Conservative and cheap: nothing is parsed."""
        absolute = self._spelled(spelling)
        if not absolute or self.local:
            return False
        path = self.index.recurrent_module(absolute, self.path, self.used)
        return path is not None and path != self.path

    def accelerated(self, qualified: str) -> tuple[str, str] | None:
        """Where another module of the project builds an instance of the class ``qualified`` (of this file), moves
        it and puts something on an accelerator: (how, as written there; that file, from this one's folder)."""
        name = qualified.rsplit(".", 1)[-1]
        for path in self._naming(name) if not self.local else ():
            if path == self.path:
                continue
            summary = self._summary_at(path)
            if summary is None or summary.accelerator is None:
                continue
            there = self.index.view(path)
            for placement in summary.device.get("placements", ()):
                if placement.get("moved") is not True or str(placement.get("callee")).rsplit(".", 1)[-1] != name:
                    continue
                callee = str(placement["callee"])  # a name bound by a star import stays bare in a summary
                spellings = [callee, *(f"{star}.{callee}" for star in summary.star_imports if "." not in callee)]
                found = [there.locate(spelling) for spelling in spellings]
                self.used.update(there.used)
                if any(f is not None and f[1] == self.path and getattr(f[0], "name", None) == name for f in found):
                    return summary.accelerator, Path(os.path.relpath(path, self.path.parent)).as_posix()
        return None

    def helper_text(self, spelling: str) -> str:
        """For the screen: the ``return`` lines of the project module an import statement names (``pkg.helpers``,
        ``.helpers``): a one-expression helper's code is read where it is called. "" for any other module."""
        absolute = self._spelled(spelling)
        path = self.index.module_file(absolute, self.path) if absolute and not self.local else None
        if path is None or path == self.path:
            return ""
        key, _, _, returns = self.index._read(path)
        self.used[str(path)] = key
        return returns

    def constructions(self, qualified: str, param: str, default: str | None) -> list[Choice | None]:
        """What every construction of the class ``qualified`` in the project passes for ``param`` (its default
        where a call leaves it out). Only modules whose text names the class are read."""
        from hs_lint.values import Choice

        located = self.locate(qualified)
        target = located[0] if located is not None else None
        if self.local or not isinstance(target, ClassSummary) or "__init__" not in target.methods:
            return []
        found: list[Choice | None] = []
        for _, args in self._built(target.name, target.methods["__init__"].params[1:], lambda f: f == located):
            given = args.get(param, {}).get("choice")
            if param in args:
                found.append(Choice.from_data(given) if given is not None else None)
            else:
                found.append(Choice(frozenset({default})) if default is not None and "*" not in args else None)
        return found

    def built_elsewhere(self, cls: str, params: list[str]) -> list[tuple[str, dict[str, dict]]]:
        """The file (relative to the root) and arguments (by ``__init__`` parameter name, ``self`` aside) of every
        construction of this module's class ``cls`` in the project's other modules that the default run reaches:
        ``{"value": ..., "choice": ...}``; ``"*"`` marks a call whose unlisted arguments are unknown."""
        return [] if self.local else self._built_as(cls, self.path, params, 0)

    def _built_as(self, name: str, path: Path, params: list[str], depth: int) -> list[tuple[str, dict[str, dict]]]:
        """Constructions of the class ``name`` of ``path``, and of its subclasses that inherit its ``__init__``."""
        def named(found: tuple[Member, Path] | None, wanted: str = name, where: Path = path) -> bool:
            return found is not None and found[1] == where and getattr(found[0], "name", None) == wanted

        found = self._built(name, params, named, skip=self.path, by_default=True)
        for module in self._naming(name) if depth < _MAX_DEPTH else ():
            if module == self.path:  # this file's subclasses are read from its own facts (and its summary costs)
                continue
            summary = self._summary_at(module)
            there = self.index.view(module)
            for sub in summary.classes.values() if summary is not None else ():
                if "__init__" not in sub.methods and any(named(there.locate(b)) for b in sub.bases if "." in b):
                    found.extend(self._built_as(sub.name, module, params, depth + 1))
            self.used.update(there.used)
        return found

    def _built(self, name: str, params: list[str], is_target, skip: Path | None = None,
               by_default: bool = False) -> list[tuple[str, dict[str, dict]]]:
        """The arguments of the constructions ``is_target`` accepts (only those the default run reaches when
        ``by_default``)."""
        found = []
        for path in self._naming(name):
            if path == skip:
                continue
            summary = self._summary_at(path)
            if summary is None:
                continue
            there = self.index.view(path)  # names in that module resolve from where it is
            for cls, args, reached in summary.constructions:
                if cls.rsplit(".", 1)[-1] != name or by_default and not reached:
                    continue
                candidates = [f"{star}.{name}" for star in summary.star_imports] if cls[:2] == "*." else [cls]
                if not any(is_target(there.locate(c)) for c in candidates):
                    continue
                arguments = _by_name({k: there._read_import(v) for k, v in args.items()}, params)
                found.append((path.relative_to(self.index.root).as_posix(), arguments))
                self.used.update(there.used)
        return found

    def _naming(self, name: str) -> list[Path]:
        found = self.index.modules_naming(name)
        self.used[f"{_NAMING}{self.index.root}{os.pathsep}{name}"] = _listing(found)
        return found

    def _read_import(self, argument: dict) -> dict:
        """An argument that names another module's constant, with the constant's value (None when it is not one)."""
        reference = argument.get("value")
        if not isinstance(reference, dict):
            return argument
        found = self.resolve(str(reference.get("import")))
        return {**argument, "value": found.value if isinstance(found, Constant) else None}

    def importers(self, name: str | None = None) -> list[ModuleSummary]:
        """The other modules that import this one (or ``name`` from it): where its classes are built and used.
        Only files whose text names ``name`` (or this module) are read."""
        return [summary for _, summary in self._importers(name)]

    def _importers(self, name: str | None) -> list[tuple[Path, ModuleSummary]]:
        found = []
        for path in self._naming(name or self.path.stem):
            if path == self.path:
                continue
            summary = self._summary_at(path)
            there = self.index.view(path)
            if summary is not None and any(
                    there._points_at(q, self.path) for q in (*summary.imports.values(), *summary.star_imports)):
                self.used.update(there.used)
                found.append((path, summary))
        return found

    def calls_in(self, name: str) -> list[dict[str, tuple[str, str]]]:
        """The arguments of each call of this module's function ``name`` made by the modules that import it, as
        their summaries record them (``calls_out``: the instances they pass, by position or keyword)."""
        found = []
        for path, summary in self._importers(name):
            there = self.index.view(path)
            found += [args for callee, args in summary.calls_out
                      if callee.rsplit(".", 1)[-1] == name and there._points_at(callee, self.path)]
            self.used.update(there.used)
        return found

    def builders(self, name: str) -> tuple[list[ModuleSummary], set[str]]:
        """The modules that import this module's class ``name``, or a subclass of it that one of them defines
        (two subclass steps), and the names of those subclasses: everywhere a model of the class can be built."""
        found: dict[Path, ModuleSummary] = {}
        subclasses: set[str] = set()
        frontier: list[tuple[ModuleView, str]] = [(self, name)]
        for _ in range(3):
            following = []
            for view, cls in frontier:
                for path, summary in view._importers(cls):
                    found[path] = summary
                    for sub, info in summary.classes.items():
                        if sub not in subclasses and any(b == cls or b.endswith(f".{cls}") for b in info.bases):
                            subclasses.add(sub)
                            following.append((self.index.view(path), sub))
                self.used.update(view.used)
            frontier = following
        return list(found.values()), subclasses

    def imported(self, imports: dict[str, str]) -> list[ModuleSummary]:
        """The project modules that ``imports`` (a file's import table) name: for a name re-exported by a
        package's ``__init__``, the module that defines it too."""
        found = {}
        for qualified in imports.values():
            defined = self.locate(qualified)
            if defined is not None:
                summary = self._summary_at(defined[1])
                if summary is not None:
                    found[str(defined[1])] = summary
            for module in (qualified, qualified.rpartition(".")[0]):
                located = self._located(module) if module else None
                if located is not None:
                    found[str(located[1])] = located[0]
                    break
        return list(found.values())

    def _points_at(self, qualified: str, path: Path) -> bool:
        """``qualified`` names the module at ``path`` or something defined in it."""
        located = self._located(qualified)
        if located is not None:
            return located[1] == path
        found = self.locate(qualified)
        return found is not None and found[1] == path


def _recurrent(summary: ModuleSummary) -> bool:
    return any(c.is_recurrent or c.held_attrs for c in summary.classes.values()) or any(
        f.is_recurrent_step for f in summary.functions.values())


def _unbound(config: Config) -> Config:
    """A configuration (or a layer) whose parameters are no longer the ones a caller of ``__init__`` passes:
    unknown."""
    return {name: None if isinstance(value, dict) else value for name, value in config.items()}


def _by_name(args: dict[str, dict], params: list[str]) -> dict[str, dict]:
    """A construction's arguments keyed by parameter name; a position past the last parameter hides the rest."""
    named: dict[str, dict] = {}
    for key, value in args.items():
        if key.startswith("#"):
            position = int(key[1:])
            named[params[position] if position < len(params) else "*"] = value
        else:
            named[key] = value
    return named
