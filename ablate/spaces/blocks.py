"""What grid and Optuna spaces share: the `Space` value, reading YAML, dotted keys,
config sections with presets, command-line overrides, and error messages that name
the file, the key, the value and what is allowed.

`ablate.spaces.grid` (grid spaces, expansion) and `ablate.spaces.tuning` both build on
this module; it imports neither.
"""

from __future__ import annotations

import difflib
import json
import math
import reprlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from ablate.errors import ConfigError
from ablate.spaces.config import DataConfig, ExplainConfig, ModelConfig, TrainConfig
from ablate.spaces.limits import (
    MAX_FILE_BYTES,
    MAX_RUNS,
    bad_character,
    check_cell,
    check_experiment,
    check_plain,
    check_seed,
    check_seed_count,
    check_text,
    shown,
)
from ablate.spaces.strict_yaml import load_text
from lightning_modules.config import is_external
from lightning_modules.presets import ALIASES, PRESETS, find_preset

SECTIONS: dict[str, type[BaseModel]] = {
    "model": ModelConfig,
    "data": DataConfig,
    "train": TrainConfig,
    "explain": ExplainConfig,
}
GRID_KEYS = ("experiment", "kind", "description", "base", "grid", "seeds", "margins")
# a pydantic error of this type says what is wrong with a whole block (low above high),
# so `pydantic_error` prints "KEY: REASON" without a value
REASON = "reason"


@dataclass(frozen=True)
class SeedRule:
    """`seeds: {min: 2, max: 12, until: settled}`: seed blocks 0, 1, ... up to `max`,
    looked at after each block from `min` on; the sweep stops when every main effect of
    the headline response is settled (`ablate.stats.settle`), or at `max`."""

    min: int  # seeds per point before the first look
    max: int  # seeds per point at most
    until: str = "settled"

    def as_dict(self) -> dict[str, Any]:
        return {"min": self.min, "max": self.max, "until": self.until}


@dataclass(frozen=True)
class Space:
    """A validated search space; `base` and `grid` are plain data, resolved per point."""

    path: str
    experiment: str
    kind: str
    base: dict[str, Any]
    grid: dict[str, list[Any]]
    seeds: tuple[int, ...]
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # kind-specific blocks (optuna)
    # `seeds: {min, max, until: settled}`; `seeds` then holds 0 .. max - 1
    until: SeedRule | None = None
    # response key -> equivalence margin in display units (points for accuracy)
    margins: dict[str, float] = field(default_factory=dict)

    def design(self) -> str:
        """The design after command-line overrides, as JSON for the parent run: what
        `ablate report` expects to find (a factor pinned by --set has one value)."""
        design: dict[str, Any] = {"kind": self.kind, "grid": self.grid, "seeds": list(self.seeds)}
        if self.until is not None:
            design["until"] = self.until.as_dict()
        if self.margins:
            design["margins"] = self.margins
        return json.dumps(design, default=str)


# ---------------------------------------------------------------------- errors


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxstring = 2, 4, 4, 60


