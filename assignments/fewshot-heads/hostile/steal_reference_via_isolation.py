"""Answers nothing itself: when graded, calls the reference implementation reached through the isolation delegates.

The hidden checks grade each function in isolation: the other graded names in its globals are
bound, inside the sandbox, to delegates of functions of the reference module, executed there from
its source. The attack hopes a delegate's closure holds a reference function whose globals hold every
reference function, the one under test included; what is found is also kept for later questions.

base: stub
expect: *=zero
"""
import types

_STOLEN = {}


def _steal(name, args, kwargs):
    for value in list(globals().values()):
        if type(value) is not types.FunctionType:
            continue
        for cell in value.__closure__ or ():
            try:
                target = cell.cell_contents
            except ValueError:
                continue
            if type(target) is not types.FunctionType or target.__globals__ is globals():
                continue
            for key, item in target.__globals__.items():
                if type(item) is types.FunctionType and str(item.__module__).startswith("_isolation"):
                    _STOLEN.setdefault(key, item)
    reference = _STOLEN.get(name)
    return None if reference is None else reference(*args, **kwargs)


def ridge_head(*args, **kwargs):
    return _steal('ridge_head', args, kwargs)


def r2d2_logits(*args, **kwargs):
    return _steal('r2d2_logits', args, kwargs)


def crammer_singer_qp(*args, **kwargs):
    return _steal('crammer_singer_qp', args, kwargs)


def anil_outer_gradient(*args, **kwargs):
    return _steal('anil_outer_gradient', args, kwargs)


def multitask_heads_loss(*args, **kwargs):
    return _steal('multitask_heads_loss', args, kwargs)
