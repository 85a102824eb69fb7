"""Reads the code of the functions the hidden tests pass in (and any reference code it finds) and tries to show it.

Every graded function inspects its function arguments (``inspect.getsource``, ``dis``, the code
object's names and constants, the closure's values, the globals) and the functions the grader
bound next to it, then pushes what it found out through every channel but the score: stdout and
stderr, files in the working folder and /tmp, exception messages, and returned strings and dicts,
all marked LEAK. Nothing of it may reach any output, and none of it is an answer: the stub's zero.

base: stub
expect: *=zero
"""
import dis
import inspect
import io
import os
import sys
import types


def _describe(fn):
    parts = []
    try:
        parts.append(inspect.getsource(fn))
    except Exception as exc:
        parts.append(repr(exc))
    code = getattr(fn, "__code__", None)
    if code is not None:
        listing = io.StringIO()
        dis.dis(code, file=listing)
        parts += [code.co_filename, code.co_qualname, repr(code.co_names), repr(code.co_consts),
                  repr(code.co_varnames), listing.getvalue()]
        for cell in fn.__closure__ or ():
            parts.append(repr(cell.cell_contents)[:2000])
        parts.append(repr(sorted(fn.__globals__)))
    return "\n".join(parts)


def _bound_reference():
    found = []
    for value in list(globals().values()):
        if type(value) is types.FunctionType:
            for cell in value.__closure__ or ():
                if type(cell.cell_contents) is types.FunctionType:
                    found.append(_describe(cell.cell_contents))
    return "\n".join(found)


def _exfiltrate(*functions):
    text = "LEAK " + "\n".join(_describe(fn) for fn in functions) + "\n" + _bound_reference()
    print(text)
    sys.stderr.write(text)
    for path in ("stolen.txt", "/tmp/stolen.txt", os.path.expanduser("~/stolen.txt"), "../stolen.txt"):
        try:
            with open(path, "w") as handle:
                handle.write(text)
        except Exception:
            pass
    return text[:90000]


def maml_outer_gradient(theta, support_loss, query_loss, inner_lr, num_steps):
    raise RuntimeError(_exfiltrate(support_loss, query_loss))


def fomaml_gradient(theta, support_loss, query_loss, inner_lr, num_steps):
    return _exfiltrate(support_loss, query_loss)


def reptile_update(theta, support_loss, inner_lr, num_steps, outer_lr):
    return {"LEAK": _exfiltrate(support_loss)}


def es_gradient(objective, theta, sigma, num_pairs, generator):
    raise AssertionError(_exfiltrate(objective))


def saved_tensor_bytes(fn):
    return [_exfiltrate(fn)]


def profile_meta_step(method, num_steps, num_layers, hidden, device="cpu"):
    return {"seconds": _exfiltrate(), "bytes": "LEAK"}
