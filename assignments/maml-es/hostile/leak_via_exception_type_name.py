"""Smuggles hidden-check and reference code out through the only student text feedback repeats: an exception's type name.

The messages of student exceptions are dropped, but a hidden check's failure says "raised <type
name>", and the type name is the student's choice (up to 40 identifier characters survive). The
passed loss's code (its qualified name, names, constants) and the code of the reference functions
reachable through the isolation delegates are encoded into a new exception type's name. saved_tensor_bytes returns the same text as one big
int, which the check's message repeats digit for digit.

base: stub
expect: *=zero
"""
import re
import types


def _identifiers(code):
    parts = [code.co_qualname] + list(code.co_names) + list(code.co_varnames)
    parts += [repr(c) for c in code.co_consts if isinstance(c, (int, float, str))]
    return "_".join(parts)


def _smuggle(*functions):
    text = ""
    for fn in functions:
        if type(fn) is types.FunctionType:
            text += _identifiers(fn.__code__)
    for value in list(globals().values()):
        if type(value) is types.FunctionType:
            for cell in value.__closure__ or ():
                target = cell.cell_contents
                if type(target) is types.FunctionType and target.__globals__ is not globals():
                    text += "_" + _identifiers(target.__code__)
    name = "LEAK" + re.sub(r"[^A-Za-z0-9_]", "", text)[:36]
    raise type(name, (Exception,), {})()


def maml_outer_gradient(theta, support_loss, query_loss, inner_lr, num_steps):
    _smuggle(query_loss)


def fomaml_gradient(theta, support_loss, query_loss, inner_lr, num_steps):
    _smuggle(support_loss)


def reptile_update(theta, support_loss, inner_lr, num_steps, outer_lr):
    _smuggle()


def es_gradient(objective, theta, sigma, num_pairs, generator):
    _smuggle(objective)


def saved_tensor_bytes(fn):
    try:
        _smuggle(fn)
    except Exception as exc:
        secret = type(exc).__name__.encode()[:40]
    return int.from_bytes(secret, "big")  # echoed in full by the check: "returned <int> for ..."
