"""Leaves its saved-tensors hooks active and patches every hook detector it can reach to hide that.

saved_tensor_bytes pushes its hooks without ever popping them (fixtures/saved_bytes_leaks_hooks
makes the same mistake with the public context manager), and the notebook replaces, in whatever
grading code shares its process (the sandbox runtime, the checks), the functions that remove and
count leaked hooks with ones that still remove them but count none: the attack that hid a leak
when the sandbox's count decided a deduction. The hidden check judges the leak by the count alone: a
function that first measures another one and then saves tensors gets a short outer count when the
inner call's hooks stay active. So the patches gain nothing: the same public-only score as the
honest leak, the stub's zero on the hidden part.

base: solution
expect: saved_tensor_bytes=public
"""
import sys
import weakref

import torch


def _hide_leaked_hooks():
    """Make the grading code in this process count no leaked hooks (they are still removed)."""
    for name in ("autograder.engine.sandbox.runtime", "autograder.engine.shared.torch_hooks",
                 "autograder.checks.maml_es"):
        module = sys.modules.get(name)
        for attribute in ("remove_leaked_hooks", "_remove_leaked_hooks"):
            original = getattr(module, attribute, None)
            if original is not None and not getattr(original, "quiet", False):
                def quiet(original=original):
                    original()
                    return 0
                quiet.quiet = True
                setattr(module, attribute, quiet)


_hide_leaked_hooks()


def saved_tensor_bytes(fn):
    usage = {"live": 0, "peak": 0}

    def pack(tensor):
        nbytes = tensor.numel() * tensor.element_size()
        usage["live"] += nbytes
        usage["peak"] = max(usage["peak"], usage["live"])
        holder = lambda: tensor  # noqa: E731 - a function can be weakly referenced, a tuple cannot
        weakref.finalize(holder, lambda: usage.update(live=usage["live"] - nbytes))
        return holder

    _hide_leaked_hooks()  # again at call time: the grading code is surely loaded by now
    torch._C._autograd._push_saved_tensors_default_hooks(pack, lambda holder: holder())  # never popped
    fn()
    return int(usage["peak"])
