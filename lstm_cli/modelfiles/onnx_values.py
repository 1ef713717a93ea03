"""What each value of an ONNX graph is, as lstm-cli reads the graph: a constant, a shape, a constant-filled
tensor of a shape known only symbolically, or data computed from the graph's inputs; and the glue ops
(Transpose, Squeeze, Unsqueeze, Reshape, Slice, Gather, Concat, Shape, ConstantOfShape, Expand, Identity,
Constant) evaluated on them.

Data is followed by its axes rather than its numbers. An axis is one of an input's first two (a label,
later bound to `batch` or `time` by the LSTM op that reads it), features, an LSTM's direction axis, or a
unit axis. So `Transpose(perm=[1, 0, 2])` before an LSTM tells that the input is batch first, and
`Transpose(perm=[0, 2, 1, 3])` then `Reshape([0, 0, -1])` after a bidirectional LSTM that its halves are
concatenated, as Keras's `merge_mode="concat"` does. The zero initial states that exporters build from
the input's shape (`Shape`, `Gather`, `Unsqueeze`, `Concat`, `ConstantOfShape` or `Expand`) fold to a
`Fill` whose batch is a label: zeros of any batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from lstm_cli.errors import LstmCliError
from lstm_cli.modelfiles.onnx_file import OnnxModel

Dim = int | str  # a size, or the label of an input's batch or time axis
BIG = 2**31 - 1  # a Slice end at least this large runs to the end of an axis of unknown size
MAX_FOLDED = 1_000_000  # the most values a constant folded from glue may hold
MAX_RANK = 16  # the most axes of a value that glue builds (numpy takes 64; an LSTM graph needs 4)


@dataclass(frozen=True)
class Const:
    array: np.ndarray


@dataclass(frozen=True)
class ShapeOf:
    """An int64 vector built from shapes (Shape, Gather on it, Unsqueeze, Concat); `scalar`: a 0-d value."""

    dims: tuple[Dim, ...]
    scalar: bool = False


@dataclass(frozen=True)
class Fill:
    """`base` broadcast to `dims`: a constant tensor whose shape is partly symbolic (the zero states)."""

    base: np.ndarray  # as many axes as dims; size 1 along each symbolic dim
    dims: tuple[Dim, ...]


@dataclass(frozen=True)
class Axis:
    kind: str  # "label" (an input's batch or time), "feature", "direction", "one"
    size: int = 1
    label: str = ""


ONE = Axis("one")


@dataclass(frozen=True)
class Source:
    """What lstm-cli computes for a value: `owner` is an input's or a layer's name; `part` is `input`,
    `ids`, `seq` (a sequence), `h`, `c` or `out` (a dense or embedding layer's output). A bidirectional
    layer's value holds `halves` (both along a direction axis, or the one picked), or both merged."""

    owner: str
    part: str
    halves: tuple[str, ...] = ()
    merge: str | None = None  # concat, sum, ave, mul


@dataclass(frozen=True)
class Data:
    axes: tuple[Axis, ...]
    source: Source
    flipped: bool = False  # the sequence in reverse time order (a reverse LSTM's Y)


@dataclass(frozen=True)
class Stack:
    """States of several layers (or both halves) concatenated along a unit axis: a graph output only."""

    items: tuple[Data, ...]
    axis: int


@dataclass(frozen=True)
class Opaque:
    """A value lstm-cli cannot use (a graph input of another shape): refused, with why, if a node reads it."""

    why: str


Value = Const | ShapeOf | Fill | Data | Stack | Opaque


class Labels:
    """The roles (batch, time) of the inputs' first two axes, bound as LSTM ops read them; an LSTM's
    initial state read from another layer joins the two batches into one."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.role: dict[str, str] = {}
        self.size: dict[str, int] = {}  # a fixed size from the graph input's shape
        self.reversed: set[str] = set()  # axes reversed before an LSTM said which is time

    def add(self, label: str, size: int | None) -> None:
        self.parent[label] = label
        if size is not None:
            self.size[label] = size

    def find(self, label: str) -> str:
        while self.parent[label] != label:
            label = self.parent[label]
        return label

    def reversible(self, label: str) -> bool:
        """Whether the axis may run backwards: time, or an axis that must then be time."""
        role = self.role_of(label)
        if role is None:
            self.reversed.add(self.find(label))
        return role in (None, "time")

    def role_of(self, label: str) -> str | None:
        return self.role.get(self.find(label))

    def bind(self, label: str, role: str) -> bool:
        """Give `label` its role; False if it has the other one."""
        root = self.find(label)
        if role == "batch" and root in self.reversed:
            return False
        return self.role.setdefault(root, role) == role

    def join(self, a: str, b: str) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        if ra in self.role and rb in self.role and self.role[ra] != self.role[rb]:
            return False
        self.parent[rb] = ra
        if rb in self.reversed:
            self.reversed.add(ra)
        if rb in self.role:
            self.role[ra] = self.role[rb]
        return True

    def fixed(self, label: str) -> int | None:
        """The size the graph input's shape fixes for `label`, if any."""
        return self.size.get(self.find(label))

    def same(self, a: Dim, b: Dim) -> bool:
        if isinstance(a, str) and isinstance(b, str):
            return self.find(a) == self.find(b)
        return a == b

    def text(self, axis: Axis) -> str:
        if axis.kind != "label":
            return str(axis.size)
        return {"batch": "batch", "time": "timesteps"}.get(self.role_of(axis.label) or "", "?")


class Context:
    """The graph being read: its file, its axis labels, and how a node's refusal is worded."""

    def __init__(self, model: OnnxModel) -> None:
        self.model = model
        self.labels = Labels()

    def fail(self, node: Any, message: str) -> LstmCliError:
        return self.model.error(f"{node_name(node)}: {message}")

    def shape_text(self, value: Value) -> str:
        dims: list[str]
        if isinstance(value, Data):
            dims = [self.labels.text(axis) for axis in value.axes]
        elif isinstance(value, Fill):
            dims = [str(d) if isinstance(d, int) else "?" for d in value.dims]
        elif isinstance(value, Const):
            dims = [str(d) for d in value.array.shape]
        else:
            return "a shape"
        return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def shown(name: Any) -> str:
    """A name from the file as text: protobuf gives a name that is not UTF-8 as bytes."""
    return name.decode("utf-8", errors="replace") if isinstance(name, bytes) else str(name)


def article(word: str) -> str:
    """`a` or `an` before an op's name: an Add, a Conv, an LSTM (said el-es-tee-em)."""
    vowel_sounds = "AEFHILMNORSX" if word.isupper() else "AEIOU"
    return "an" if word[:1] in tuple(vowel_sounds) else "a"


def node_name(node: Any) -> str:
    """`node 'lstm_1'`; an unnamed node by its position, `node #3` (the reader names it so)."""
    name = shown(node.name)
    return f"node {name}" if name.startswith("#") else f"node {name!r}"


# -- attributes ----------------------------------------------------------------------------------------

ATTRIBUTE_FIELDS = {1: "f", 2: "i", 3: "s", 4: "t", 6: "floats", 7: "ints", 8: "strings"}
FIELD_NAMES = {"f": "a float", "i": "an int", "s": "a string", "t": "a tensor"}
FIELD_NAMES.update(floats="floats", ints="ints", strings="strings")
# The kind each attribute that lstm-cli reads must have (a file can give any kind under any name).
ATTRIBUTE_KINDS = {
    **dict.fromkeys(("axis", "keepdims", "allowzero", "hidden_size", "input_forget", "layout"), "i"),
    **dict.fromkeys(("transA", "transB", "start", "end", "value_int"), "i"),
    **dict.fromkeys(("clip", "alpha", "beta", "gamma", "value_float", "min", "max"), "f"),
    **dict.fromkeys(("direction", "approximate"), "s"),
    **dict.fromkeys(("perm", "axes", "starts", "ends", "value_ints"), "ints"),
    **dict.fromkeys(("activation_alpha", "activation_beta", "value_floats"), "floats"),
    "activations": "strings",
    "value": "t",
}


def attributes(ctx: Context, node: Any) -> dict[str, Any]:
    """A node's attributes as Python values (a tensor attribute stays a TensorProto)."""
    found: dict[str, Any] = {}
    for attribute in node.attribute:
        kind = ATTRIBUTE_FIELDS.get(int(attribute.type))
        if kind is None:
            raise ctx.fail(
                node, f"attribute {attribute.name} holds a graph or another kind lstm-cli does not read"
            )
        wanted = ATTRIBUTE_KINDS.get(attribute.name, kind)
        if kind != wanted:
            raise ctx.fail(
                node, f"attribute {attribute.name} is {FIELD_NAMES[kind]}; expected {FIELD_NAMES[wanted]}"
            )
        value = getattr(attribute, kind)
        if kind == "s":
            value = value.decode("utf-8", errors="replace")
        elif kind == "strings":
            value = [item.decode("utf-8", errors="replace") for item in value]
        elif kind in ("floats", "ints"):
            value = list(value)
        found[attribute.name] = value
    return found


def const_array(ctx: Context, node: Any, value: Value | None, what: str) -> np.ndarray:
    if isinstance(value, Const):
        return value.array
    if isinstance(value, ShapeOf) and all(isinstance(d, int) for d in value.dims):
        return np.array(value.dims, dtype=np.int64).reshape(() if value.scalar else (-1,))
    raise ctx.fail(node, f"input {what} is computed in the graph; lstm-cli reads it only as a constant")


def int_list(ctx: Context, node: Any, value: Value | None, what: str) -> list[int]:
    array = const_array(ctx, node, value, what)
    if array.dtype.kind not in "iu" or array.ndim > 1:
        raise ctx.fail(node, f"input {what}: expected integers, got {array.dtype} of shape {array.shape}")
    return [int(v) for v in array.reshape(-1)]


def dims_of(ctx: Context, node: Any, value: Value | None, what: str) -> tuple[Dim, ...]:
    """A shape given as an input: constant ints, or built from Shape ops."""
    if isinstance(value, ShapeOf) and not value.scalar:
        dims = value.dims
    else:
        dims = tuple(int_list(ctx, node, value, what))
    if len(dims) > MAX_RANK:
        raise ctx.fail(
            node, f"input {what} has {len(dims)} axes; lstm-cli follows values of at most {MAX_RANK}"
        )
    return dims


def rank(value: Value) -> int:
    if isinstance(value, Const):
        return value.array.ndim
    if isinstance(value, Fill):
        return len(value.dims)
    if isinstance(value, Data):
        return len(value.axes)
    if isinstance(value, ShapeOf):
        return 0 if value.scalar else 1
    return 0


def axis_index(ctx: Context, node: Any, axis: int, size: int) -> int:
    if not -size <= axis < size:
        raise ctx.fail(node, f"axis {axis} is outside a value of rank {size}")
    return axis % size


def small(ctx: Context, node: Any, array: np.ndarray) -> Const:
    if array.size > MAX_FOLDED:
        raise ctx.fail(
            node, f"folds to a constant of {array.size} values; lstm-cli folds at most {MAX_FOLDED}"
        )
    return Const(array)


def dims_of_data(data: Data) -> tuple[Dim, ...]:
    return tuple(axis.label if axis.kind == "label" else axis.size for axis in data.axes)


# -- the glue ops ------------------------------------------------------------------------------------------

Glue = Callable[[Context, Any, list["Value | None"], dict[str, Any]], list[Value]]


def op_identity(ctx: Context, node: Any, ins: list[Value | None], attrs: dict[str, Any]) -> list[Value]:
    return [required(ctx, node, ins, 0)]


def op_constant(ctx: Context, node: Any, ins: list[Value | None], attrs: dict[str, Any]) -> list[Value]:
    if "value" in attrs:
        return [Const(ctx.model.array(attrs["value"], f"{node_name(node)}: attribute value"))]
    scalars = {"value_float": np.float32, "value_int": np.int64}
    lists = {"value_floats": np.float32, "value_ints": np.int64}
    for key, dtype in {**scalars, **lists}.items():
        if key in attrs:
            return [Const(np.asarray(attrs[key], dtype=dtype))]
    given = ", ".join(attrs) or "no value"
    raise ctx.fail(node, f"a Constant of {given}; lstm-cli reads numeric constants only")


def op_shape(ctx: Context, node: Any, ins: list[Value | None], attrs: dict[str, Any]) -> list[Value]:
    value = required(ctx, node, ins, 0)
    if isinstance(value, Data):
        dims = dims_of_data(value)
    elif isinstance(value, Fill):
        dims = value.dims
    elif isinstance(value, Const):
        dims = tuple(int(d) for d in value.array.shape)
    else:
        raise ctx.fail(node, "takes the shape of a value that has none lstm-cli knows")
    start, end = attrs.get("start", 0), attrs.get("end", len(dims))
    return [ShapeOf(dims[slice(start, end)])]


def op_constant_of_shape(
    ctx: Context, node: Any, ins: list[Value | None], attrs: dict[str, Any]
) -> list[Value]:
    dims = dims_of(ctx, node, ins[0] if ins else None, "shape")
    value = np.zeros(1, dtype=np.float32)
    if "value" in attrs:
        value = ctx.model.array(attrs["value"], f"{node_name(node)}: attribute value").reshape(-1)
        if value.size != 1:
            raise ctx.fail(node, f"attribute value holds {value.size} numbers; ConstantOfShape takes one")
    if any(isinstance(d, int) and d < 0 for d in dims):
        raise ctx.fail(node, f"a negative size in shape {dims}")
    return [Fill(value.reshape((1,) * len(dims)), dims)]


def op_expand(ctx: Context, node: Any, ins: list[Value | None], attrs: dict[str, Any]) -> list[Value]:
    value = required(ctx, node, ins, 0)
    dims = dims_of(ctx, node, ins[1] if len(ins) > 1 else None, "shape")
    if isinstance(value, Fill):
        base, have = value.base, value.dims
    elif isinstance(value, Const):
        base, have = value.array, tuple(int(d) for d in value.array.shape)
    else:
        raise ctx.fail(node, "expands a computed value; lstm-cli folds Expand only on constants")
    width = max(len(have), len(dims))
    have = (1,) * (width - len(have)) + have
    base = base.reshape((1,) * (width - base.ndim) + base.shape)
    wanted = (1,) * (width - len(dims)) + tuple(dims)
    result: list[Dim] = []
    for k, (a, b) in enumerate(zip(have, wanted, strict=True)):
        if a == 1:
            result.append(b)
        elif b == 1 or ctx.labels.same(a, b) or (isinstance(b, str) and ctx.labels.fixed(b) == a):
            result.append(a)  # a fixed batch baked into a constant (a static export)
        else:
            raise ctx.fail(node, f"cannot broadcast size {a} to {b} on axis {k}")
    return [Fill(base, tuple(result))]


def op_transpose(ctx: Context, node: Any, ins: list[Value | None], attrs: dict[str, Any]) -> list[Value]:
    value = required(ctx, node, ins, 0)
    size = rank(value)
    perm = list(attrs.get("perm", range(size - 1, -1, -1)))
    if sorted(perm) != list(range(size)):
        raise ctx.fail(node, f"perm {perm} is not an order of the {size} axes")
    if isinstance(value, Const):
        return [Const(np.transpose(value.array, perm))]
    if isinstance(value, Fill):
        return [Fill(np.transpose(value.base, perm), tuple(value.dims[k] for k in perm))]
    if isinstance(value, Data):
        return [replace(value, axes=tuple(value.axes[k] for k in perm))]
    raise ctx.fail(node, "transposes a value that lstm-cli cannot follow")


def op_unsqueeze(ctx: Context, node: Any, ins: list[Value | None], attrs: dict[str, Any]) -> list[Value]:
    value = required(ctx, node, ins, 0)
    axes = attrs["axes"] if "axes" in attrs else int_list(ctx, node, ins[1] if len(ins) > 1 else None, "axes")
    size = rank(value) + len(axes)
    positions = sorted(axis_index(ctx, node, a, size) for a in axes)
    if len(set(positions)) != len(positions):
        raise ctx.fail(node, f"axes {axes} repeat an axis")
    if isinstance(value, ShapeOf):
        if value.scalar and positions == [0]:
            return [ShapeOf(value.dims)]
        raise ctx.fail(node, "unsqueezes a shape vector")
    if isinstance(value, Const):
        return [Const(np.expand_dims(value.array, tuple(positions)))]
    if isinstance(value, Fill):
        dims = list(value.dims)
        for p in positions:
            dims.insert(p, 1)
        return [Fill(np.expand_dims(value.base, tuple(positions)), tuple(dims))]
    if isinstance(value, Data):
        axes_out = list(value.axes)
        for p in positions:
            axes_out.insert(p, ONE)
        return [replace(value, axes=tuple(axes_out))]
    raise ctx.fail(node, "unsqueezes a value that lstm-cli cannot follow")


def op_squeeze(ctx: Context, node: Any, ins: list[Value | None], attrs: dict[str, Any]) -> list[Value]:
    value = required(ctx, node, ins, 0)
    size = rank(value)
    given = attrs.get("axes") if "axes" in attrs else (ins[1] if len(ins) > 1 else None)
    axes = given if isinstance(given, list) or given is None else int_list(ctx, node, given, "axes")
    if isinstance(value, Const):
        shape = value.array.shape
        chosen = [k for k in range(size) if shape[k] == 1] if axes is None else axes
        return [Const(np.squeeze(value.array, tuple(axis_index(ctx, node, a, size) for a in chosen)))]
    if isinstance(value, Fill):
        chosen = [k for k, d in enumerate(value.dims) if d == 1] if axes is None else axes
        drop = {axis_index(ctx, node, a, size) for a in chosen}
        if any(value.dims[k] != 1 for k in drop):
            raise ctx.fail(node, "squeezes an axis whose size is not 1")
        keep = [k for k in range(size) if k not in drop]
        return [
            Fill(value.base.reshape([value.base.shape[k] for k in keep]), tuple(value.dims[k] for k in keep))
        ]
    if isinstance(value, Data):
        if axes is None:
            drop = {
                k for k, axis in enumerate(value.axes) if axis.kind in ("one", "direction") and axis.size == 1
            }
        else:
            drop = {axis_index(ctx, node, a, size) for a in axes}
        for k in drop:
            axis = value.axes[k]
            if axis.kind not in ("one", "direction") or axis.size != 1:
                raise ctx.fail(node, f"squeezes axis {k} of {ctx.shape_text(value)}, which lstm-cli keeps")
        return [replace(value, axes=tuple(a for k, a in enumerate(value.axes) if k not in drop))]
    raise ctx.fail(node, "squeezes a value that lstm-cli cannot follow")


def op_concat(ctx: Context, node: Any, ins: list[Value | None], attrs: dict[str, Any]) -> list[Value]:
    values = [value for value in ins if value is not None]
    if not values:
        raise ctx.fail(node, "concatenates nothing")
    axis = int(attrs.get("axis", 0))
    if all(isinstance(v, Const) for v in values):
        arrays = [v.array for v in values if isinstance(v, Const)]
        try:
            joined = np.concatenate(arrays, axis=axis)
        except (ValueError, np.exceptions.AxisError) as exc:
            raise ctx.fail(node, f"cannot concatenate: {exc}") from None
        return [small(ctx, node, joined)]
    if all(isinstance(v, Const | ShapeOf) and rank(v) == 1 for v in values):
        dims: list[Dim] = []
        for v in values:
            dims += list(dims_of(ctx, node, v, "a shape"))
        return [ShapeOf(tuple(dims))]
    if all(isinstance(v, Data | Stack) for v in values):
        return [concat_data(ctx, node, values, axis)]
    raise ctx.fail(node, "concatenates values of different kinds (constants and computed ones)")


def concat_data(ctx: Context, node: Any, values: list[Value], axis: int) -> Value:
    """A bidirectional layer's two halves side by side (its concat merge), or states stacked on a unit axis
    (torch's h_n of a stack), which only a graph output may be."""
    items: list[Data] = []
    for value in values:
        items += list(value.items) if isinstance(value, Stack) else [value] if isinstance(value, Data) else []
    size = len(items[0].axes)
    if any(len(item.axes) != size for item in items):
        raise ctx.fail(node, "concatenates values of different ranks")
    k = axis_index(ctx, node, axis, size)
    if all(item.axes[k].kind in ("one", "direction") for item in items):
        return Stack(tuple(items), k)
    first, *rest = items
    halves = [item.source.halves for item in items]
    if (
        k == size - 1
        and halves == [("forward",), ("backward",)]
        and all(
            item.source.owner == first.source.owner
            and item.source.part == first.source.part
            and item.axes[:-1] == first.axes[:-1]
            and item.flipped == first.flipped
            for item in rest
        )
    ):
        width = sum(item.axes[-1].size for item in items)
        source = replace(first.source, halves=("forward", "backward"), merge="concat")
        return Data((*first.axes[:-1], Axis("feature", width)), source, first.flipped)
    raise ctx.fail(
        node,
        "concatenates computed values; lstm-cli concatenates only a bidirectional layer's forward and "
        "backward halves along the features (its merge_mode concat)",
    )


def required(ctx: Context, node: Any, ins: list[Value | None], index: int) -> Value:
    value = ins[index] if index < len(ins) else None
    if value is None:
        raise ctx.fail(node, f"input {index} is missing")
    return value