def fmt_value(value: Any) -> str:
    """A value for a message, at most 80 characters: bounded even for a YAML alias bomb."""
    if isinstance(value, (list, tuple, dict)):
        text = _SHORT.repr(value)
    else:
        text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def did_you_mean(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


def unknown_key(path: str, where: str, key: str, allowed: list[str]) -> ConfigError:
    return ConfigError(
        f"{path}: unknown key '{where}{key}'. Allowed here: {', '.join(allowed)}."
        + did_you_mean(key, allowed)
    )


def pydantic_error(
    path: str,
    prefix: str,
    err: ValidationError,
    section: type[BaseModel] | Mapping[str, type[BaseModel]],
) -> ConfigError:
    """Turn pydantic's first error into one paragraph naming file, key, value, allowed.

    `section` is the model validated, or the members of a discriminated union by tag
    (their errors start with the tag, which is not part of the key). An unknown key is
    reported before the others: a typo explains the "required" key it leaves missing.
    """
    errors = err.errors()
    e = next((x for x in errors if x["type"] == "extra_forbidden"), errors[0])
    loc = list(e["loc"])
    if not isinstance(section, type):
        section = section[str(loc.pop(0))] if loc and str(loc[0]) in section else BaseModel
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    key = f"{prefix}{where}" if where else prefix.rstrip(".")
    if e["type"] == "extra_forbidden":
        for name in loc[:-1]:  # the block the key is in: a nested model's own fields
            inner = section.model_fields[name].annotation if name in section.model_fields else None
            section = inner if isinstance(inner, type) and issubclass(inner, BaseModel) else section
        allowed = sorted(f.alias or name for name, f in section.model_fields.items())
        block = key.rsplit(".", 1)[0] if "." in key else "this block"
        return ConfigError(
            f"{path}: unknown key {key!r} (value {fmt_value(e.get('input'))}). "
            f"Allowed keys in {block}: {', '.join(allowed)}." + did_you_mean(str(loc[-1]), allowed)
        )
    if e["type"] == "missing":
        return ConfigError(f"{path}: {key} is missing: give it a value.")
    if e["type"] == REASON:  # a whole block is wrong, e.g. low above high: no single value
        return ConfigError(f"{path}: {key + ': ' if key else ''}{e['msg']}.")
    return ConfigError(f"{path}: {key} = {fmt_value(e.get('input'))} is not allowed: {e['msg']}.")


def one_of(options: tuple[str, ...], say: str | None = None) -> Callable[[Any], str]:
    """A pydantic PlainValidator for a string field: one of `options`, and a message
    that lists them (pydantic's own for a Literal quotes and joins them with 'or')."""

    def check(value: Any) -> str:
        if not isinstance(value, str) or value not in options:
            raise PydanticCustomError("one_of", say or f"one of {', '.join(options)}")
        return value

    return check


# --------------------------------------------------------------------- loading


def read_yaml(path: Path) -> dict[str, Any]:
    """The search-space file as a mapping, read by `strict_yaml.load_text` after its
    name and size are checked (a `/dev/zero` stops at the limit, not at the memory)."""
    problem = bad_character(str(path))
    if problem:
        raise ConfigError(
            f"{shown(str(path))}: the file name is not allowed: {problem}; rename the file "
            "(its name becomes the experiment name, tags and titles)."
        )
    try:
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such search-space file.") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read it ({e.strerror}).") from None
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError(
            f"{path}: the file is over {MAX_FILE_BYTES:,} bytes, the limit for a search space "
            "(the shipped ones are about 2 kB): is it the right file?"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {e.object[e.start]:#04x} at offset {e.start}); "
            "save the search space as UTF-8."
        ) from None
    try:
        doc = load_text(text, str(path))
    except yaml.YAMLError as e:
        where = ""
        mark = getattr(e, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{path}: not valid YAML{where}: {problem}.") from None
    if doc is None:
        raise ConfigError(f"{path}: the file is empty; start from search_spaces/smoke.yaml.")
    if not isinstance(doc, dict):
        raise ConfigError(
            f"{path}: the top level must be a mapping with keys {', '.join(GRID_KEYS)}; "
            f"got {type(doc).__name__}."
        )
    return doc


def check_dotted(path: str, where: str, key: str) -> tuple[str, str]:
    """(section, name) of a key SECTION.FIELD, or ("model", "args.NAME") for a keyword
    argument of an imported network (`put` sets either)."""
    parts = key.split(".")
    if len(parts) == 3 and parts[:2] == ["model", "args"] and parts[2].isidentifier():
        return "model", f"args.{parts[2]}"
    if len(parts) != 2 or parts[0] not in SECTIONS:
        raise ConfigError(
            f"{path}: '{where}{key}' is not a dotted key of the form SECTION.FIELD with SECTION one of "
            f"{', '.join(SECTIONS)} (e.g. model.stride)." + did_you_mean(parts[0], list(SECTIONS))
        )
    section, name = parts
    fields = sorted(SECTIONS[section].model_fields)
    if name not in fields:
        raise ConfigError(
            f"{path}: unknown key '{where}{key}'. Fields of {section}: {', '.join(fields)}."
            + did_you_mean(name, fields)
        )
    return section, name


SEED_RULE_KEYS = ("min", "max", "until")
SEED_RULE_UNTIL = ("settled",)
# an interval needs 2 seeds per cell; 12 at most unless the space says otherwise
SEED_RULE_DEFAULTS = {"min": 2, "max": 12}
SEED_RULE_EXAMPLE = "seeds: {min: 2, max: 12, until: settled}"


def parse_seed_plan(path: str, raw: Any) -> tuple[tuple[int, ...], SeedRule | None]:
    """`seeds:` as the seeds to run and, for `{min, max, until: settled}`, the rule that
    stops early (its seeds are 0 .. max - 1, run one block at a time)."""
    if isinstance(raw, dict):
        rule = parse_seed_rule(path, raw)
        return tuple(range(rule.max)), rule
    return parse_seeds(path, raw), None


def parse_seed_rule(path: str, raw: Mapping[str, Any]) -> SeedRule:
    """`{min: 2, max: 12, until: settled}`: min defaults to 2, max to 12; until is required."""
    for key in raw:
        if key not in SEED_RULE_KEYS:
            raise ConfigError(
                f"{path}: unknown key 'seeds.{key}' (value {fmt_value(raw[key])}). Allowed keys "
                f"in seeds: {', '.join(SEED_RULE_KEYS)}, e.g. {SEED_RULE_EXAMPLE}."
                + did_you_mean(str(key), list(SEED_RULE_KEYS))
            )
    until = raw.get("until")
    if until is None:
        raise ConfigError(
            f"{path}: seeds = {fmt_value(dict(raw))} is not allowed: a mapping needs "
            f"until: settled ({SEED_RULE_EXAMPLE}); for a fixed number of seeds give a count."
        )
    if until not in SEED_RULE_UNTIL:
        raise ConfigError(
            f"{path}: seeds.until = {fmt_value(until)} is not allowed: one of "
            f"{', '.join(SEED_RULE_UNTIL)}."
        )
    got: dict[str, int] = {}
    for key in ("min", "max"):
        value = raw.get(key, SEED_RULE_DEFAULTS[key])
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(
                f"{path}: seeds.{key} = {fmt_value(value)} is not allowed: give an integer "
                f"(seeds per point), e.g. {SEED_RULE_EXAMPLE}."
            )
        got[key] = value
    if got["min"] < 2:
        raise ConfigError(
            f"{path}: seeds.min = {got['min']} is not allowed: at least 2 (an effect's "
            "interval needs 2 seeds per configuration)."
        )
    if got["max"] < got["min"]:
        raise ConfigError(
            f"{path}: seeds.max = {got['max']} is not allowed: at least seeds.min ({got['min']})."
        )
    check_seed_count(path, got["max"])
    return SeedRule(min=got["min"], max=got["max"], until=str(until))


def parse_seeds(path: str, raw: Any) -> tuple[int, ...]:
    if raw is None:
        return (0,)
    if isinstance(raw, bool):
        raise ConfigError(
            f"{path}: seeds = {fmt_value(raw)} is not allowed: give a count >= 1 or a list of integers."
        )
    if isinstance(raw, int):
        if raw < 1:
            raise ConfigError(f"{path}: seeds = {raw} is not allowed: a count must be >= 1.")
        check_seed_count(path, raw)
        return tuple(range(raw))
    if (
        isinstance(raw, list)
        and raw
        and all(isinstance(s, int) and not isinstance(s, bool) for s in raw)
    ):
        check_seed_count(path, len(raw))
        for i, seed in enumerate(raw):
            check_seed(path, f"seeds[{i}]", seed)
        if len(set(raw)) != len(raw):
            raise ConfigError(
                f"{path}: seeds = {fmt_value(raw)} repeats a seed; each must appear once."
            )
        return tuple(raw)
    raise ConfigError(
        f"{path}: seeds = {fmt_value(raw)} is not allowed: give a count >= 1, a non-empty list "
        f"of integers, or {SEED_RULE_EXAMPLE}."
    )


# the responses a margin may name (ablate.report's runs table); xai.METHOD.NAME besides
MARGIN_RESPONSES = ("test_acc", "best_val_acc", "train_seconds", "params", "flops_per_image")
MARGIN_XAI = ("deletion_vs_random", "insertion_vs_random", "sanity_spearman")


def margin_responses() -> list[str]:
    """Every response name `margins:` accepts."""
    from explain.methods import NAMES  # a plain registry: no torch

    return [*MARGIN_RESPONSES, *(f"xai.{m}.{n}" for m in NAMES for n in MARGIN_XAI)]


def parse_margins(path: str, raw: Any, block: str = "margins") -> dict[str, float]:
    """`margins: {test_acc: 0.5}`: response -> the practical margin of equivalence, in the
    report's display units (points for accuracy, s, thousand parameters, MFLOP)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path}: {block} = {fmt_value(raw)} is not allowed: map response names to "
            "margins, e.g. margins: {test_acc: 0.5} (points of accuracy)."
        )
    known = margin_responses()
    out: dict[str, float] = {}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(
                f"{path}: unknown response '{block}.{key}' (value {fmt_value(value)}). Allowed: "
                f"{', '.join(MARGIN_RESPONSES)}, or xai.METHOD.{{{','.join(MARGIN_XAI)}}}."
                + did_you_mean(str(key), known)
            )
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not math.isfinite(value)
            or value <= 0
        ):
            raise ConfigError(
                f"{path}: {block}.{key} = {fmt_value(value)} is not allowed: give a positive "
                "number in the report's units (points for accuracy, e.g. 0.5)."
            )
        out[str(key)] = float(value)
    return out


def experiment_name(path: Path, doc: Mapping[str, Any]) -> str:
    """The `experiment:` key, by default the file's stem; a non-empty string."""
    return check_experiment(str(path), doc.get("experiment", path.stem))


def parse_grid(path: str, raw: Any, block: str) -> dict[str, list[Any]]:
    """A block mapping dotted keys to non-empty lists of values (`grid:`, `scientific:`)."""
    raw = raw or {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path}: {block} must map dotted keys to lists, e.g. model.stride: [1, 2, 3]."
        )
    grid: dict[str, list[Any]] = {}
    for key, values in raw.items():
        check_dotted(path, f"{block}.", str(key))
        if not isinstance(values, list) or not values:
            raise ConfigError(
                f"{path}: {block}.{key} = {fmt_value(values)} is not allowed: give a non-empty list of values."
            )
        if len(values) > MAX_RUNS:
            raise ConfigError(
                f"{path}: {block}.{key} has {len(values):,} values; the limit is {MAX_RUNS:,} "
                "runs per sweep: split it into smaller spaces."
            )
        seen: set[Any] = set()
        for i, value in enumerate(values):
            check_cell(path, f"{block}.{key}[{i}]", value)  # a factor's value: a CSV cell
            if _same(value) in seen:  # a set, not a scan: 100,000 values stay instant
                raise ConfigError(
                    f"{path}: {block}.{key} lists {fmt_value(value)} twice: give each value once "
                    "(to repeat a run, use seeds: N)."
                )
            seen.add(_same(value))
        grid[str(key)] = values
    return grid


def put(block: dict[str, Any], name: str, value: Any) -> None:
    """Set field `name` of a section's mapping; "args.NAME" sets one entry of model.args."""
    if name.startswith("args."):
        args = block.get("args")
        block["args"] = {**(args if isinstance(args, dict) else {}), name[5:]: value}
    else:
        block[name] = value


def _same(value: Any) -> Any:
    """A hashable stand-in, equal where the values are equal (lists become tuples)."""
    if isinstance(value, list | tuple):
        return tuple(_same(v) for v in value)
    if isinstance(value, dict):
        return frozenset((k, _same(v)) for k, v in value.items())
    return value


def validate_base(path: str, raw: Any) -> dict[str, Any]:
    if raw is None:
        return {s: {} for s in SECTIONS}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: base must be a mapping with sections {', '.join(SECTIONS)}.")
    base: dict[str, Any] = {}
    for section in raw:
        if section not in SECTIONS:
            raise unknown_key(path, "base.", str(section), list(SECTIONS))
    for section in SECTIONS:
        block = raw.get(section) or {}
        if not isinstance(block, dict):
            raise ConfigError(f"{path}: base.{section} must be a mapping of field: value.")
        base[section] = dict(block)
    resolve(path, base, "base.")  # every field type-checked now, before any point
    return base


def apply_overrides(space: Space, overrides: Mapping[str, Any]) -> Space:
    """Command-line values win over the file. A grid key given on the command line
    pins that factor to one value."""
    if not overrides:
        return space
    base = {s: dict(v) for s, v in space.base.items()}
    grid = dict(space.grid)
    experiment = space.experiment
    seeds, until, margins = space.seeds, space.until, dict(space.margins)
    for key, value in overrides.items():
        if key == "n_trials":
            raise ConfigError(f"{space.path}: --n-trials applies to kind: optuna spaces only.")
        check_text(space.path, "a command-line key", key)
        if key == "experiment":
            experiment = check_experiment(f"{space.path} (--experiment)", value)
            continue
        given = "the command line" + (" or $ABLATE_DATA" if key == "data.source" else "")
        check_plain(space.path, f"{key} (from {given})", value)
        if key == "seeds":
            if space.kind != "grid":
                raise ConfigError(
                    f"{space.path}: --seeds applies to kind: grid spaces; an Optuna trial "
                    "trains with the space's `seed:`."
                )
            seeds, until = _seeds_override(space, value)
            continue
        if key == "margins":
            margins = {**margins, **parse_margins(f"{space.path} (--margin)", value)}
            continue
        section, name = check_dotted(space.path, "--set ", key)
        if key in grid:
            check_cell(space.path, f"{key} (from the command line)", value)
            grid[key] = [value]
        else:
            put(base[section], name, value)
    resolve(space.path, base, "")
    return Space(
        path=space.path,
        experiment=experiment,
        kind=space.kind,
        base=base,
        grid=grid,
        seeds=seeds,
        description=space.description,
        extra=space.extra,
        until=until,
        margins=margins,
    )


def _seeds_override(space: Space, value: Any) -> tuple[tuple[int, ...], SeedRule | None]:
    """--seeds N (a fixed count), or a partial rule from --until-settled / --max-seeds
    ({until: settled, max: 20}) laid over the space's own rule."""
    if not isinstance(value, dict):
        return parse_seeds(f"{space.path} (--seeds)", value), None
    where = f"{space.path} (--until-settled, --max-seeds)"
    if "until" not in value and space.until is None:
        raise ConfigError(
            f"{where}: --max-seeds = {fmt_value(value.get('max'))} is not allowed here: it "
            f"applies to a sweep that stops when settled: add --until-settled, or give the "
            f"space {SEED_RULE_EXAMPLE}."
        )
    base = space.until.as_dict() if space.until is not None else {"until": "settled"}
    rule = parse_seed_rule(where, {**base, **value})
    return tuple(range(rule.max)), rule


def resolve(
    path: str, sections: Mapping[str, Mapping[str, Any]], prefix: str
) -> dict[str, BaseModel]:
    """Validate each section; expand a model preset under its explicit fields."""
    out: dict[str, BaseModel] = {}
    for section, cls in SECTIONS.items():
        block = dict(sections.get(section, {}))
        if section == "model" and block.get("preset") is not None:
            name = block["preset"]
            preset = find_preset(name) if isinstance(name, str) else None
            if preset is None:
                raise ConfigError(
                    f"{path}: {prefix}model.preset = {fmt_value(name)} is not allowed: known presets are "
                    f"{', '.join(sorted(PRESETS))}, or by their old names "
                    f"{', '.join(sorted(ALIASES))} (see `ablate models`)."
                    + did_you_mean(str(name), [*PRESETS, *ALIASES])
                )
            block = {**preset.fields, **block}  # the name stays as written: keys hash it alike
        if section == "model" and is_external(str(block.get("arch", ""))):
            # an imported network's module is looked for beside the space file first
            # (lightning_modules.external); recorded absolute, so a checkpoint rebuilds it
            # from any folder. Execution-only: the run key does not depend on it.
            here = Path(path).resolve().parent
            block["code_dir"] = str(here / str(block.get("code_dir") or "."))
        try:
            out[section] = cls.model_validate(block)
        except ValidationError as e:
            raise pydantic_error(path, f"{prefix}{section}.", e, cls) from None
        _meant(path, f"{prefix}{section}.", block, out[section])
    return out


def _meant(path: str, prefix: str, raw: Mapping[str, Any], model: BaseModel) -> None:
    """What pydantic accepts but no user means: a boolean read as a number (`yes` as
    1), and a text such as 'inf' or '1e999' read as a non-finite number."""
    for name, value in raw.items():
        got = getattr(model, str(name), None)
        if _bool_to_number(value, got):
            raise ConfigError(
                f"{path}: {prefix}{name} = {fmt_value(value)} is not allowed: a boolean "
                "(true/false, yes/no, on/off) where a number goes; give a number."
            )
        for v in got if isinstance(got, tuple) else (got,):
            if isinstance(v, float) and not math.isfinite(v):
                raise ConfigError(
                    f"{path}: {prefix}{name} = {fmt_value(value)} is not allowed: "
                    "give a finite number (no nan or inf)."
                )


def _bool_to_number(raw: Any, got: Any) -> bool:
    if isinstance(raw, bool):
        return not isinstance(got, bool)
    if isinstance(raw, list | tuple) and isinstance(got, list | tuple) and len(raw) == len(got):
        return any(_bool_to_number(r, g) for r, g in zip(raw, got, strict=True))
    return False


def validate_grid_values(space: Space) -> None:
    """Check every grid value on its own against the base, naming the bad one."""
    for key, values in space.grid.items():
        section, name = key.split(".", 1)
        for i, v in enumerate(values):
            trial = {s: dict(b) for s, b in space.base.items()}
            put(trial[section], name, v)
            try:
                resolve(space.path, trial, "")
            except ConfigError as e:
                reason = str(e).removeprefix(f"{space.path}: ")
                raise ConfigError(f"{space.path}: grid.{key}[{i}]: {reason}") from None
