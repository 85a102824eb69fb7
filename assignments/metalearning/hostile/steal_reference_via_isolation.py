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


def min_norm_solution(*args, **kwargs):
    return _steal('min_norm_solution', args, kwargs)


def weighted_min_norm(*args, **kwargs):
    return _steal('weighted_min_norm', args, kwargs)


def alias_test_error(*args, **kwargs):
    return _steal('alias_test_error', args, kwargs)


def alias_c_gradient(*args, **kwargs):
    return _steal('alias_c_gradient', args, kwargs)


def gradient_descent_c(*args, **kwargs):
    return _steal('gradient_descent_c', args, kwargs)


def fourier_features(*args, **kwargs):
    return _steal('fourier_features', args, kwargs)


def closed_form_coefficients(*args, **kwargs):
    return _steal('closed_form_coefficients', args, kwargs)


def meta_loss_closed_form(*args, **kwargs):
    return _steal('meta_loss_closed_form', args, kwargs)


def inner_gd_coefficients(*args, **kwargs):
    return _steal('inner_gd_coefficients', args, kwargs)


def logistic_loss(*args, **kwargs):
    return _steal('logistic_loss', args, kwargs)


def classification_error(*args, **kwargs):
    return _steal('classification_error', args, kwargs)
