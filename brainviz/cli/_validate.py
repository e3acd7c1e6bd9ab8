"""Numbers from the command line: finite, in range, said in the option's own words.

``float("nan")``, ``float("inf")`` and ``float("1e999")`` all parse; a figure
drawn with a NaN threshold or a cursor at infinity is blank, and a job run with
``--C inf`` wastes its time. Every numeric option goes through :func:`number`
(or its argparse ``type=`` form, :func:`number_type`), which accepts only
finite values inside the option's range.
"""
import argparse
import math

__all__ = ["number", "number_type", "numbers"]


def _range_text(low, high, low_open, high_open, integer):
    kind = "a whole number" if integer else "a finite number"
    if low == 0 and low_open and high is None:
        return f"a positive {'whole' if integer else 'finite'} number"
    if low is not None and high is not None:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        return f"{kind} in {left}{low:g}, {high:g}{right}"
    if low is not None:
        return f"{kind} {'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f"{kind} {'<' if high_open else '<='} {high:g}"
    return kind


def number(text, option, low=None, high=None, low_open=False, high_open=False, integer=False):
    """Parse ``text`` for ``option``; raise ParameterError naming the option and the range.

    ``None`` stays ``None`` (an option not given).
    """
    from ..exceptions import ParameterError

    if text is None:
        return None
    expected = _range_text(low, high, low_open, high_open, integer)
    try:
        value = int(str(text).strip()) if integer else float(text)
    except (TypeError, ValueError):
        raise ParameterError(f"{option} must be {expected}; got {text!r}") from None
    ok = math.isfinite(value) and abs(value) < 1e300
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        raise ParameterError(f"{option} must be {expected}; got {text!r}")
    return value


def numbers(text, option, count, **limits):
    """``"1,2,3"`` -> ``(1.0, 2.0, 3.0)``, each checked like :func:`number`."""
    from ..exceptions import ParameterError

    parts = str(text).split(",")
    if len(parts) != count:
        raise ParameterError(f"{option} must be {count} comma-separated finite numbers; "
                             f"got {text!r}")
    return tuple(number(p.strip(), option, **limits) for p in parts)


def number_type(option, **limits):
    """An argparse ``type=`` that checks like :func:`number` (error: usage + one line)."""

    def parse(text):
        from ..exceptions import ParameterError

        try:
            return number(text, option, **limits)
        except ParameterError as exc:
            raise argparse.ArgumentTypeError(str(exc).replace(f"{option} must", "must", 1)) \
                from None

    parse.__name__ = "number"  # argparse names the type in some messages
    return parse
