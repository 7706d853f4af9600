"""Pages and API under gunicorn on PostgreSQL, driven by wrk on loopback, at sizes S and L.

For each size: the directory lists, an organization page, the focal-point API list and the public
communiqué list, as a secretariat user and as a liaison; requests/s, p50 and p99 latency, and the
ratio to a trivial Django view served by the same gunicorn in the same run (the framework's ceiling
on this machine). Also SQL queries per page at each size (they must be equal).

Run with `make bench` (starts throwaway PostgreSQL and Redis; installs wrk if missing).
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "ctc_portal.settings.bench"

PAGES = [
    # (label, path, roles)
    ("trivial Django view", "/bench/trivial/", ["anonymous"]),
    ("trivial view, logged in", "/bench/trivial-logged-in/", ["secretariat"]),
    ("focal point list", "/focal-points/", ["secretariat", "liaison"]),
    ("organization list", "/organizations/", ["secretariat", "liaison"]),
    ("organization page", "/organizations/{organization}/", ["secretariat", "liaison"]),
    ("focal point API list", "/api/v1/focal-points/", ["secretariat", "liaison"]),
    ("public communiqué list", "/communiques/", ["anonymous"]),
]


def wrk(url: str, cookie: str | None, *, seconds: int, connections: int) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))

    def latency(percent):
        value, unit = re.search(rf"\s{percent}%\s+([\d.]+)(us|ms|s)", output).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {"rps": rate, "p50": latency(50), "p99": latency(99), "non2xx": int(errors.group(1)) if errors else 0}


def count_queries(client, url: str) -> int:
    from django.db import connection

    executed = []
    with connection.execute_wrapper(lambda execute, *args: executed.append(1) or execute(*args)):
        response = client.get(url, HTTP_HOST="127.0.0.1")
    assert response.status_code == 200, (url, response.status_code)
    return len(executed)


def measure_pages(args, organization: int, cookies: dict, *, cache_seconds: str | None) -> list:
    """Serve the portal with gunicorn and drive every page with wrk; return (label, role, figures)."""
    from tests.support import free_port

    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ctc_portal.settings.bench"}
    if cache_seconds is not None:
        env["DIRECTORY_CACHE_SECONDS"] = cache_seconds
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "benchmarks.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.gunicorn_workers), "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/bench/trivial/", timeout=1)  # noqa: S310
                break
            except OSError:
                time.sleep(0.1)
        rows = []
        for label, path, roles in PAGES:
            for role in roles:
                url = f"http://127.0.0.1:{port}{path.format(organization=organization)}"
                wrk(url, cookies[role], seconds=2, connections=args.connections)  # warm-up
                rows.append((label, role, wrk(url, cookies[role], seconds=args.seconds, connections=args.connections)))
        return rows
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(20)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="S,L")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    args = parser.parse_args()

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from benchmarks.data import generate
    from communiques.models import Communique
    from contacts.models import Organization

    results = {}
    for size in args.sizes.split(","):
        print(f"\n=== size {size} ===", flush=True)
        call_command("flush", interactive=False, verbosity=0)
        call_command("migrate", verbosity=0)
        generated = generate(size)
        print(f"{generated.organizations:,} organizations, {generated.focal_points:,} focal points, "
              f"{generated.subscribers:,} subscribers", flush=True)
        for n in range(12):
            Communique.objects.create(title=f"Communiqué {n}", slug=f"communique-{n}", summary="Summary.",
                                      body="Body.", status="published", published_at=django.utils.timezone.now())
        organization = Organization.objects.order_by("pk").first().pk
        cookies, clients = {"anonymous": None}, {"anonymous": Client()}
        for role in ("secretariat", "liaison"):
            client = Client()
            client.force_login(get_user_model().objects.get(username=f"bench-{role}"))
            clients[role] = client
            cookies[role] = f"sessionid={client.cookies['sessionid'].value}"

        queries = {}
        for label, path, roles in PAGES:
            for role in roles:
                url = path.format(organization=organization)
                # Twice: the first request renders (the queries that must not grow with the data),
                # the second is served from the directory content cache where the page has one.
                queries[(label, role)] = tuple(count_queries(clients[role], url) for _ in range(2))
        connection.close()

        runs = {}
        for cache_label, cache_seconds in (("cached", None), ("uncached", "0")):
            runs[cache_label] = measure_pages(args, organization, cookies, cache_seconds=cache_seconds)

        print(f"\n{'page':<26}{'as':<13}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'ratio':>8}"
              f"{'uncached':>10}{'ratio':>8}{'queries':>10}")
        size_results = {}
        for (label, role, measured), (_, _, cold) in zip(runs["cached"], runs["uncached"], strict=True):
            ratio = measured["rps"] / runs["cached"][0][2]["rps"]  # the first row is the trivial view
            cold_ratio = cold["rps"] / runs["uncached"][0][2]["rps"]
            rendered, cached = queries[(label, role)]
            flag = "  (non-2xx!)" if measured["non2xx"] or cold["non2xx"] else ""
            print(f"{label:<26}{role:<13}{measured['rps']:>8.0f}{measured['p50']:>9.1f}{measured['p99']:>9.1f}"
                  f"{ratio:>8.2f}{cold['rps']:>10.0f}{cold_ratio:>8.2f}{f'{rendered} / {cached}':>10}{flag}")
            size_results[f"{label} / {role}"] = {
                **measured, "ratio": ratio, "uncached": {**cold, "ratio": cold_ratio},
                "queries": rendered, "queries_cached": cached,
            }
        print("(ratio: to the trivial view in the same run; uncached: DIRECTORY_CACHE_SECONDS=0; "
              "queries: first render / served from the cache)")
        results[size] = size_results

    if {"S", "L"} <= results.keys():
        print("\nQueries per page, S vs L (must be equal):")
        for key in results["S"]:
            s_counts = (results["S"][key]["queries"], results["S"][key]["queries_cached"])
            l_counts = (results["L"][key]["queries"], results["L"][key]["queries_cached"])
            s_text, l_text = "{} / {}".format(*s_counts), "{} / {}".format(*l_counts)
            print(f"  {key:<40}{s_text:>8}{l_text:>8}  "
                  f"{'ok' if s_counts == l_counts else 'DIFFERENT'}")
    out = ROOT / "var" / "bench-pages.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"\nFull results: {out}")


if __name__ == "__main__":
    main()
