"""YAML as a search space means it: `yaml.safe_load` plus the checks it leaves out.

`safe_load` silently keeps the last of two equal keys, reads `on:` as the key True,
`.nan` and `.inf` as numbers, a date as a date, and expands `*alias` references
without bound ("billion laughs"). `load_text` composes the document with PyYAML's
safe loader, checks every node once (aliases are not walked again, so the check
itself stays linear in the file), and only then constructs the Python values. Every
refusal names the file, the line, the key path and the value, and what is allowed.
"""

from __future__ import annotations

import math
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ablate.errors import ConfigError
from ablate.spaces.limits import (
    MAX_DEPTH,
    MAX_DESCRIPTION,
    MAX_INT_DIGITS,
    MAX_NODES,
    MAX_STRING,
    check_text,
    shown,
)

_TAG = "tag:yaml.org,2002:"
_SCALARS = {f"{_TAG}{t}" for t in ("str", "int", "float", "bool", "null")}
_KEY_TAGS = {f"{_TAG}str", f"{_TAG}value"}  # `=` is PyYAML's value key, read as a string
_MERGE = f"{_TAG}merge"  # `<<: *base` merges a mapping in
_WHAT = {"bool": "a boolean", "null": "null", "int": "an integer", "float": "a number",
         "timestamp": "a date", "binary": "binary data", "set": "a set", "omap": "an ordered map",
         "pairs": "a list of pairs"}  # fmt: skip


_FLOATS = SafeConstructor()  # reads a float scalar as `safe_load` would


class _Refused(Exception):
    def __init__(self, node_or_mark: Any, message: str) -> None:
        mark = getattr(node_or_mark, "start_mark", node_or_mark)
        super().__init__(message)
        self.line = mark.line + 1 if mark is not None else None


class _DepthLimitedLoader(yaml.SafeLoader):
    """The safe loader, refusing nesting past MAX_DEPTH while it composes (PyYAML's
    composer recurses once per level, so 100,000 `[` would end in a RecursionError)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH + 1:  # +1: the document's top mapping is level 0
                raise _Refused(
                    self.peek_event().start_mark, f"nested deeper than {MAX_DEPTH} levels"
                )
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self._depth -= 1


def _what(tag: str) -> str:
    short = tag.removeprefix(_TAG)
    return _WHAT.get(short, f"the YAML tag {tag!r}")


class _Checker:
    """One walk over the composed nodes: each node checked once, its expanded size
    and depth memoised, so an alias bomb is measured without being expanded."""

    def __init__(self) -> None:
        self.size: dict[int, int] = {}
        self.depth: dict[int, int] = {}
        self.busy: set[int] = set()

    def walk(self, node: Node, key: str) -> tuple[int, int]:
        """(values under `node` with aliases expanded, levels below it)."""
        nid = id(node)
        if nid in self.size:
            return self.size[nid], self.depth[nid]
        if nid in self.busy:
            raise _Refused(node, f"{key} refers to itself through an alias (*name)")
        self.busy.add(nid)
        size, depth = 1, 0
        if isinstance(node, ScalarNode):
            self.scalar(node, key)
        elif isinstance(node, SequenceNode):
            if node.tag != f"{_TAG}seq":
                raise _Refused(node, f"{key} is {_what(node.tag)}; give a plain list")
            for i, child in enumerate(node.value):
                n, d = self.walk(child, f"{key}[{i}]")
                size, depth = size + n, max(depth, d + 1)
        elif isinstance(node, MappingNode):
            if node.tag != f"{_TAG}map":
                raise _Refused(node, f"{key} is {_what(node.tag)}; give a plain mapping")
            seen: dict[str, int] = {}
            for k, v in node.value:
                if k.tag == _MERGE:  # its keys may be overridden here, on purpose
                    n, d = self.walk(v, key)
                else:
                    name = self.key(k, key, seen)
                    n, d = self.walk(v, f"{key}.{name}" if key else name)
                size, depth = size + n, max(depth, d + 1)
        self.busy.discard(nid)
        if depth > MAX_DEPTH:
            raise _Refused(
                node, f"{key or 'the document'} is nested deeper than {MAX_DEPTH} levels"
            )
        if size > MAX_NODES:
            raise _Refused(
                node,
                f"{key or 'the document'} expands to {size:,} values through aliases (*name); "
                f"the limit is {MAX_NODES:,}",
            )
        self.size[nid], self.depth[nid] = size, depth
        return size, depth

    def key(self, k: Node, block: str, seen: dict[str, int]) -> str:
        if not isinstance(k, ScalarNode) or k.tag not in _KEY_TAGS:
            text = k.value if isinstance(k, ScalarNode) else "a list or mapping"
            raise _Refused(
                k,
                f"the key {text!r} in {block or 'the top level'} is read by YAML as "
                f"{_what(k.tag)}; keys are names (quote it, e.g. 'on': if you mean the word)",
            )
        name = str(k.value)
        _text(k, f"a key in {block or 'the top level'}", name, MAX_STRING)  # shown escaped
        line = k.start_mark.line + 1
        if name in seen:
            raise _Refused(
                k,
                f"the key {shown(name)} appears twice in {block or 'the top level'}, at lines "
                f"{seen[name]} and {line}; YAML would keep only the last: give it once",
            )
        seen[name] = line
        return name

    def scalar(self, node: ScalarNode, key: str) -> None:
        tag, text = node.tag, str(node.value)
        if tag not in _SCALARS:
            raise _Refused(
                node,
                f"{key} = {shown(text)} is read by YAML as {_what(tag)}; quote it if you mean text",
            )
        if tag == f"{_TAG}str":
            _text(node, key, text, MAX_DESCRIPTION if key == "description" else MAX_STRING)
        elif tag == f"{_TAG}int":
            digits = sum(c.isdigit() for c in text)
            if digits > MAX_INT_DIGITS:
                raise _Refused(
                    node,
                    f"{key} is an integer of {digits:,} digits; no setting takes one of more "
                    f"than {MAX_INT_DIGITS}",
                )
        elif tag == f"{_TAG}float":
            value = _FLOATS.construct_yaml_float(node)
            if not math.isfinite(value):
                raise _Refused(
                    node, f"{key} = {text} is not allowed: give a finite number (no .nan or .inf)"
                )


def _text(node: Node, key: str, text: str, limit: int) -> None:
    """`check_text`'s rules, refused with the node's line."""
    try:
        check_text("", key, text, limit=limit)
    except ConfigError as e:
        raise _Refused(node, str(e).removeprefix(": ").removesuffix(".")) from None


def load_text(text: str, where: str) -> Any:
    """The YAML document in `text`, checked; None for an empty one. Errors name `where`."""
    loader = _DepthLimitedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _Checker().walk(node, "")
        return loader.construct_document(node)
    except _Refused as e:
        line = f", line {e.line}" if e.line else ""
        raise ConfigError(f"{where}{line}: {e}.") from None
    except RecursionError:  # a limit above should have caught it first
        raise ConfigError(
            f"{where}: nested too deeply (the limit is {MAX_DEPTH} levels)."
        ) from None
    finally:
        loader.dispose()
