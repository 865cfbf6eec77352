"""Flag parsing shared by several ``dfi`` commands."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import click

from harness.jobs.choices import GROUPINGS

__all__ = ["GROUPINGS", "PROFILE_HELP", "Threshold", "crop_choice", "crop_options", "executor_options", "fmt_number",
           "key_values", "ports", "profile_choice", "rates"]

PROFILE_HELP = ("a profile set for every vendor (default; study-2020: fitted to the study's answers; "
                "study-2020/DATASET: one dataset's behaviour), or VENDOR=FILE, a YAML override of one vendor")


def crop_options(help_crop: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--crop [faceplugin|mtcnn]`` (a bare ``--crop``: faceplugin) and ``--no-crop``; see :func:`crop_choice`."""
    from harness.jobs.choices import CROPPERS

    def wrap(f: Callable[..., Any]) -> Callable[..., Any]:
        f = click.option("--no-crop", is_flag=True, help="send the whole image, uncropped")(f)
        return click.option("--crop", "crop", type=click.Choice(list(CROPPERS)), default="faceplugin",
                            show_default=True, is_flag=False, flag_value="faceplugin", help=help_crop)(f)
    return wrap


def executor_options(where: str, workers: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--executor local|ray|ray=ADDRESS`` (parsed by :func:`harness.distributed.cluster.parse_executor`) and,
    when ``workers`` says what a worker does, ``--workers N``. ``where``: what the executor runs."""

    def wrap(f: Callable[..., Any]) -> Callable[..., Any]:
        if workers is not None:
            f = click.option("--workers", type=click.IntRange(1, 100_000), default=None,
                             help=f"ray: {workers} at once (default: the cluster's CPUs)")(f)
        return click.option("--executor", default="local", show_default=True, metavar="local|ray|ray=ADDRESS",
                            help=f"where {where}: this process, a local Ray instance on this machine's CPUs, or a "
                                 "Ray cluster (needs the ray extra)")(f)
    return wrap


def crop_choice(crop: str, no_crop: bool) -> bool | str:
    """What the jobs take: False for --no-crop, else the cropper's name."""
    return False if no_crop else crop


def key_values(items: tuple[str, ...], what: str, cast: Callable[[str], Any] = float,
               valid: Callable[[Any], bool] = lambda value: True, expect: str = "a number") -> dict[str, Any]:
    """``("aws=5", "ms=2")`` -> ``{"aws": 5, "ms": 2}``. A usage error names the flag when an item is
    not ``VENDOR=VALUE``, the vendor is unknown, or the value does not cast or is not ``valid``
    (``expect`` says what is: "a port (1-65535)")."""
    from harness.vendors import registry

    out: dict[str, Any] = {}
    for item in items:
        k, sep, v = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r}: expected VENDOR=VALUE", param_hint=what)
        vendor = k.strip().lower()
        if vendor not in registry.names():
            raise click.BadParameter(f"{item!r}: {k.strip()!r} is not a vendor ({', '.join(registry.names())})",
                                     param_hint=what)
        try:
            value = cast(v)
        except ValueError:
            value = None
        if value is None or (isinstance(value, float) and not math.isfinite(value)) or not valid(value):
            raise click.BadParameter(f"{item!r}: {v.strip()!r} is not {expect}", param_hint=what)
        out[vendor] = value
    return out


def ports(items: tuple[str, ...], what: str = "--port") -> dict[str, int]:
    """``--port VENDOR=PORT`` values (1-65535)."""
    return key_values(items, what, int, lambda p: 1 <= p <= 65535, "a port (1-65535)")


def rates(items: tuple[str, ...], what: str = "--rate") -> dict[str, float]:
    """``--rate VENDOR=CALLS_PER_SECOND`` values (positive)."""
    return key_values(items, what, float, lambda r: r > 0, "a positive number of calls per second")


def profile_choice(items: tuple[str, ...], vendors: tuple[str, ...] | list[str], what: str = "--profile"
                   ) -> dict[str, str]:
    """``--profile`` values -> vendor -> what :func:`mockvendors.profile.load_profile` takes: a profile
    set name (``study-2020``) applies to every vendor, a ``VENDOR=FILE`` item to that vendor (it wins)."""
    from harness.vendors import registry
    from mockvendors.profile import DEFAULT_SET, NAMED_SETS, is_named_profile

    out: dict[str, str] = {}
    files: dict[str, str] = {}
    for item in items:
        vendor, sep, file = item.partition("=")
        if not sep:
            if not is_named_profile(item):
                raise click.BadParameter(f"{item!r}: expected VENDOR=FILE or a profile set "
                                         f"({', '.join([DEFAULT_SET, *NAMED_SETS])})", param_hint=what)
            out = {v: item for v in vendors}
            continue
        vendor = vendor.strip().lower()
        if vendor not in registry.names():
            raise click.BadParameter(f"{item!r}: use VENDOR=FILE with VENDOR one of {', '.join(registry.names())}",
                                     param_hint=what)
        files[vendor] = file
    return {**out, **files}


class Threshold(click.FloatRange):
    """A threshold on 0-100. FloatRange alone lets "nan" through (every comparison with NaN is false)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if math.isnan(number):
            self.fail(f"{value!r} is not a number in 0-100", param, ctx)
        return number




def fmt_number(x: float | None, spec: str = ".2f") -> str:
    """``-`` for a missing value or NaN."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return format(x, spec)
