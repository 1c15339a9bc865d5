"""Family 6: how a recurrent module's constructor gets its arguments: positionally, by keyword, through
``**kwargs``, or from a configuration source (module constants, argparse options of each kind, a dataclass, a
dict, and ``.json`` / ``.cfg`` / ``.yaml`` files read at start-up) holding the literal values the code wrote.
"""

from __future__ import annotations

import ast
import json

import libcst as cst
import libcst.matchers as m

from .base import Transform, per_file
from .cst_tools import Analysed, edit, insert_module_statements

# torch's signatures, first positional parameters only (nn.RNN's fourth is nonlinearity, the others' bias)
SIGNATURES = {
    "LSTM": ("input_size", "hidden_size", "num_layers"), "GRU": ("input_size", "hidden_size", "num_layers"),
    "RNN": ("input_size", "hidden_size", "num_layers"), "LSTMCell": ("input_size", "hidden_size"),
    "GRUCell": ("input_size", "hidden_size"), "RNNCell": ("input_size", "hidden_size"),
}
_LITERAL = m.Integer() | m.Float() | m.SimpleString() | m.Name("True") | m.Name("False") \
    | m.UnaryOperation(expression=m.Integer() | m.Float())


def _constructors(analysed: Analysed):
    """``nn.LSTM(...)``-like calls: (call, torch class name, its arguments by parameter name or None)."""
    for call in m.findall(analysed.module, m.Call()):
        func = call.func
        cls = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else None
        if cls not in SIGNATURES or any(a.star for a in call.args):
            continue
        positional = [a for a in call.args if a.keyword is None]
        if len(positional) > len(SIGNATURES[cls]):
            continue
        yield call, cls


def _named(call: cst.Call, cls: str) -> list[tuple[str, cst.Arg]]:
    names = SIGNATURES[cls]
    return [(a.keyword.value if a.keyword else names[i], a) for i, a in enumerate(call.args)]


