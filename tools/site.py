"""Build or serve the two language sites: `python -m tools.site build|serve`.

Each language is its own MkDocs build (mkdocs.yml is Chinese, mkdocs.en.yml English) into
site/zh/ and site/en/, plus a root page that sends visitors to the default language. Separate
builds give each language its own search index (Chinese segmented with jieba), and sibling
folders let the language switch land on the same page.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

from mkdocs.commands.build import build as mkdocs_build
from mkdocs.config import load_config
from mkdocs.exceptions import Abort, BuildError, ConfigurationError, PluginError

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = {"zh": ROOT / "mkdocs.yml", "en": ROOT / "mkdocs.en.yml"}
DEFAULT_LANG = "zh"
SITE = ROOT / "site"
WATCHED = ["docs", "snippets", "tools", "mkdocs.yml", "mkdocs.en.yml"]

ROOT_PAGE = """<!doctype html>
<html lang="zh">
<head>
<meta charset="utf-8">
<title>深度学习知识库 · Deep Learning Knowledge Base</title>
<meta http-equiv="refresh" content="0; url={lang}/">
<link rel="canonical" href="{lang}/">
</head>
<body>
<p><a href="zh/">中文</a> · <a href="en/">English</a></p>
</body>
</html>
"""


# GitHub Pages serves the site root's 404.html for any missing path, so its links are absolute,
# built from SITE_URL (the same variable tools/hooks.py reads). Hosts that look for the nearest
# 404.html, and `make serve`, show the language's own 404 page under /zh/ and /en/.
ROOT_404 = """<!doctype html>
<html lang="zh">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>404 · 页面不存在 · Page not found</title>
<style>body{{font:16px/1.6 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}}</style>
</head>
<body>
<h1>404</h1>
<p lang="zh">这个地址没有对应的页面。<a href="{root}zh/">返回中文首页</a></p>
<p lang="en">There is no page at this address. <a href="{root}en/">Go to the English home page</a></p>
</body>
</html>
"""


def build_language(lang: str, site_dir: Path) -> None:
    """One language's strict MkDocs build into site_dir/<lang>/."""
    config = load_config(config_file=str(CONFIGS[lang]), site_dir=str(site_dir / lang))
    config.plugins.on_startup(command="build", dirty=False)
    try:
        mkdocs_build(config)
    finally:
        config.plugins.on_shutdown()


def _build_in_child(lang: str, site_dir: Path) -> str | None:
    """build_language in a worker process; the error as text, since MkDocs' exceptions do not
    all survive pickling (the log already went to the terminal)."""
    logging.basicConfig(level=logging.INFO, format=f"%(levelname)-7s - [{lang}] %(message)s")
    try:
        build_language(lang, site_dir)
    except (Abort, BuildError, ConfigurationError, PluginError) as err:
        return f"{lang}: {err}"
    return None


def build_all(site_dir: Path = SITE) -> float:
    """Build both languages strictly into site_dir/<lang>/; return the wall time in seconds.

    The figures are brought up to date once, then the languages build side by side in two
    processes (each build is single-threaded Python plus one KaTeX process)."""
    start = time.perf_counter()
    site_dir.mkdir(parents=True, exist_ok=True)
    if subprocess.run([sys.executable, "-m", "tools.figures", "--if-stale"], cwd=ROOT).returncode:
        raise PluginError("figure generation failed (see the traceback above): tools/figures/")
    # spawn, not fork: the caller may have threads (the live-reload server, pytest-xdist)
    with ProcessPoolExecutor(len(CONFIGS), mp_context=multiprocessing.get_context("spawn")) as pool:
        errors = [e for e in pool.map(_build_in_child, CONFIGS, [site_dir] * len(CONFIGS)) if e]
    if errors:
        raise Abort("; ".join(errors))
    (site_dir / "index.html").write_text(ROOT_PAGE.format(lang=DEFAULT_LANG), encoding="utf-8")
    root_path = urlsplit(os.environ.get("SITE_URL", "http://127.0.0.1:8000/")).path.rstrip("/") + "/"
    (site_dir / "404.html").write_text(ROOT_404.format(root=root_path), encoding="utf-8")
    return time.perf_counter() - start


def not_found_page(site_dir: Path, url_path: str) -> Path:
    """The 404 page for a missing URL path: its language's under /zh/ or /en/, else the root one."""
    lang = url_path.strip("/").split("/")[0]
    page = site_dir / lang / "404.html"
    return page if lang in CONFIGS and page.is_file() else site_dir / "404.html"


def serve(host: str, port: int) -> None:
    from mkdocs.livereload import LiveReloadServer

    class Server(LiveReloadServer):
        # MkDocs passes its error hook only the status code; remember the path per request thread
        request = threading.local()

        def serve_request(self, environ, start_response):
            self.request.path = environ.get("PATH_INFO", "/")
            return super().serve_request(environ, start_response)

    def rebuild():
        try:
            seconds = build_all()
            logging.getLogger("mkdocs").info(f"Built both languages in {seconds:.1f} s")
        except (Abort, BuildError, ConfigurationError, PluginError) as err:
            # Keep serving the last good build; the error is printed for the author to fix.
            logging.getLogger("mkdocs").error(f"Build failed: {err}")

    if SITE.exists():
        shutil.rmtree(SITE)
    rebuild()
    server = Server(builder=rebuild, host=host, port=port, root=str(SITE))
    server.error_handler = lambda code: (
        not_found_page(SITE, server.request.path).read_bytes() if code == 404 else None)
    for path in WATCHED:
        server.watch(str(ROOT / path))
    print(f"Serving on http://{host}:{port}/ (zh: /zh/, en: /en/); Ctrl+C stops.")
    try:
        server.serve()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["build", "serve"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--site-dir", type=Path, default=SITE, help="where `build` writes (default: site/)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)-7s -  %(message)s")
    if args.command == "build":
        if args.site_dir.exists():
            shutil.rmtree(args.site_dir)
        try:
            seconds = build_all(args.site_dir)
        except (Abort, BuildError, ConfigurationError, PluginError) as err:
            raise SystemExit(f"Build failed: {err}") from None
        print(f"Built {args.site_dir}/zh and {args.site_dir}/en in {seconds:.1f} s")
    else:
        serve(args.host, args.port)


if __name__ == "__main__":
    main()
