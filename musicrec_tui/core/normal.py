"""The standard normal CDF in numpy, so that a query does not import scipy (~250 ms of start-up).

`ndtr(x)` = P(Z <= x), evaluated as 0.5 * erfc(-x / sqrt(2)) with Cephes' rational approximations of erf and
erfc (relative error about 1e-15 over the range, the tail included, like scipy.special.ndtr which uses the
same ones). `ndtri(p)` is the inverse, for one probability (the stdlib's NormalDist).
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

_SQRT1_2 = 0.70710678118654752440
_MAXLOG = 7.09782712893383996843e2
_BIG = 1 << 18

# erfc(x) = exp(-x^2) P(x) / Q(x) for 1 <= x < 8; exp(-x^2) R(x) / S(x) for x >= 8 (Q and S: leading 1 implied)
_P = (2.46196981473530512524e-10, 5.64189564831068821977e-1, 7.46321056442269912687e0, 4.86371970985681366614e1,
      1.96520832956077098242e2, 5.26445194995477358631e2, 9.34528527171957607540e2, 1.02755188689515710272e3,
      5.57535335369399327526e2)
_Q = (1.32281951154744992508e1, 8.67072140885989742329e1, 3.54937778887819891062e2, 9.75708501743205489753e2,
      1.82390916687909736289e3, 2.24633760818710981792e3, 1.65666309194161350182e3, 5.57535340817727675546e2)
_R = (5.64189583547755073984e-1, 1.27536670759978104416e0, 5.01905042251180477414e0, 6.16021097993053585195e0,
      7.40974269950448939160e0, 2.97886665372100240670e0)
_S = (2.26052863220117276590e0, 9.39603524938001434673e0, 1.20489539808096656605e1, 1.70814450747565897222e1,
      9.60896809063285878198e0, 3.36907645100081516050e0)
# erf(x) = x T(x^2) / U(x^2) for |x| <= 1
_T = (9.60497373987051638749e0, 9.00260197203842689217e1, 2.23200534594684319226e3, 7.00332514112805075473e3,
      5.55923013010394962768e4)
_U = (3.35617141647503099647e1, 5.21357949780152679795e2, 4.59432382970980127987e3, 2.26290000613890934246e4,
      4.92673942608635921086e4)


def _poly(x: np.ndarray, coef: tuple[float, ...], leading_one: bool = False) -> np.ndarray:
    """Horner's rule; with `leading_one` the highest coefficient is an implied 1."""
    y = np.ones_like(x) if leading_one else np.full_like(x, coef[0])
    for c in coef if leading_one else coef[1:]:
        y = y * x + c
    return y


def _erf_small(x: np.ndarray) -> np.ndarray:
    z = x * x
    out: np.ndarray = x * _poly(z, _T) / _poly(z, _U, True)
    return out


def _erfc_large(x: np.ndarray, near: bool) -> np.ndarray:
    """erfc(x) for x >= 1: x < 8 (`near`) or x >= 8 (0 where it underflows)."""
    with np.errstate(under="ignore", over="ignore", invalid="ignore"):
        z = np.exp(-x * x)
        if near:
            out: np.ndarray = z * _poly(x, _P) / _poly(x, _Q, True)
            return out
        return np.where(x * x > _MAXLOG, 0.0, z * _poly(x, _R) / _poly(x, _S, True))


def ndtr(x: np.ndarray) -> np.ndarray:
    """Standard normal CDF, elementwise, float64 (NaN stays NaN).

    Large arrays (scoring a whole batch against the library) go to scipy when it is installed: 5x faster
    there, and its import cost no longer matters."""
    if np.size(x) >= _BIG:
        try:
            from scipy.special import ndtr as scipy_ndtr
        except ImportError:
            pass
        else:
            return np.asarray(scipy_ndtr(np.asarray(x, dtype=np.float64)))
    a = np.asarray(x, dtype=np.float64) * _SQRT1_2
    z = np.abs(a)
    out = np.empty_like(a)
    # |a| < 1/sqrt(2): 0.5 + 0.5 erf(a). Otherwise 0.5 erfc(|a|) (1 - erf below 1, as Cephes does), reflected
    # for a > 0.
    small = z < _SQRT1_2
    out[small] = 0.5 + 0.5 * _erf_small(a[small])
    mid = (z >= _SQRT1_2) & (z < 1.0)
    out[mid] = 0.5 * (1.0 - _erf_small(z[mid]))
    near = (z >= 1.0) & (z < 8.0)
    out[near] = 0.5 * _erfc_large(z[near], True)
    far = z >= 8.0
    out[far] = 0.5 * _erfc_large(z[far], False)
    flip = (a > 0) & ~small
    out[flip] = 1.0 - out[flip]
    out[np.isnan(a)] = np.nan
    return out


_STD = NormalDist()


def ndtri(p: float) -> float:
    """Inverse of the standard normal CDF for one probability in (0, 1); +-inf at the ends."""
    if p <= 0.0:
        return float("-inf")
    if p >= 1.0:
        return float("inf")
    return float(_STD.inv_cdf(p))
