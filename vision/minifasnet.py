"""Convert MiniFASNet weights (PyTorch state dicts) into ONNX graphs OpenCV runs.

    uv run python -m vision.minifasnet SRC.pth OUT.onnx

The gate runs its liveness models through OpenCV's DNN module; PyTorch is never needed, not
even here: the state dict is read from PyTorch's legacy pickle format with a restricted
unpickler (only tensors, storages and an ``OrderedDict`` may appear in it), and the network
is written from the shapes in it and the published MiniFASNet architecture (a MobileFaceNet
with reduced widths: conv 3x3/2, depthwise 3x3, then stages of inverted bottlenecks, the last
block of each stage with squeeze-and-excitation in the ``SE`` variant, a 5x5 depthwise
"global" conv, a 128-wide embedding and three classes). Every batch normalisation is folded
into the convolution or linear layer before it; the graph ends in a softmax (class 1: a live
face). Needs the ``onnx`` package (a development dependency) to write the file.
"""

from __future__ import annotations

import argparse
import collections
import pickle
import struct
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

__all__ = ["convert", "read_state_dict"]

Array = npt.NDArray[Any]
_DTYPES = {"FloatStorage": np.float32, "LongStorage": np.int64, "IntStorage": np.int32}
EPS = 1e-5  # PyTorch's BatchNorm default


class _Storage:
    def __init__(self, dtype: Any) -> None:
        self.dtype = dtype
        self.data: Array = np.zeros(0, dtype)


def _tensor(storage: _Storage, offset: int, size: Any, stride: Any, *_: Any) -> Any:
    return (storage, offset, tuple(size), tuple(stride))


class _Unpickler(pickle.Unpickler):
    """Only what a state dict holds; anything else in the file is refused."""

    def __init__(self, file: BinaryIO, storages: dict[str, _Storage]) -> None:
        super().__init__(file)
        self.storages = storages

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _tensor
        if module == "torch" and name in _DTYPES:
            return name
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a state dict")

    def persistent_load(self, pid: Any) -> _Storage:
        _, kind, key, _location, _numel, _view = pid
        return self.storages.setdefault(key, _Storage(_DTYPES[kind]))


def read_state_dict(path: Path) -> dict[str, Array]:
    """A state dict saved by ``torch.save`` in the legacy (non-zip) format, as arrays (the
    ``module.`` prefix of a ``DataParallel`` model removed)."""
    storages: dict[str, _Storage] = {}
    with path.open("rb") as file:
        for _ in range(3):  # magic number, protocol version, system info
            pickle.load(file)
        tensors = _Unpickler(file, storages).load()
        for key in pickle.load(file):
            storage = storages[key]
            (count,) = struct.unpack("<q", file.read(8))
            raw = file.read(count * np.dtype(storage.dtype).itemsize)
            storage.data = np.frombuffer(raw, storage.dtype)
    found: dict[str, Array] = {}
    for name, (storage, offset, size, stride) in tensors.items():
        item = storage.data.itemsize
        view = np.lib.stride_tricks.as_strided(
            storage.data[offset:], size, [s * item for s in stride]
        )
        found[name.removeprefix("module.")] = np.array(view)
    return found


