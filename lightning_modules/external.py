"""A network of the user's own, named by import path: `model.arch: "my_nets:TinyResNet"`.

The contract (README, "Your own network"):

- `arch` is "module:callable" or "path/to/file.py:callable". The module is looked for
  first in `model.code_dir` (the space file's folder, recorded at load time), then on
  `sys.path`. A relative file path is taken from `code_dir`, then from each `sys.path`
  entry.
- The callable is called with `model.args` as keyword arguments, plus `num_classes` and
  `in_channels` (and `image_size` when its signature names it), and returns an
  `nn.Module` mapping normalised float images (N, C, H, W) to logits (N, num_classes).
- `ExternalNet` wraps it with the data's normalisation (`normalize_layer`), so inputs,
  explanation baselines and user images stay in [0, 1] pixel units, as for every
  built-in network. Its state dict is `normalize.*` and `net.*` (the user's module).
- `cam_layer` (Grad-CAM and CAM) is `model.cam_layer`, a dotted name inside the user's
  module, if set. Otherwise it is *the block of the last Conv2d*: the innermost module
  that contains the last `Conv2d` run by `forward` on a dummy batch, is itself run, and
  returns a 4-D map, other than the network itself (a ResNet's last basic block, a
  Sequential stage); where there is none, that Conv2d.
- `head` and `fc` exist only where the head is global average pooling of the cam
  layer's output followed by exactly one `nn.Linear` whose output is the logits. That is
  checked numerically on the dummy batch: the last Linear's input equals the mean of the
  cam layer's output over h and w, and its output equals the net's. Otherwise CAM does
  not apply, and `cam_not_applicable` says why.

Two kinds of error: `ExternalModelError` for what is wrong for every point (the module
does not import, the callable is missing, an argument name it does not take) and
`InvalidPointError` for what may depend on a point's values (the callable raises, the
output has the wrong shape, `cam_layer` is not a layer of this build). `point_reason`
is the sweep's check: None, or the reason to record the point as skipped.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from torch import nn

from lightning_modules.config import ModelConfig, is_external
from lightning_modules.errors import InvalidPointError, LightningModulesError
from lightning_modules.layers import Normalization, count_params, normalize_layer
from lightning_modules.shapes import invalid_reason

# what ablate passes itself; a model.args entry of these names is refused
PASSED = ("num_classes", "in_channels", "image_size")
PROBE_BATCH = 2  # images in the dummy batch that checks the output and finds the CAM layer
PROBE_SEED = 0
# tolerance of the GAP check: float32 means of up to 1024x1024 maps
GAP_RTOL, GAP_ATOL = 1e-4, 1e-5
MAX_MESSAGE = 300  # characters of a user exception's first line quoted in a message


class ExternalModelError(LightningModulesError):
    """An imported network cannot be had at all (for any point): exit code 2."""


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    line = text[0] if text else ""
    line = line if len(line) <= MAX_MESSAGE else line[: MAX_MESSAGE - 3] + "..."
    return f"{type(e).__name__}: {line}" if line else type(e).__name__


# ------------------------------------------------------------------------ importing


def split_arch(arch: str) -> tuple[str, str]:
    """'my_nets:TinyResNet' -> ('my_nets', 'TinyResNet'); the module part may be a .py path."""
    module, _, attr = arch.rpartition(":")
    return module, attr


@contextmanager
def _first_on_path(folder: Path) -> Iterator[None]:
    """`folder` at the front of sys.path while the module (and what it imports) loads."""
    entry = str(folder)
    sys.path.insert(0, entry)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):  # the module took it off itself
            sys.path.remove(entry)


def _beside(code_dir: Path, module: str) -> bool:
    """Whether the top-level package or module of `module` is a file or folder in code_dir."""
    top = module.split(".")[0]
    return (code_dir / f"{top}.py").is_file() or (code_dir / top).is_dir()


def _import_module(module: str, code_dir: str | None, arch: str) -> ModuleType:
    """Import a dotted module name: from code_dir first, then from sys.path."""
    folder = Path(code_dir) if code_dir else None
    where = f"{folder} (the space file's folder), then sys.path" if folder else "sys.path"
    beside = folder is not None and _beside(folder, module)
    if beside:
        assert folder is not None
        loaded = sys.modules.get(module)
        origin = getattr(loaded, "__file__", None)
        if loaded is not None and origin and not Path(origin).resolve().is_relative_to(folder):
            raise ExternalModelError(
                f"model.arch {arch!r}: a module named {module!r} is already imported from "
                f"{origin}, not the one in {folder}: rename yours"
            )
    try:
        if beside:
            assert folder is not None
            with _first_on_path(folder):
                return importlib.import_module(module)
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name is not None and module.startswith(e.name):  # the module itself is missing
            raise ExternalModelError(
                f"model.arch {arch!r}: no module {module!r} in {where}; put the file beside "
                "the space file, or its folder on PYTHONPATH"
            ) from None
        raise ExternalModelError(
            f"model.arch {arch!r}: importing {module!r} failed: {_first_line(e)}"
        ) from None
    except Exception as e:  # a syntax error or any exception at import time
        raise ExternalModelError(
            f"model.arch {arch!r}: importing {module!r} failed: {_first_line(e)}"
        ) from None


def _find_file(path: str, code_dir: str | None) -> Path | None:
    p = Path(path).expanduser()
    if p.is_absolute():
        return p if p.is_file() else None
    roots = ([Path(code_dir)] if code_dir else []) + [Path(e or ".") for e in sys.path]
    return next((r / p for r in roots if (r / p).is_file()), None)


def _import_file(path: str, code_dir: str | None, arch: str) -> ModuleType:
    """Load a .py file as a module named after its resolved path (two files with the same
    stem stay apart); its folder is on sys.path while it loads, for its own imports."""
    found = _find_file(path, code_dir)
    if found is None:
        where = f"{code_dir} (the space file's folder), then sys.path" if code_dir else "sys.path"
        raise ExternalModelError(f"model.arch {arch!r}: no file {path!r} in {where}")
    found = found.resolve()
    name = f"ablate_external_{found.stem}_{hashlib.sha256(str(found).encode()).hexdigest()[:8]}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, found)
    if spec is None or spec.loader is None:
        raise ExternalModelError(f"model.arch {arch!r}: {found} cannot be loaded as Python")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # before exec: dataclasses and pickling look the module up
    try:
        with _first_on_path(found.parent):
            spec.loader.exec_module(mod)
    except Exception as e:
        del sys.modules[name]
        raise ExternalModelError(
            f"model.arch {arch!r}: importing {found} failed: {_first_line(e)}"
        ) from None
    return mod


def import_callable(cfg: ModelConfig) -> Callable[..., Any]:
    """The callable `cfg.arch` names, or an ExternalModelError saying what is missing."""
    module_part, attr = split_arch(cfg.arch)
    if module_part.endswith(".py"):
        mod = _import_file(module_part, cfg.code_dir, cfg.arch)
    else:
        mod = _import_module(module_part, cfg.code_dir, cfg.arch)
    obj: Any = mod
    for part in attr.split("."):
        if not hasattr(obj, part):
            names = sorted(n for n, v in vars(mod).items() if callable(v) and not n.startswith("_"))
            close = difflib.get_close_matches(part, names, n=1, cutoff=0.6)
            raise ExternalModelError(
                f"model.arch {cfg.arch!r}: {getattr(mod, '__file__', module_part)} has no "
                f"{attr!r}"
                + (f"; did you mean {close[0]!r}?" if close else "")
                + (f" It defines: {', '.join(names[:20])}." if names else "")
            )
        obj = getattr(obj, part)
    if not callable(obj):
        raise ExternalModelError(
            f"model.arch {cfg.arch!r}: {attr} is a {type(obj).__name__}, not a class or "
            "function that returns an nn.Module"
        )
    return obj  # type: ignore[no-any-return]


# ------------------------------------------------------------------------ calling


def call_arguments(fn: Callable[..., Any], cfg: ModelConfig) -> dict[str, Any]:
    """model.args + num_classes + in_channels (+ image_size where the signature names it),
    checked against the signature: a TypeError reworded with the names it does take."""
    given = sorted(set(cfg.args) & set(PASSED))
    if given:
        raise ExternalModelError(
            f"model.args.{given[0]}: ablate passes {given[0]} itself; set model.{given[0]} "
            "instead (it must match the data)"
        )
    kwargs = {**cfg.args, "num_classes": cfg.num_classes, "in_channels": cfg.in_channels}
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a signature: call and see
        return kwargs
    params = sig.parameters
    if "image_size" in params:
        kwargs["image_size"] = cfg.image_size
    try:
        sig.bind(**kwargs)
    except TypeError as e:
        raise ExternalModelError(_reword(cfg, sig, e)) from None
    return kwargs


def _reword(cfg: ModelConfig, sig: inspect.Signature, err: TypeError) -> str:
    """Python's 'got an unexpected keyword argument' as the space's keys and the names taken."""
    named = [
        n for n, p in sig.parameters.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    takes_any = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    own = [n for n in named if n not in PASSED]
    takes = f"it takes {', '.join(own)}" if own else "it takes no arguments of its own"
    who = f"model.arch {cfg.arch!r}"
    if not takes_any:
        unknown = [k for k in cfg.args if k not in named]
        if unknown:
            close = difflib.get_close_matches(unknown[0], own, n=1, cutoff=0.6)
            return (
                f"model.args.{unknown[0]}: {who} takes no argument {unknown[0]!r}"
                + (f" (did you mean {close[0]!r}?)" if close else "")
                + f"; {takes}"
            )
        refused = [n for n in PASSED[:2] if n not in named]
        if refused:
            return (
                f"{who} must take the keyword arguments num_classes and in_channels (ablate "
                f"passes them from the model section); it does not take {refused[0]}; {takes}"
            )
    missing = [
        n
        for n, p in sig.parameters.items()
        if p.default is p.empty
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        and n not in cfg.args
        and n not in PASSED
    ]
    if missing:
        return f"model.args.{missing[0]} is missing: {who} needs it; {takes}"
    return f"model.args do not fit {who}: {err}; {takes}"


def build_user_net(cfg: ModelConfig) -> nn.Module:
    """Import and call; an nn.Module, or InvalidPointError when this point's call fails."""
    fn = import_callable(cfg)
    kwargs = call_arguments(fn, cfg)
    shown = ", ".join(f"{k}={v!r}" for k, v in cfg.args.items())
    try:
        net = fn(**kwargs)
    except Exception as e:  # the network refuses these values: the point is skipped
        raise InvalidPointError(f"{cfg.arch}({shown}) raised {_first_line(e)}") from None
    if not isinstance(net, nn.Module):
        raise InvalidPointError(
            f"{cfg.arch}({shown}) returned a {type(net).__name__}, not an nn.Module"
        )
    return net


