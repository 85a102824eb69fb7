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


def fine_grained_prune(*args, **kwargs):
    return _steal('fine_grained_prune', args, kwargs)


def get_num_channels_to_keep(*args, **kwargs):
    return _steal('get_num_channels_to_keep', args, kwargs)


def channel_prune(*args, **kwargs):
    return _steal('channel_prune', args, kwargs)


def get_input_channel_importance(*args, **kwargs):
    return _steal('get_input_channel_importance', args, kwargs)


def apply_channel_sorting(*args, **kwargs):
    return _steal('apply_channel_sorting', args, kwargs)
