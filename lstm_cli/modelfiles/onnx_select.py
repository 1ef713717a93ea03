"""The glue ops that pick parts of a value or merge them: Gather and Slice (a step, a direction, a part of a
shape), Reshape (a bidirectional LSTM's halves side by side, unit axes in and out), and ReduceSum,
ReduceMean and ReduceProd over an LSTM's direction axis (its halves merged as Keras's `sum`, `ave`,
`mul`).

A step picked from an LSTM's sequence is one of its references only when it is the last step the LSTM
processed: then it is the layer's final state. For a forward LSTM that is step -1; for a reverse one
(whose Y ONNX gives in input order) step 0.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from lstm_cli.modelfiles.onnx_values import (
    BIG,
    ONE,
    Axis,
    Const,
    Context,
    Data,
    Dim,
    Fill,
    ShapeOf,
    Source,
    Value,
    article,
    axis_index,
    dims_of,
    dims_of_data,
    int_list,
    rank,
    required,
    small,
)

MERGES = {"ReduceSum": "sum", "ReduceMean": "ave", "ReduceProd": "mul"}
HALVES = ("forward", "backward")


def op_gather(ctx: Context, node: Any, ins: list[Value | None], attrs: dict[str, Any]) -> list[Value]:
    data = required(ctx, node, ins, 0)
    indices = required(ctx, node, ins, 1)
    axis = int(attrs.get("axis", 0))
    index = int_list(ctx, node, indices, "indices")
    scalar = rank(indices) == 0
    if isinstance(data, ShapeOf):
        try:
            picked = tuple(data.dims[k] for k in index)
        except IndexError:
            raise ctx.fail(node, f"indices {index} lie outside a shape of {len(data.dims)} axes") from None
        return [ShapeOf(picked, scalar=scalar)]
    if isinstance(data, Const):
        try:
            taken = np.take(data.array, np.asarray(index).reshape(() if scalar else (-1,)), axis=axis)
        except (IndexError, ValueError, np.exceptions.AxisError) as exc:
            raise ctx.fail(node, f"cannot gather: {exc}") from None
        return [small(ctx, node, np.asarray(taken))]
    if isinstance(data, Data) and len(index) == 1:
        k = axis_index(ctx, node, axis, len(data.axes))
        return [pick(ctx, node, data, k, index[0], keep=not scalar)]
    raise ctx.fail(
        node, "gathers from a value in a way lstm-cli cannot follow (one index of a computed value)"
    )


def pick(ctx: Context, node: Any, data: Data, k: int, index: int, keep: bool) -> Data:
    """One entry along axis k: of a unit axis, of the direction axis (a half), or of time (the final
    state). `keep`: the axis stays, of size 1 (Slice, Gather with a list of one index)."""
    axis = data.axes[k]
    source = data.source
    kept = Axis("direction", 1) if axis.kind == "direction" else ONE
    if axis.size == 1 and axis.kind in ("one", "direction"):
        if index not in (0, -1):
            raise ctx.fail(node, f"picks index {index} of an axis of size 1")
        kept = axis
    elif axis.kind == "direction":
        if source.halves != HALVES or source.merge is not None or index not in (0, 1, -1, -2):
            raise ctx.fail(node, f"picks index {index} of an LSTM's direction axis of size {axis.size}")
        source = replace(source, halves=(HALVES[index % 2],))
    elif axis.kind == "label" and ctx.labels.role_of(axis.label) == "time":
        source = final_step(ctx, node, data, index, axis)
        data = replace(data, flipped=False)
    else:
        what = "a sample of the batch" if axis.kind == "label" else f"feature {index}"
        raise ctx.fail(
            node, f"picks {what} of {ctx.shape_text(data)}; lstm-cli keeps every sample and feature"
        )
    axes = list(data.axes)
    if keep:
        axes[k] = kept
    else:
        del axes[k]
    return Data(tuple(axes), source, data.flipped)


def final_step(ctx: Context, node: Any, data: Data, index: int, axis: Axis) -> Source:
    """The state of the LSTM whose sequence `data` is, if `index` is the step it processed last."""
    source = data.source
    if source.part != "seq" or len(source.halves) > 1:
        raise ctx.fail(
            node,
            f"picks step {index} of {ctx.shape_text(data)}; lstm-cli gives a whole sequence, or one LSTM's "
            "final state (the step it processed last)",
        )
    backward = source.halves == ("backward",)
    last = backward == data.flipped  # the final state is the last step, else the first (input order)
    size = ctx.labels.fixed(axis.label)
    wanted = -1 if last else 0
    if index == wanted or (size is not None and index % size == wanted % size and -size <= index < size):
        return Source(source.owner, "h", source.halves)
    where = "last" if last else "first"
    raise ctx.fail(
        node,
        f"picks step {index} of an LSTM's sequence; lstm-cli gives the whole sequence, or the final state, "
        f"which is the {where} step here (index {wanted})",
    )


def op_slice(ctx: Context, node: Any, ins: list[Value | None], attrs: dict[str, Any]) -> list[Value]:
    value = required(ctx, node, ins, 0)
    if ctx.model.opset < 10:
        starts, ends = list(attrs.get("starts", [])), list(attrs.get("ends", []))
        axes = list(attrs.get("axes", range(len(starts))))
        steps = [1] * len(starts)
    else:
        starts = int_list(ctx, node, ins[1] if len(ins) > 1 else None, "starts")
        ends = int_list(ctx, node, ins[2] if len(ins) > 2 else None, "ends")
        given_axes = ins[3] if len(ins) > 3 else None
        axes = int_list(ctx, node, given_axes, "axes") if given_axes is not None else list(range(len(starts)))
        given_steps = ins[4] if len(ins) > 4 else None
        steps = int_list(ctx, node, given_steps, "steps") if given_steps is not None else [1] * len(starts)
    if not len(starts) == len(ends) == len(axes) == len(steps) or 0 in steps:
        raise ctx.fail(node, "starts, ends, axes and steps differ in length, or a step is 0")
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        value = _slice_axis(ctx, node, value, axis_index(ctx, node, axis, rank(value)), start, end, step)
    return [value]


def _slice_axis(ctx: Context, node: Any, value: Value, k: int, start: int, end: int, step: int) -> Value:
    if isinstance(value, Const):
        index: list[slice] = [slice(None)] * value.array.ndim
        index[k] = slice(start, end, step)
        return Const(value.array[tuple(index)])
    if isinstance(value, ShapeOf) and not value.scalar:
        return ShapeOf(value.dims[start:end:step])
    if isinstance(value, Fill):
        return _slice_fill(ctx, node, value, k, start, end, step)
    if isinstance(value, Data):
        axis = value.axes[k]
        size = axis.size if axis.kind != "label" else ctx.labels.fixed(axis.label)
        kind, at = _classify(ctx, node, size, start, end, step)
        if kind == "all":
            return value
        if kind == "one":
            return pick(ctx, node, value, k, at, keep=True)
        if axis.kind == "label" and ctx.labels.reversible(axis.label):
            return replace(value, flipped=not value.flipped)
        raise ctx.fail(node, f"reverses axis {k} of {ctx.shape_text(value)}; lstm-cli reverses only time")
    raise ctx.fail(node, "slices a value that lstm-cli cannot follow")


def _classify(ctx: Context, node: Any, size: int | None, start: int, end: int, step: int) -> tuple[str, int]:
    """A slice of an axis as lstm-cli can follow it: all of it, all of it reversed, or one index."""
    if size is not None:
        picked = range(*slice(start, end, step).indices(size))
        if len(picked) == size and picked.step == 1:
            return "all", 0
        if len(picked) == size and picked.step == -1:
            return "reverse", 0
        if len(picked) == 1:
            return "one", picked[0]
    elif step == 1 and end >= BIG and (start == 0 or start <= -BIG):
        return "all", 0
    elif step == 1 and end >= BIG and start == -1:
        return "one", -1
    elif step == 1 and (start, end) == (0, 1):
        return "one", 0
    elif step == -1 and end <= -BIG and (start == -1 or start >= BIG):
        return "reverse", 0
    raise ctx.fail(
        node,
        f"slices {start}:{end}:{step}; lstm-cli follows a slice of a whole axis, of it reversed, or of one "
        "step",
    )


def _slice_fill(ctx: Context, node: Any, fill: Fill, k: int, start: int, end: int, step: int) -> Fill:
    dim = fill.dims[k]
    if isinstance(dim, str):
        if _classify(ctx, node, None, start, end, step) != ("all", 0):
            raise ctx.fail(node, "slices part of a batch or time axis of a constant-filled value")
        return fill
    picked = range(*slice(start, end, step).indices(dim))
    base = fill.base
    if base.shape[k] > 1:
        index: list[slice | list[int]] = [slice(None)] * base.ndim
        index[k] = list(picked)
        base = base[tuple(index)]
    dims = list(fill.dims)
    dims[k] = len(picked)
    return Fill(base, tuple(dims))


def op_reshape(ctx: Context, node: Any, ins: list[Value | None], attrs: dict[str, Any]) -> list[Value]:
    value = required(ctx, node, ins, 0)
    target = list(dims_of(ctx, node, ins[1] if len(ins) > 1 else None, "shape"))
    if not attrs.get("allowzero", 0):
        have = dims_of_data(value) if isinstance(value, Data) else None
        if isinstance(value, Const):
            have = tuple(int(d) for d in value.array.shape)
        if have is not None:
            target = [have[k] if d == 0 and k < len(have) else d for k, d in enumerate(target)]
    if isinstance(value, Const):
        if any(isinstance(d, str) for d in target):
            raise ctx.fail(node, "reshapes a constant to a shape that is not fixed")
        try:
            return [Const(value.array.reshape([int(d) for d in target]))]
        except ValueError as exc:
            raise ctx.fail(node, f"cannot reshape: {exc}") from None
    if isinstance(value, Data):
        return [_reshape_data(ctx, node, value, target)]
    raise ctx.fail(node, "reshapes a value that lstm-cli cannot follow")


def _reshape_data(ctx: Context, node: Any, data: Data, target: list[Dim]) -> Data:
    """Unit axes in and out, and a direction axis of two halves merged into the features after it (their
    concatenation); any other reshape mixes values that lstm-cli keeps apart."""
    if target.count(-1) > 1:
        raise ctx.fail(node, "shape has more than one -1")
    axes, out, source, i = data.axes, [], data.source, 0
    unit = {"one", "direction"}
    for d in target:
        while i < len(axes) and axes[i].kind in unit and axes[i].size == 1 and d != 1:
            i += 1
        a = axes[i] if i < len(axes) else None
        if a is not None and _matches(ctx, a, d):
            out.append(a)
            i += 1
        elif a is not None and a.kind == "direction" and _merges(axes, i, d):
            if source.halves != HALVES or source.merge is not None:
                raise ctx.fail(node, "merges a direction axis that does not hold both halves")
            source = replace(source, merge="concat")
            out.append(Axis("feature", 2 * axes[i + 1].size))
            i += 2
        elif d == 1:
            out.append(ONE)
        else:
            raise ctx.fail(
                node,
                f"reshapes {ctx.shape_text(data)} to {target}; lstm-cli follows a reshape that adds or "
                "removes unit axes, or puts a bidirectional LSTM's halves side by side",
            )
    while i < len(axes) and axes[i].kind in unit and axes[i].size == 1:
        i += 1
    if i != len(axes):
        raise ctx.fail(node, f"reshapes {ctx.shape_text(data)} to {target}, dropping axes lstm-cli keeps")
    return Data(tuple(out), source, data.flipped)


def _matches(ctx: Context, axis: Axis, d: Dim) -> bool:
    if axis.kind == "label":
        fixed = ctx.labels.fixed(axis.label)
        return d == -1 or ctx.labels.same(d, axis.label) or (isinstance(d, int) and d == fixed)
    return d == axis.size or (d == -1 and axis.kind == "feature")


def _merges(axes: tuple[Axis, ...], i: int, d: Dim) -> bool:
    following = axes[i + 1] if i + 1 < len(axes) else None
    return (
        axes[i].size == 2
        and following is not None
        and following.kind == "feature"
        and (d == -1 or d == 2 * following.size)
    )


def op_reduce(ctx: Context, node: Any, ins: list[Value | None], attrs: dict[str, Any]) -> list[Value]:
    """A bidirectional LSTM's halves summed, averaged or multiplied over its direction axis."""
    data = required(ctx, node, ins, 0)
    if "axes" in attrs:
        axes = list(attrs["axes"])
    else:
        axes = int_list(ctx, node, ins[1], "axes") if len(ins) > 1 and ins[1] is not None else []
    if isinstance(data, Data) and len(axes) == 1:
        k = axis_index(ctx, node, axes[0], len(data.axes))
        axis, source = data.axes[k], data.source
        if axis.kind == "direction" and source.halves == HALVES and source.merge is None:
            merged = replace(source, merge=MERGES[node.op_type])
            kept = list(data.axes)
            if attrs.get("keepdims", 1):
                kept[k] = ONE
            else:
                del kept[k]
            return [Data(tuple(kept), merged, data.flipped)]
    raise ctx.fail(
        node,
        f"is {article(node.op_type)} {node.op_type} op; lstm-cli reads it only over a bidirectional LSTM's "
        "direction axis (its "
        "halves merged)",
    )