def find_layer(net: nn.Module, name: str, arch: str) -> nn.Module:
    """The module `name` inside net, or InvalidPointError listing the nearest names."""
    try:
        return net.get_submodule(name)
    except AttributeError:
        names = [n for n, _ in net.named_modules() if n]
        close = difflib.get_close_matches(name, names, n=5, cutoff=0.5) or names[-5:]
        raise InvalidPointError(
            f"model.cam_layer {name!r} is not a layer of {arch}; nearest: {', '.join(close)}"
        ) from None


# ------------------------------------------------------------------------ the wrapper


@dataclass(frozen=True)
class CamParts:
    """What a dummy batch says about the layers explanations use."""

    layer: nn.Module | None  # Grad-CAM's and CAM's layer; None: no Conv2d and no cam_layer
    name: str
    fc: nn.Linear | None  # the one Linear after GAP, where the head is GAP -> Linear
    reason: str | None  # why CAM does not apply; None where it does


@contextmanager
def _evaluating(net: nn.Module) -> Iterator[None]:
    flags = [(m, m.training) for m in net.modules()]
    net.eval()
    try:
        yield
    finally:
        for m, was in flags:
            m.training = was


def dummy_batch(cfg: ModelConfig, device: torch.device, n: int = PROBE_BATCH) -> torch.Tensor:
    """n images in [0, 1], the same every call (seeded on the CPU)."""
    g = torch.Generator().manual_seed(PROBE_SEED)
    shape = (n, cfg.in_channels, *cfg.image_hw())
    if device.type == "meta":
        return torch.empty(shape, device=device)
    return torch.rand(shape, generator=g).to(device)


