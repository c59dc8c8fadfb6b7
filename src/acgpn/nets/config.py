"""Nets that describe themselves: every constructor call is recorded as a JSON-ready config.

In the spirit of diffusers' ``register_to_config``: a subclass of :class:`ConfigMixin` needs no
decorator; the arguments its ``__init__`` was called with (defaults filled in, tuples as lists)
become ``net.config``, checkpoints store ``{"class": <class name>, **net.config}`` and
:meth:`ConfigMixin.from_config` rebuilds the net from it, checking every value against the
constructor's signature and type hints first (a config file is user input).

    net = UNet(37, 14, base_channels=32)
    net.config                     # {"in_channels": 37, "out_channels": 14, "base_channels": 32, ...}
    UNet.from_config(net.config)   # the same architecture
"""

from __future__ import annotations

import copy
import functools
import inspect
import math
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T", bound="ConfigMixin")


def _jsonable(value: Any) -> Any:
    """Tuples -> lists, recursively (what ``json`` writes back)."""
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _type_name(hint: Any) -> str:
    if typing.get_origin(hint) is not None:
        return str(hint).replace("typing.", "")
    return getattr(hint, "__name__", None) or str(hint)


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """``value`` checked against the type hint ``hint`` (int, float, bool, str, tuples, ``X | None``).

    Returns the value to pass to the constructor (lists become tuples); raises ``ValueError``.
    """
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, option, where)
            except ValueError as exc:
                errors.append(str(exc))
        raise ValueError(errors[0] if errors else f"{where}: expected {_type_name(hint)}, got {value!r}")
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    elif hint is str:
        if isinstance(value, str):
            return value
    elif origin is tuple:
        if isinstance(value, (list, tuple)):
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(_coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
            if len(value) == len(args):
                return tuple(_coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
    else:  # an annotation we do not check: pass the JSON value through
        return value
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    raise ValueError(f"{where}: expected {_type_name(hint)}, got {shown}")


class ConfigMixin:
    """Records the constructor arguments of each instance in :attr:`config` (see module docstring).

    Mix it into an ``nn.Module`` subclass (``class D(ConfigMixin, nn.Module)``); subclasses of a
    configurable class are configurable too. Constructor arguments must be JSON values (numbers,
    bools, strings, None, lists/tuples of them).
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None or getattr(init, "_records_config", False):
            return
        signature = inspect.signature(init)

        @functools.wraps(init)
        def recording_init(self: ConfigMixin, *args: Any, **kw: Any) -> None:
            bound = signature.bind(self, *args, **kw)
            bound.apply_defaults()
            init(self, *args, **kw)
            config: dict[str, Any] = {}
            for name, value in list(bound.arguments.items())[1:]:
                kind = signature.parameters[name].kind
                if kind is inspect.Parameter.VAR_POSITIONAL:
                    raise TypeError(f"{cls.__name__}: *args cannot be recorded in a config")
                if kind is inspect.Parameter.VAR_KEYWORD:
                    config.update(value)
                else:
                    config[name] = value
            # The outermost constructor finishes last, so its arguments are the ones kept.
            object.__setattr__(self, "_config", _jsonable(config))

        recording_init._records_config = True  # type: ignore[attr-defined]
        cls.__init__ = recording_init  # type: ignore[method-assign]

    @property
    def config(self) -> dict[str, Any]:
        """The constructor arguments (a copy; JSON-ready)."""
        return copy.deepcopy(self.__dict__["_config"])

    @classmethod
    def from_config(cls: type[T], config: Mapping[str, Any]) -> T:
        """Build an instance from a config, after checking names and types against ``__init__``.

        Raises ``ValueError`` naming the argument for unknown, missing or mistyped arguments,
        and for values the constructor rejects.
        """
        if not isinstance(config, Mapping):
            raise ValueError(f"{cls.__name__}: config must be a mapping of argument names to values")
        init = getattr(cls.__init__, "__wrapped__", cls.__init__)
        params = list(inspect.signature(init).parameters.values())[1:]
        try:
            hints = typing.get_type_hints(init)
        except (NameError, TypeError):  # unresolvable annotations: names are still checked
            hints = {}
        by_name = {p.name: p for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
        takes_any = any(p.kind is p.VAR_KEYWORD for p in params)
        unknown = [k for k in config if k not in by_name and not takes_any]
        if unknown:
            raise ValueError(f"{cls.__name__}: unknown argument {unknown[0]!r} (expected {', '.join(by_name)})")
        missing = [n for n, p in by_name.items() if p.default is p.empty and n not in config]
        if missing:
            raise ValueError(f"{cls.__name__}: missing argument {missing[0]!r}")
        kwargs = {
            k: _coerce(v, hints[k], f"{cls.__name__}.{k}") if k in hints else v for k, v in config.items()
        }
        try:
            return cls(**kwargs)
        except (ValueError, TypeError, RuntimeError) as exc:
            raise ValueError(f"{cls.__name__}: {str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__}") from None

    @classmethod
    def config_class(cls, name: str) -> type[ConfigMixin]:
        """The configurable class called ``name`` (a subclass of ``cls``, or ``cls`` itself).

        Only classes that are already imported are found; raises ``ValueError`` for an unknown
        or ambiguous name.
        """
        found, todo, seen = [], [cls], set()
        while todo:
            c = todo.pop()
            if c in seen:
                continue
            seen.add(c)
            if c.__name__ == name and c is not ConfigMixin:
                found.append(c)
            todo.extend(c.__subclasses__())
        if len(found) != 1:
            what = "ambiguous" if found else "unknown"
            raise ValueError(f"{what} net class {name!r}")
        return found[0]
