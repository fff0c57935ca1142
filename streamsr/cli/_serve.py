"""``streamsr serve SITE.toml``: every camera of a site in one process (see
:mod:`streamsr.runtime._serve`)."""

from __future__ import annotations

import argparse
import logging
import time

log = logging.getLogger("streamsr")


def add_serve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="run every camera of a site file in one process, one network shared by all",
    )
    p.add_argument("site", help="site file (.toml): [server], [enhance]..., [[camera]] tables")
    p.add_argument("--host", help="API address (default [server] host, else 127.0.0.1)")
    p.add_argument("--port", type=int, help="API port (default [server] port, else 8090)")
    p.add_argument("--check", action="store_true", help="validate the site file and exit")
    p.add_argument(
        "--status-every", type=float, default=10.0, metavar="S", help="log each camera every S s"
    )
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from streamsr.runtime._serve import Site, load_site

    cfg = load_site(args.site)
    if args.check:
        print(f"{cfg.path}: ok ({len(cfg.cameras)} camera(s))")
        return 0
    site = Site(cfg, host=args.host, port=args.port)
    try:
        while True:
            time.sleep(args.status_every)
            for s in site.status():
                log.info(
                    "camera %s: %s, out %.1f fps, %d dropped, %d skips, %d reconnects%s",
                    s["name"],
                    s["state"],
                    s.get("fps_out", 0.0),
                    s.get("frames_dropped", 0),
                    s.get("enhance_skips", 0),
                    s.get("reconnects", 0),
                    f" ({s['error']})" if s.get("error") else "",
                )
    finally:
        site.close()