class ExternalNet(nn.Module):
    """normalize -> the user's network. See the module docstring for `cam_layer`, `head`, `fc`."""

    def __init__(self, cfg: ModelConfig, norm: Normalization | None = None) -> None:
        super().__init__()
        self.normalize = normalize_layer(cfg, norm)
        self.net = build_user_net(cfg)
        self.arch = cfg.arch
        self.spec = cfg
        if cfg.cam_layer:
            find_layer(self.net, cfg.cam_layer, cfg.arch)
        self._parts: CamParts | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.normalize(x))  # type: ignore[no-any-return]

    def parts(self) -> CamParts:
        """Found once, on a dummy batch on the parameters' device."""
        if self._parts is None:
            self._parts = self._probe()
        return self._parts

    @property
    def cam_layer(self) -> nn.Module | None:
        return self.parts().layer

    @property
    def head(self) -> nn.Sequential | None:
        """GAP then flatten, where the net's own head is GAP -> one Linear (CAM's shape)."""
        return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()) if self.parts().fc else None

    @property
    def fc(self) -> nn.Linear | None:
        return self.parts().fc

    @property
    def cam_not_applicable(self) -> str | None:
        return self.parts().reason

    def _probe(self) -> CamParts:
        names = {m: n for n, m in self.net.named_modules()}
        order: list[str] = []  # every module run, in the order it returned
        outputs: dict[str, torch.Tensor] = {}
        linears: list[tuple[nn.Linear, torch.Tensor, torch.Tensor]] = []

        def record(module: nn.Module, inputs: Any, output: Any) -> None:
            name = names.get(module)
            if name is None:
                return
            order.append(name)
            if isinstance(output, torch.Tensor):
                outputs[name] = output
            if isinstance(module, nn.Linear) and inputs and isinstance(inputs[0], torch.Tensor):
                linears.append((module, inputs[0], output))

        handles = [m.register_forward_hook(record) for m in self.net.modules()]
        param = next(self.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
        try:
            with _evaluating(self), torch.no_grad(), torch.autocast(device.type, enabled=False):
                x = dummy_batch(self.spec, device)
                y = self(
                    x.to(param.dtype) if param is not None and param.is_floating_point() else x
                )
        finally:
            for h in handles:
                h.remove()
        name = self.spec.cam_layer or _conv_block(self.net, order, outputs)
        if name is None:
            return CamParts(None, "", None, f"{self.arch} has no Conv2d layer for CAM")
        layer = self.net.get_submodule(name)
        reason = _gap_reason(self.arch, name, outputs.get(name), linears, y)
        fc = linears[-1][0] if reason is None else None
        return CamParts(layer, name, fc, reason)


def _conv_block(net: nn.Module, order: list[str], outputs: dict[str, torch.Tensor]) -> str | None:
    """The block of the last Conv2d run (module docstring); None where no Conv2d ran."""
    convs = [n for n in order if isinstance(net.get_submodule(n), nn.Conv2d)]
    if not convs:
        return None
    last = convs[-1]
    parts = last.split(".")
    for i in range(len(parts) - 1, 0, -1):  # innermost ancestor first; never the root ("")
        block = ".".join(parts[:i])
        out = outputs.get(block)
        if out is not None and out.dim() == 4:
            return block
    return last


def _gap_reason(
    arch: str,
    name: str,
    acts: torch.Tensor | None,
    linears: list[tuple[nn.Linear, torch.Tensor, torch.Tensor]],
    y: Any,
) -> str | None:
    """None where logits = Linear(mean over h, w of the cam layer's output); else why not."""
    use = " (use gradcam)"
    if acts is None or acts.dim() != 4:
        return f"cam needs a feature map (N, C, h, w) from layer {name!r} of {arch}{use}"
    if not linears:
        return f"cam needs global average pooling then one nn.Linear; {arch} has no nn.Linear{use}"
    _, z, out = linears[-1]
    if not (isinstance(y, torch.Tensor) and y.shape == out.shape and torch.equal(y, out)):
        return (
            f"cam needs the logits to be the output of the last nn.Linear; in {arch} "
            f"something runs after it{use}"
        )
    pooled = acts.float().mean(dim=(2, 3))
    if z.shape != pooled.shape or not torch.allclose(
        z.float(), pooled, rtol=GAP_RTOL, atol=GAP_ATOL
    ):
        return (
            f"cam needs global average pooling of {name!r} directly followed by one "
            f"nn.Linear; in {arch} that Linear's input is {tuple(z.shape[1:])}, not the "
            f"mean of the {tuple(acts.shape[1:])} map of {name!r} (a flatten head, or a "
            f"hidden layer){use}"
        )
    return None


# ------------------------------------------------------------------------ checking


def check_net(cfg: ModelConfig, device: str = "cpu") -> ExternalNet:
    """Build and run one dummy batch: the output must be (N, num_classes) logits and the
    cam layer a 4-D map. InvalidPointError for this point, ExternalModelError for any."""
    dev = torch.device(device)
    with torch.random.fork_rng(devices=[]), torch.device(dev):  # the sweep's RNG untouched
        net = ExternalNet(cfg)
    n = PROBE_BATCH
    x = dummy_batch(cfg, dev)
    shown = "x".join(str(s) for s in (n, cfg.in_channels, *cfg.image_hw()))
    captured: dict[str, Any] = {}
    handle = None
    if cfg.cam_layer:
        layer = net.net.get_submodule(cfg.cam_layer)
        handle = layer.register_forward_hook(lambda m, i, o: captured.update(layer=o))
    try:
        with _evaluating(net), torch.no_grad():
            y = net(x)
    except Exception as e:
        raise InvalidPointError(
            f"{cfg.arch} failed on a dummy batch of {shown} images: {_first_line(e)}"
        ) from None
    finally:
        if handle is not None:
            handle.remove()
    want = (n, cfg.num_classes)
    if not isinstance(y, torch.Tensor) or tuple(y.shape) != want:
        got = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        raise InvalidPointError(
            f"{cfg.arch} returned {got} for a dummy batch of {shown} images; it must return "
            f"logits of shape {want} (batch, model.num_classes)"
        )
    cam = captured.get("layer")
    if cfg.cam_layer and not (isinstance(cam, torch.Tensor) and cam.dim() == 4):
        got = tuple(cam.shape) if isinstance(cam, torch.Tensor) else type(cam).__name__
        raise InvalidPointError(
            f"model.cam_layer {cfg.cam_layer!r} of {cfg.arch} gives {got}; Grad-CAM and CAM "
            "need a feature map (N, C, h, w)"
        )
    return net


_CHECKED: dict[str, str | None] = {}  # model config (JSON) -> reason or None, per process


def point_reason(cfg: ModelConfig) -> str | None:
    """Why this point cannot be built (recorded as skipped), or None: for an imported
    network, built once per distinct config on the CPU with one dummy batch. Raises
    ExternalModelError where no point of it could be built (the module, the names)."""
    if not is_external(cfg.arch):
        return invalid_reason(cfg)
    key = cfg.model_dump_json()
    if key not in _CHECKED:
        try:
            check_net(cfg)
            _CHECKED[key] = None
        except InvalidPointError as e:
            _CHECKED[key] = str(e)
    return _CHECKED[key]


def counts(cfg: ModelConfig) -> tuple[int, int]:
    """(parameters, forward FLOPs per image) of an imported network, built on the meta
    device (no memory, no weights initialised); on the CPU where the meta build fails."""

    key = cfg.model_dump_json()
    if key not in _COUNTED:
        _COUNTED[key] = _count(cfg)
    return _COUNTED[key]


_COUNTED: dict[str, tuple[int, int]] = {}


def _count(cfg: ModelConfig) -> tuple[int, int]:
    from torch.utils.flop_counter import FlopCounterMode

    for device in ("meta", "cpu"):
        try:
            net = check_net(cfg, device)
            with FlopCounterMode(display=False) as counter, torch.no_grad(), _evaluating(net):
                net(dummy_batch(cfg, torch.device(device), n=1))
            return count_params(net), int(counter.get_total_flops())
        except InvalidPointError:
            if device == "cpu":
                raise
    raise AssertionError("unreachable")
