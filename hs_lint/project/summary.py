"""Module summaries: what other files need to know about a module, as plain data.

A summary holds no syntax nodes and no object ids, so it can be stored as JSON and read back by
another process (the flake8 plugin in an editor, a worker of ``hs-lint check``). It is made from
the module's own facts (``hs_lint.project.summarise``), the same facts its own findings come from.
Names are absolute module paths (``pkg.model.CharRNN``); imports are recorded as they are written,
resolved by the project index when someone asks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

SUMMARY_FORMAT = "16"


@dataclass(frozen=True)
class Signature:
    """What a function accepts, and which parameters its body never reads (made by ``hs_lint.signature``)."""

    positional: tuple[str, ...]  # in order, ``self`` included for a method
    keywords: tuple[str, ...] = ()  # keyword-only
    varargs: str | None = None
    varkw: str | None = None
    # parameters (``*args``/``**kw`` too) whose incoming value the body never uses (``h is None`` only tests it)
    unread: tuple[str, ...] = ()

    def receiver(self, position: int | None, keyword: str | None, skip: int = 0) -> str | None:
        """The parameter an argument binds to: the ``position``-th positional one after the first ``skip``
        (``self``), or the one named ``keyword``; the star parameter that collects it; None: the call raises
        TypeError."""
        if keyword is not None:
            named = keyword in self.keywords or keyword in self.positional[skip:]
            return keyword if named else self.varkw
        index = skip + (position or 0)
        return self.positional[index] if index < len(self.positional) else self.varargs


@dataclass(frozen=True)
class FunctionSummary:
    """A function or method, as its callers see it."""

    name: str
    params: tuple[str, ...]
    detaches: bool = False  # its body detaches something: a state passed through it is cut
    calls_backward: bool = False
    is_recurrent_step: bool = False  # runs a recurrent call and returns the new state
    state_kind: str | None = None  # the torch module kind of that call
    state_params: tuple[str, ...] = ()  # parameters it hands to a torch recurrent module as the state
    returns_pair: bool = False  # an initialiser whose every return is a 2-tuple: an LSTM's ``(h0, c0)``
    returns_state_tuple: bool = False  # ``return out, state`` where the state is an LSTM's (h, c) tuple
    returns: tuple[str, str] | None = None  # what it returns when all returns agree: ("loader", "shuffled")
    pair_when: tuple[str, str] | None = None  # returns ``(h0, c0)`` only when ``self.<attr> == <value>``
    # a one-expression helper: the expression, what its other names stand for, its parameters' defaults as code
    # (``hs_lint.inline.Template``)
    template: tuple[str, dict[str, str], dict[str, str]] | None = None
    defaults: dict[str, object] = field(default_factory=dict)  # a parameter -> its default, when a constant
    # (parameter, position, loader): a loop calls the parameter with a DataLoader's batch at that position, of a
    # loader built there ("") or held by the parameter named (``hs_lint.batches``)
    batch_params: tuple[tuple[str, int, str], ...] = ()
    signature: Signature | None = None  # a ``forward``'s: where a caller's arguments land, what it never reads
    state_position: int | None = None  # a ``forward``'s: where its returns put its recurrent layer's state
    # the batch iterator it builds and returns: (position in its returned tuple, -1 for the whole return; the
    # iterator's qualified class; {"batch_size"/"drop_last": code in its parameters, a literal, or "?"})
    loader: tuple[int, str, dict[str, str]] | None = None
    state_batch: str | None = None  # the parameter sizing the batch axis of the state it returns (``init_hidden``)


# A recurrent module's configuration as data: {"kind": "LSTM", "hidden_size": 64, "num_layers": {"param":
# "layers", "default": 2}, ...}. A value is a constant, None (unknown), or a parameter of the function that
# builds the module (``__init__``), with its default when it has a constant one: the importer binds it.
Config = dict[str, object]


@dataclass(frozen=True)
class ObjectSummary:
    """A module-level name bound to something a rule follows (``lstm = nn.LSTM(...)``, ``model = Net()``)."""

    kind: str  # a binding's kind: "module" | "instance" | "optimizer" | "loader" | "device" | "class" (an alias)
    detail: str  # the recurrent kind, the absolute class name, where a device is ("cuda-if-available"), ...
    config: Config | None = None  # for a recurrent module


@dataclass(frozen=True)
class Constant:
    """A module-level name assigned once, to a value known in the default run (``HIDDEN = 256``, or an option's
    default read through ``args``)."""

    value: object  # an int, float, bool or string


@dataclass(frozen=True)
class ClassSummary:
    name: str
    bases: tuple[str, ...]  # absolute names where the module imports them, else as written
    recurrent_kind: str | None = None  # a subclass of a torch recurrent module
    is_recurrent: bool = False  # a torch recurrent module, or its forward runs one
    attrs: dict[str, tuple[str, str]] = field(default_factory=dict)  # self.lstm -> ("module", "LSTM")
    methods: dict[str, FunctionSummary] = field(default_factory=dict)
    held_attrs: tuple[str, ...] = ()  # the state forward keeps on self (``self.hidden``)
    summarises_sequence: bool = False  # forward reads its recurrent output only at the last step
    resets: dict[str, tuple[str, ...]] = field(default_factory=dict)  # attr -> methods giving it a fresh value
    read_attrs: tuple[str, ...] = ()  # attributes its methods read from self
    # the attributes its methods call (``self.gru(x, h)``): with a base class's modules, what makes it recurrent
    called_attrs: tuple[str, ...] = ()
    attr_params: dict[str, str] = field(default_factory=dict)  # attr -> the __init__ parameter it is set to
    configs: dict[str, Config] = field(default_factory=dict)  # attr -> the recurrent module's configuration
    # attr -> a layer that keeps its input's leading axes: {"kind": "torch.nn.Embedding", "width": a Config value}
    layers: dict[str, dict[str, object]] = field(default_factory=dict)


@dataclass(frozen=True)
class ModuleSummary:
    name: str
    exports: tuple[str, ...] = ()  # what ``from m import *`` binds
    imports: dict[str, str] = field(default_factory=dict)  # local name -> absolute name (re-exports)
    star_imports: tuple[str, ...] = ()  # modules it star-imports, absolute
    classes: dict[str, ClassSummary] = field(default_factory=dict)
    functions: dict[str, FunctionSummary] = field(default_factory=dict)
    objects: dict[str, ObjectSummary] = field(default_factory=dict)
    constants: dict[str, object] = field(default_factory=dict)  # name -> its ``Constant`` value
    # Constructions of classes: (absolute class name, {parameter or "#position": {"choice": Choice data, "value":
    # a constant}}, whether the default run reaches it).
    constructions: tuple[tuple[str, dict[str, dict], bool], ...] = ()
    device: dict[str, list] = field(default_factory=dict)  # hs_lint.device_facts.DeviceFacts.as_dict()
    torch_era: str | None = None  # "old" / "new": the torch its idioms are written for (hs_lint.torch_era)
    accelerator: str | None = None  # how it puts something on an accelerator (``model.cuda()``), as written
    # How it drives the models it imports, for the modules that define them: a loop runs backward() (outside
    # no_grad); the attributes its loops assign on objects other than self (``model.hidden = None``); the
    # methods its loops call (``model.reset_state()``).
    trains: bool = False
    loop_sets: tuple[str, ...] = ()
    loop_calls: tuple[str, ...] = ()
    # a loop hands a call's result back to the same call (``out, h = model(x, h)``); the attribute names it reads
    carries: bool = False
    reads: tuple[str, ...] = ()
    # (absolute class name, position): a loop calls an instance of the class with a DataLoader's batch there
    batch_inputs: tuple[tuple[str, int], ...] = ()
    # (absolute class name, position, batch_first, what laid it out): a loop calls an instance of the class with a
    # batch there whose layout is known: a field of a torchtext batch ("Field"), padded by ``pad_sequence``
    laid_inputs: tuple[tuple[str, int, bool, str], ...] = ()
    # calls of imported functions given a model instance: (callee, {"#position" or keyword: ("instance", class) or
    # ("loader", "")}) (``hs_lint.batches``)
    calls_out: tuple[tuple[str, dict[str, tuple[str, str]]], ...] = ()

    def as_json(self) -> dict[str, object]:
        return {"format": SUMMARY_FORMAT, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> ModuleSummary:
        """The inverse of ``as_json``; raises KeyError/TypeError/ValueError on anything else."""
        if data.get("format") != SUMMARY_FORMAT:
            raise ValueError("summary format")
        return cls(
            name=str(data["name"]),
            exports=tuple(data["exports"]),
            imports=dict(data["imports"]),
            star_imports=tuple(data["star_imports"]),
            classes={name: _class(c) for name, c in dict(data["classes"]).items()},
            functions={name: _function(f) for name, f in dict(data["functions"]).items()},
            objects={name: ObjectSummary(**o) for name, o in dict(data["objects"]).items()},
            constants={name: _scalar(v) for name, v in dict(data["constants"]).items()},
            constructions=tuple((str(c[0]), dict(c[1]), bool(c[2])) for c in data["constructions"]),
            device=dict(data["device"]),
            torch_era=_era(data["torch_era"]),
            accelerator=_text(data["accelerator"]),
            trains=bool(data["trains"]),
            loop_sets=tuple(str(a) for a in data["loop_sets"]),
            loop_calls=tuple(str(m) for m in data["loop_calls"]),
            carries=bool(data["carries"]),
            reads=tuple(str(a) for a in data["reads"]),
            batch_inputs=tuple((str(c), int(p)) for c, p in data["batch_inputs"]),
            laid_inputs=tuple((str(c), int(p), bool(f), str(m)) for c, p, f, m in data["laid_inputs"]),
            calls_out=tuple((str(c), {str(k): (str(v[0]), str(v[1])) for k, v in dict(args).items()})
                            for c, args in data["calls_out"]),
        )


def _era(value: object) -> str | None:
    if value not in (None, "old", "new"):
        raise ValueError("torch era")
    return value  # type: ignore[return-value]


def _text(value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError("text")
    return value


def _scalar(value: object) -> object:
    if not isinstance(value, (int, float, str)):  # bool is an int
        raise TypeError("constant")
    return value


def _function(data: dict) -> FunctionSummary:
    returns = data["returns"]
    pair_when = data["pair_when"]
    template = data["template"]
    signature, loader = data["signature"], data["loader"]
    return FunctionSummary(**{**data, "params": tuple(data["params"]), "state_params": tuple(data["state_params"]),
                              "returns": tuple(returns) if returns is not None else None,
                              "pair_when": tuple(pair_when) if pair_when is not None else None,
                              "template": (str(template[0]), dict(template[1]), dict(template[2]))
                              if template is not None else None,
                              "defaults": {name: _scalar(v) for name, v in dict(data["defaults"]).items()},
                              "batch_params": tuple((str(p), int(i), str(held)) for p, i, held in data["batch_params"]),
                              "signature": _signature(signature) if signature is not None else None,
                              "loader": (int(loader[0]), str(loader[1]), {str(k): str(v) for k, v in
                                                                          dict(loader[2]).items()})
                              if loader is not None else None,
                              "state_batch": _text(data["state_batch"])})


def _signature(data: dict) -> Signature:
    return Signature(positional=tuple(map(str, data["positional"])), keywords=tuple(map(str, data["keywords"])),
                     varargs=_text(data["varargs"]), varkw=_text(data["varkw"]), unread=tuple(map(str, data["unread"])))


def _class(data: dict) -> ClassSummary:
    return ClassSummary(
        name=data["name"],
        bases=tuple(data["bases"]),
        recurrent_kind=data["recurrent_kind"],
        is_recurrent=data["is_recurrent"],
        attrs={k: tuple(v) for k, v in data["attrs"].items()},
        methods={k: _function(v) for k, v in data["methods"].items()},
        held_attrs=tuple(data["held_attrs"]),
        summarises_sequence=data["summarises_sequence"],
        resets={k: tuple(v) for k, v in data["resets"].items()},
        read_attrs=tuple(data["read_attrs"]),
        called_attrs=tuple(data["called_attrs"]),
        attr_params={k: str(v) for k, v in data["attr_params"].items()},
        configs=dict(data["configs"]),
        layers={k: dict(v) for k, v in data["layers"].items()},
    )