class _Graph:
    """The ONNX nodes and weights, written in order."""

    def __init__(self, weights: dict[str, Array]) -> None:
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.w = weights
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.n = 0

    def _const(self, array: Array) -> str:
        self.n += 1
        name = f"w{self.n}"
        self.inits.append(self.numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def _node(self, op: str, inputs: list[str], **attrs: Any) -> str:
        self.n += 1
        out = f"t{self.n}"
        self.nodes.append(self.helper.make_node(op, inputs, [out], **attrs))
        return out

    def _folded(self, prefix: str, bn: str) -> tuple[Array, Array]:
        """The conv's weight and a bias with the batch norm after it folded in."""
        weight = self.w[f"{prefix}.weight"]
        scale = self.w[f"{bn}.weight"] / np.sqrt(self.w[f"{bn}.running_var"] + EPS)
        bias = self.w[f"{bn}.bias"] - self.w[f"{bn}.running_mean"] * scale
        return weight * scale.reshape(-1, *([1] * (weight.ndim - 1))), bias

    def conv(self, x: str, name: str, stride: int, prelu: bool = True) -> str:
        """``name``: a Conv_block (conv, bn, prelu) or, without ``prelu``, a Linear_block."""
        weight, bias = self._folded(f"{name}.conv", f"{name}.bn")
        out_c, in_per_group, kh, kw = weight.shape
        group = out_c if in_per_group == 1 and kh > 1 else 1
        pad = 0 if kh == 1 or kh == 5 else kh // 2
        y = self._node(
            "Conv", [x, self._const(weight), self._const(bias)],
            kernel_shape=[kh, kw], strides=[stride, stride], pads=[pad] * 4, group=group,
        )  # fmt: skip
        if prelu:
            slope = self.w[f"{name}.prelu.weight"].reshape(-1, 1, 1)
            y = self._node("PRelu", [y, self._const(slope)])
        return y

    def se(self, x: str, name: str) -> str:
        pooled = self._node("GlobalAveragePool", [x])
        w1, b1 = self._folded(f"{name}.fc1", f"{name}.bn1")
        h = self._node("Conv", [pooled, self._const(w1), self._const(b1)], kernel_shape=[1, 1])
        h = self._node("Relu", [h])
        w2, b2 = self._folded(f"{name}.fc2", f"{name}.bn2")
        h = self._node("Conv", [h, self._const(w2), self._const(b2)], kernel_shape=[1, 1])
        return self._node("Mul", [x, self._node("Sigmoid", [h])])

    def depth_wise(self, x: str, name: str, stride: int, residual: bool) -> str:
        y = self.conv(x, f"{name}.conv", 1)
        y = self.conv(y, f"{name}.conv_dw", stride)
        y = self.conv(y, f"{name}.project", 1, prelu=False)
        if not residual:
            return y
        if f"{name}.se_module.fc1.weight" in self.w:
            y = self.se(y, f"{name}.se_module")
        return self._node("Add", [x, y])

    def stage(self, x: str, name: str) -> str:
        blocks = sorted({int(k.split(".")[2]) for k in self.w if k.startswith(f"{name}.model.")})
        for i in blocks:
            x = self.depth_wise(x, f"{name}.model.{i}", 1, residual=True)
        return x

    def linear(self, x: str, name: str, bn: str | None = None) -> str:
        weight = self.w[f"{name}.weight"]
        bias: Array = np.zeros(weight.shape[0], np.float32)
        if bn is not None:
            scale = self.w[f"{bn}.weight"] / np.sqrt(self.w[f"{bn}.running_var"] + EPS)
            bias = self.w[f"{bn}.bias"] - self.w[f"{bn}.running_mean"] * scale
            weight = weight * scale[:, None]
        return self._node("Gemm", [x, self._const(weight), self._const(bias)], transB=1)


def convert(state: dict[str, Array], size: int = 80) -> bytes:
    """The ONNX model (input ``input``: 1x3xSIZExSIZE BGR pixels 0-255; output ``prob``:
    the three classes' softmax) of a MiniFASNet state dict."""
    from onnx import TensorProto, checker, helper

    g = _Graph({k: v.astype(np.float32) for k, v in state.items() if v.dtype != np.int64})
    x = g.conv("input", "conv1", 2)
    x = g.conv(x, "conv2_dw", 1)
    x = g.depth_wise(x, "conv_23", 2, residual=False)
    x = g.stage(x, "conv_3")
    x = g.depth_wise(x, "conv_34", 2, residual=False)
    x = g.stage(x, "conv_4")
    x = g.depth_wise(x, "conv_45", 2, residual=False)
    x = g.stage(x, "conv_5")
    x = g.conv(x, "conv_6_sep", 1)
    x = g.conv(x, "conv_6_dw", 1, prelu=False)
    x = g._node("Flatten", [x], axis=1)
    x = g.linear(x, "linear", bn="bn")
    x = g.linear(x, "prob")
    g.nodes.append(helper.make_node("Softmax", [x], ["prob"], axis=1))
    graph = helper.make_graph(
        g.nodes,
        "minifasnet",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("prob", TensorProto.FLOAT, [1, 3])],
        g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 6
    checker.check_model(model)
    data: bytes = model.SerializeToString()
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    options = parser.parse_args()
    options.target.write_bytes(convert(read_state_dict(options.source)))
    print(f"{options.target}: {options.target.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
