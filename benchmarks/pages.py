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
    from django.test.utils import CaptureQueriesContext

    from benchmarks.data import generate
    from communiques.models import Communique
    from contacts.models import Organization
    from tests.support import free_port

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
                with CaptureQueriesContext(connection) as captured:
                    response = clients[role].get(url, HTTP_HOST="127.0.0.1")
                assert response.status_code == 200, (url, role, response.status_code)
                queries[(label, role)] = len(captured)
        connection.close()

        port = free_port()
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ctc_portal.settings.bench"}
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
            ceiling = None
            for label, path, roles in PAGES:
                for role in roles:
                    url = f"http://127.0.0.1:{port}{path.format(organization=organization)}"
                    wrk(url, cookies[role], seconds=2, connections=args.connections)  # warm-up
                    measured = wrk(url, cookies[role], seconds=args.seconds, connections=args.connections)
                    if label == "trivial Django view":
                        ceiling = measured["rps"]
                    rows.append((label, role, measured, queries[(label, role)]))
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(20)

        print(f"\n{'page':<26}{'as':<13}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'ratio':>8}{'queries':>9}")
        for label, role, measured, count in rows:
            ratio = measured["rps"] / ceiling
            flag = "  (non-2xx!)" if measured["non2xx"] else ""
            print(f"{label:<26}{role:<13}{measured['rps']:>8.0f}{measured['p50']:>9.1f}{measured['p99']:>9.1f}"
                  f"{ratio:>8.2f}{count:>9}{flag}")
        results[size] = {f"{label} / {role}": {**measured, "ratio": measured["rps"] / ceiling, "queries": count}
                         for label, role, measured, count in rows}

    if {"S", "L"} <= results.keys():
        print("\nQueries per page, S vs L (must be equal):")
        for key in results["S"]:
            s_count, l_count = results["S"][key]["queries"], results["L"][key]["queries"]
            print(f"  {key:<40}{s_count:>4}{l_count:>6}  {'ok' if s_count == l_count else 'DIFFERENT'}")
    out = ROOT / "var" / "bench-pages.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"\nFull results: {out}")


if __name__ == "__main__":
    main()
