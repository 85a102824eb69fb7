"""The torch modes a notebook sets globally and tests depend on: default dtype and grad mode.

In a student's kernel, tests run in whatever mode the notebook left (``metalearning`` sets
float64 as the default dtype). Under the engine the notebook runs in the sandbox and the tests
here, so the mode is mirrored: the judge adopts the sandbox's mode before each test case, each
call carries the judge's mode into the sandbox and the sandbox's mode after the call back out.
"""

from __future__ import annotations

from typing import Any

import torch

DEFAULT_DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16,
                  "float32": torch.float32, "float64": torch.float64}
_NAMES = {v: k for k, v in DEFAULT_DTYPES.items()}


def torch_state() -> dict:
    return {"dtype": _NAMES.get(torch.get_default_dtype(), "float32"), "grad": torch.is_grad_enabled()}


def set_torch_state(state: Any) -> None:
    """Adopt a mode sent by the other side; anything malformed is ignored."""
    if type(state) is not dict:
        return
    dtype = DEFAULT_DTYPES.get(state.get("dtype"))
    if dtype is not None:
        torch.set_default_dtype(dtype)
    if type(state.get("grad")) is bool:
        torch.set_grad_enabled(state["grad"])


def reset_torch_state() -> None:
    set_torch_state({"dtype": "float32", "grad": True})
