"""``dfi serve``: run the mock vendors as local HTTP servers."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from harness.cli.console import stderr_console, stdout_console
from harness.cli.options import PROFILE_HELP, profile_choice
from harness.errors import DfiError
from harness.vendors import registry

VENDOR_CHOICES = (*registry.names(), "all")
PORT = click.IntRange(0, 65535)  # checked here: socket.bind raises OverflowError outside it


def _per_vendor(values: tuple[str, ...], option: str, cast: type = float) -> dict[str, Any]:
    """``("5",)`` -> every vendor 5; ``("aws=5", "ms=2")`` -> per vendor."""
    out: dict[str, Any] = {}
    for v in values:
        vendor, sep, raw = v.partition("=")
        if not sep:
            vendor, raw = "all", v
        if vendor not in VENDOR_CHOICES:
            raise click.BadParameter(f"{v!r}: vendor must be one of {', '.join(VENDOR_CHOICES)}", param_hint=option)
        try:
            value = cast(raw)
        except ValueError:
            raise click.BadParameter(f"{v!r}: {raw!r} is not a {cast.__name__}", param_hint=option) from None
        for t in (registry.names() if vendor == "all" else (vendor,)):
            out[t] = value
    return out


@click.command("serve")
@click.option("--vendor", "vendors", multiple=True, type=click.Choice(VENDOR_CHOICES), default=("all",),
              show_default=True, help="Vendor(s) to serve; repeat the option for several.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--aws-port", type=PORT, default=4566, show_default=True, help="0 picks a free port.")
@click.option("--ms-port", type=PORT, default=4567, show_default=True)
@click.option("--nav-port", type=PORT, default=4568, show_default=True)
@click.option("--gallery", type=click.Path(exists=True, path_type=Path),
              help="Folder with one sub-folder of photos per celebrity, or a saved gallery .npz/.json. "
                   "Default: the DEMO gallery built from the installed demo photos.")
@click.option("--save-gallery", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the enrolled gallery (embeddings) to this .npz/.json.")
@click.option("--profile", "profiles", multiple=True, metavar="SET|VENDOR=FILE",
              help=PROFILE_HELP + " (keys a file omits keep the defaults)")
@click.option("--latency-ms", multiple=True, metavar="[VENDOR=]MS", help="Added latency per request.")
@click.option("--error-rate", multiple=True, metavar="[VENDOR=]P", help="Share of requests answered with a 5xx.")
@click.option("--tps", multiple=True, metavar="[VENDOR=]N", help="Requests/s above which the vendor throttles.")
@click.option("--no-holdout", is_flag=True, help="Also recognise the exact photos the gallery was enrolled from.")
@click.option("--header-timeout", type=click.FloatRange(min=0.01), default=5.0, show_default=True,
              help="Seconds a request head may take to arrive before the connection is closed.")
@click.option("--body-timeout", type=click.FloatRange(min=0.01), default=5.0, show_default=True,
              help="Seconds a request body may take to arrive before the vendor's 408.")
@click.option("--idle-timeout", type=click.FloatRange(min=0.01), default=75.0, show_default=True,
              help="Seconds an idle keep-alive connection stays open.")
@click.option("--exit-after", type=float, default=None, hidden=True, help="Stop after this many seconds (tests).")
def serve(vendors: tuple[str, ...], host: str, aws_port: int, ms_port: int, nav_port: int, gallery: Path | None,
          save_gallery: Path | None, profiles: tuple[str, ...], latency_ms: tuple[str, ...],
          error_rate: tuple[str, ...], tps: tuple[str, ...], no_holdout: bool, header_timeout: float,
          body_timeout: float, idle_timeout: float, exit_after: float | None) -> None:
    """Serve mock AWS Rekognition, Azure and Naver CFR on local ports (Ctrl-C stops).

    Point the vendors' own clients at the printed endpoints, e.g.
    boto3.client("rekognition", endpoint_url="http://127.0.0.1:4566", region_name="us-east-1",
    aws_access_key_id="x", aws_secret_access_key="x").
    """
    from dataclasses import replace

    from mockvendors.analysis import CachingAnalyzer, PipelineAnalyzer
    from mockvendors.behaviour import behaviour_for
    from mockvendors.gallery import resolve_gallery
    from mockvendors.server import BindError, ServerLimits, make_app, protocol_for, start_sites

    console = stderr_console()
    chosen = registry.names() if "all" in vendors else tuple(dict.fromkeys(vendors))
    profile_files = profile_choice(profiles, chosen)
    lat = _per_vendor(latency_ms, "--latency-ms")
    err = _per_vendor(error_rate, "--error-rate")
    rate = _per_vendor(tps, "--tps")

    analyzer = CachingAnalyzer(PipelineAnalyzer())
    with console.status("enrolling the gallery (face model)..."):
        g = resolve_gallery(gallery, analyzer)
    g.holdout = not no_holdout
    if save_gallery:
        g.save(save_gallery)
        console.print(f"gallery saved to {save_gallery}")
    source = (str(gallery) if gallery
              else "DEMO gallery (demo identities from the installed demo photos; not a celebrity database)")

    limits = ServerLimits(header_timeout_s=header_timeout, body_timeout_s=body_timeout, idle_timeout_s=idle_timeout)
    apps: dict[str, Any] = {}
    faults: dict[str, Any] = {}
    for v in chosen:
        b = behaviour_for(v, g, analyzer, profile_files.get(v))
        f = b.profile.faults
        f = replace(f, latency_ms=float(lat.get(v, f.latency_ms)), error_rate=float(err.get(v, f.error_rate)),
                    tps=float(rate[v]) if v in rate else f.tps)
        type(f).__post_init__(f)
        faults[v] = f
        apps[v] = make_app(protocol_for(b), f, limits=limits)
    ports = {"aws": aws_port, "ms": ms_port, "nav": nav_port}

    async def run() -> None:
        try:
            runners, endpoints = await start_sites(apps, host, ports)
        except BindError as exc:
            raise DfiError(f"cannot listen: {exc} (choose another port with --{exc.vendor}-port, or 0 for a "
                           f"free one)") from exc
        except OSError as exc:
            raise DfiError(f"cannot listen on {host}: {exc.strerror or exc}") from exc
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):
                pass
        _print_endpoints(endpoints, faults, g, source)
        try:
            if exit_after is not None:
                await asyncio.wait_for(stop.wait(), exit_after)
            else:
                await stop.wait()
        except TimeoutError:
            pass
        finally:
            for r in runners:
                await r.cleanup()
            stderr_console().print("mock vendors stopped")

    asyncio.run(run())


def _print_endpoints(endpoints: dict[str, Any], faults: dict[str, Any], gallery: Any, source: str) -> None:
    out = stdout_console()
    table = Table(title="dfi mock vendors")
    table.add_column("vendor")
    table.add_column("endpoint")
    table.add_column("calls")
    table.add_column("faults")
    calls = {
        "aws": "RecognizeCelebrities, CompareFaces, GetCelebrityInfo",
        "ms": "celebrities/analyze, face detect/verify/findsimilars",
        "nav": "/v1/vision/celebrity, /vision/v1/celebrity",
    }
    for v, ep in endpoints.items():
        f = faults[v]
        fl = ", ".join(x for x in (f"latency {f.latency_ms:g} ms" if f.latency_ms else "",
                                   f"errors {f.error_rate:.0%}" if f.error_rate else "",
                                   f"tps {f.tps:g}" if f.tps else "") if x) or "none"
        table.add_row(v, ep.url, calls[v], fl)
    out.print(table)
    names = ", ".join(i.name for i in gallery.identities[:8]) + (" ..." if len(gallery) > 8 else "")
    out.print(f"gallery: {source}: {len(gallery)} identities ({names}); hold-out {'on' if gallery.holdout else 'off'}")
    env = {"aws": "DFI_AWS_ENDPOINT_URL", "ms": "DFI_AZURE_VISION_ENDPOINT", "nav": "DFI_NAVER_ENDPOINT"}
    out.print("for dfi's own clients: " + "  ".join(f"{env[v]}={ep.url}" for v, ep in endpoints.items()))
    out.print("Ctrl-C stops.", highlight=False)


COMMANDS: list[click.Command] = [serve]
__all__ = ["COMMANDS", "serve"]
