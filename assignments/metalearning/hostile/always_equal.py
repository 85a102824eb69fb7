"""Returns objects that claim to equal anything and to be any array (the __eq__ trick).

base: stub
expect: *=zero
"""
import numpy as np


class Anything(np.ndarray):
    def __eq__(self, other):
        return True

    __ne__ = lambda self, other: False
    __array_priority__ = 1e9

    def __array_ufunc__(self, *args, **kwargs):
        return True


class Liar:
    shape = (3,)
    dtype = np.float64

    def __eq__(self, other):
        return True

    def __float__(self):
        return 0.0

    def __array__(self, *args, **kwargs):
        return np.zeros(3)


def min_norm_solution(A, y):
    return np.zeros(A.shape[1]).view(Anything)


def alias_test_error(c):
    return Liar()


def classification_error(scores, labels):
    return Liar()