def _keyword(arg: cst.Arg, name: str) -> cst.Arg:
    return arg.with_changes(keyword=cst.Name(name), equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")))


def _keywords(analysed: Analysed, program, filename: str):
    for call, cls in _constructors(analysed):
        named = _named(call, cls)
        if any(a.keyword is None for _, a in named):
            args = [_keyword(a, n) for n, a in named]
            yield f"{cls} arguments by keyword", (lambda call=call, args=args: _with_args(analysed, filename, call, args))
        order = SIGNATURES[cls]
        prefix = [a for n, a in named if n in order]
        if any(a.keyword for a in prefix) and [n for n, _ in named[: len(prefix)]] == list(order[: len(prefix)]):
            args = [a.with_changes(keyword=None, equal=cst.MaybeSentinel.DEFAULT) if i < len(prefix) else a
                    for i, (_, a) in enumerate(named)]
            yield f"{cls} arguments positionally", (lambda call=call, args=args: _with_args(analysed, filename, call, args))


def _with_args(analysed, filename, call, args):
    return {filename: edit(analysed.module, {call: lambda updated: updated.with_changes(args=args)}).code}


def _kwargs(analysed: Analysed, program, filename: str):
    name = program.fresh("rnn_kwargs")
    for call, cls in _constructors(analysed):
        line = analysed.statement(call)
        if line is None or analysed.block_of(line) is None or not call.args:
            continue
        parts = ", ".join(f"{n}={analysed.module.code_for_node(a.value)}" for n, a in _named(call, cls))
        yield f"{cls} through **{name}", (lambda call=call, line=line, parts=parts: _apply_kwargs(analysed, filename, call, line, parts, name))


def _apply_kwargs(analysed, filename, call, line, parts, name):
    first = cst.parse_statement(f"{name} = dict({parts})\n")
    args = [cst.Arg(cst.Name(name), star="**")]
    edits = {call: lambda updated: updated.with_changes(args=args), line: lambda updated: cst.FlattenSentinel([first, updated])}
    return {filename: edit(analysed.module, edits).code}


def _value(node: cst.BaseExpression):
    return ast.literal_eval(cst.Module([]).code_for_node(node))


def _sources(source: str):
    def find(analysed: Analysed, program, filename: str):
        for call, cls in _constructors(analysed):
            literals = [(n, a) for n, a in _named(call, cls) if m.matches(a.value, _LITERAL)]
            if literals:
                yield f"{cls}'s {', '.join(n for n, _ in literals)} from {source}", (
                    lambda call=call, literals=literals: _from_source(analysed, program, filename, call, literals, source))
    return find


def _from_source(analysed, program, filename, call, literals, source):
    values = {n: _value(a.value) for n, a in literals}
    prelude, reads, files = SOURCES[source](program, values)
    replaced = {a: reads[n] for n, a in literals}
    args = [_keyword(a, n).with_changes(value=cst.parse_expression(replaced[a])) if a in replaced else _keyword(a, n)
            for n, a in _named(call, call.func.attr.value if isinstance(call.func, cst.Attribute) else call.func.value)]
    module = edit(analysed.module, {call: lambda updated: updated.with_changes(args=args)})
    folder, _, _ = filename.rpartition("/")
    changes = {f"{folder}/{k}" if folder else k: v for k, v in files.items()}
    changes[filename] = insert_module_statements(module, prelude).code
    return changes


def _constants(program, values):
    names = {n: program.fresh(n.upper()) for n in values}
    return "".join(f"{names[n]} = {v!r}\n" for n, v in values.items()), names, {}


def _argparse(program, values):
    parser, args = program.fresh("parser"), program.fresh("args", "opts")
    lines = ["import argparse", f"{parser} = argparse.ArgumentParser()"]
    for name, value in values.items():
        flag = "--" + name.replace("_", "-")
        if value is True:
            lines.append(f'{parser}.add_argument("--no-{name.replace("_", "-")}", dest="{name}", action="store_false")')
        elif value is False:
            lines.append(f'{parser}.add_argument("{flag}", action="store_true")')
        elif isinstance(value, int) and 1 <= value <= 4:
            lines.append(f'{parser}.add_argument("{flag}", type=int, choices=[1, 2, 3, 4], default={value})')
        elif isinstance(value, str):
            lines.append(f'{parser}.add_argument("{flag}", choices=["tanh", "relu", {value!r}], default={value!r})')
        else:
            lines.append(f'{parser}.add_argument("{flag}", type={type(value).__name__}, default={value!r})')
    lines.append(f"{args} = {parser}.parse_args()")
    return "\n".join(lines) + "\n", {n: f"{args}.{n}" for n in values}, {}


def _dataclass(program, values):
    cls, obj = program.fresh("ModelConfig"), program.fresh("config", "model_config")
    fields = "".join(f"    {n}: {type(v).__name__} = {v!r}\n" for n, v in values.items())
    code = f"from dataclasses import dataclass\n\n\n@dataclass\nclass {cls}:\n{fields}\n\n{obj} = {cls}()\n"
    return code, {n: f"{obj}.{n}" for n in values}, {}


def _dict(program, values):
    name = program.fresh("CONFIG", "MODEL_CONFIG")
    return f"{name} = {values!r}\n", {n: f"{name}[{n!r}]" for n in values}, {}


def _json(program, values):
    name, path = program.fresh("CONFIG", "MODEL_CONFIG"), program.fresh("model_config") + ".json"
    code = f"import json\nwith open({path!r}) as f:\n    {name} = json.load(f)\n"
    return code, {n: f"{name}[{n!r}]" for n in values}, {path: json.dumps(values, indent=2) + "\n"}


def _yaml(program, values):
    name, path = program.fresh("CONFIG", "MODEL_CONFIG"), program.fresh("model_config") + ".yaml"
    text = "".join(f"{n}: {json.dumps(v)}\n" for n, v in values.items())
    code = f"import yaml\nwith open({path!r}) as f:\n    {name} = yaml.safe_load(f)\n"
    return code, {n: f"{name}[{n!r}]" for n in values}, {path: text}


def _cfg(program, values):
    name, path = program.fresh("config", "parser"), program.fresh("model") + ".cfg"
    getter = {bool: "getboolean", int: "getint", float: "getfloat", str: "get"}
    text = "[model]\n" + "".join(f"{n} = {json.dumps(v) if not isinstance(v, str) else v}\n" for n, v in values.items())
    code = f"import configparser\n{name} = configparser.ConfigParser()\n{name}.read({path!r})\n"
    return code, {n: f'{name}.{getter[type(v)]}("model", {n!r})' for n, v in values.items()}, {path: text}


SOURCES = {"module constants": _constants, "argparse": _argparse, "a dataclass": _dataclass, "a dict": _dict,
           "a .json file": _json, "a .yaml file": _yaml, "a .cfg file": _cfg}
_NAMES = {"module constants": "constants", "argparse": "argparse", "a dataclass": "dataclass", "a dict": "dict",
          "a .json file": "json", "a .yaml file": "yaml", "a .cfg file": "cfg"}

TRANSFORMS = [
    Transform("constructor-keywords", 6, per_file("constructor-keywords", _keywords)),
    Transform("constructor-kwargs", 6, per_file("constructor-kwargs", _kwargs)),
    *[Transform(f"config-{_NAMES[key]}", 6, per_file(f"config-{_NAMES[key]}", _sources(key)), cross_module=key.endswith("file"))
      for key in SOURCES],
]
