"""Global torch state that student code can leave behind: saved-tensors hooks.

Used by the hidden checks (after calling a student's function in the kernel) and by the grading
engine's sandbox runtime (after every call it serves). Nothing here is secret.
"""

from __future__ import annotations

import torch

_top_hooks = getattr(torch._C._autograd, "_top_saved_tensors_default_hooks", None)
_pop_hooks = getattr(torch._C._autograd, "_pop_saved_tensors_default_hooks", None)


def hooks_active() -> bool:
    """Whether a default saved-tensors hook pair is active (a saved tensor gets packed by it)."""
    if _top_hooks is not None:
        try:
            return _top_hooks(False) is not None
        except Exception:  # noqa: BLE001 - private API: fall back to the behavioural test
            pass
    a = torch.ones(2, requires_grad=True)
    b = torch.ones(2, requires_grad=True)
    with torch.enable_grad():
        node = (a * b).grad_fn
    try:
        node._raw_saved_self.register_hooks(lambda t: t, lambda t: t)
    except RuntimeError:  # "hooks have already been set": a default hook packed it
        return True
    return False


_hooks_disabled = getattr(torch._C._autograd, "_saved_tensors_hooks_get_disabled_error_message", None)
_enable_hooks = getattr(torch._C._autograd, "_saved_tensors_hooks_enable", None)


def remove_leaked_hooks() -> None:
    """Pop every active default saved-tensors hook pair (none is active while grading), and
    re-enable saved-tensors hooks if student code disabled them. Hygiene only: whether a
    submission leaked hooks is judged from what its functions return, never from this."""
    if _hooks_disabled is not None and _enable_hooks is not None and _hooks_disabled() is not None:
        _enable_hooks()
    for _ in range(1000):
        if _pop_hooks is None or not hooks_active():
            return
        _pop_hooks()
