"""Exports and the edition files at sizes S and L: time and peak memory.

For each size the data is generated (benchmarks/data.py), then each export runs in a fresh Python
process as the secretariat, through the same view a browser uses, reading the whole response:
CSV, XLSX and vCard of every focal point (active and inactive); the PDF of as many focal points as
a PDF export may hold (PDF_EXPORT_MAX_ROWS, rendered directly: the view refuses larger selections);
and a new edition (its PDF, CSV and XLSX in every interface language). Peak memory is the process's
high-water mark during the export minus the one before it (Django loaded, logged in), so streaming
exports show the same figure at S and at L while a PDF, which is laid out as one document, grows
with its pages.

At L the edition has more focal points than EDITION_PDF_MAX_FOCAL_POINTS (5,000): it is made with
its CSV and XLSX only, as the portal circulates such a list (a PDF of 20,000 focal points in three
languages would take WeasyPrint minutes and gigabytes: docs/performance.md).

Run with `make bench` (or `bash scripts/bench.sh benchmarks/exports.py`).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "ctc_portal.settings.bench"

CASES = ["csv", "xlsx", "vcard", "pdf", "edition"]


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def run_case(case: str) -> dict:
    """Run one export in this (fresh) process and return its figures."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    from communiques import editions

    user = get_user_model().objects.get(username="bench-secretariat")
    client = Client()
    client.force_login(user)
    client.get("/bench/trivial/", HTTP_HOST="127.0.0.1")
    before = peak_mib()
    started = time.perf_counter()
    if case == "edition":
        edition = editions.edition_create(user=user)
        size = edition_bytes(edition)
    elif case == "pdf":
        from django.conf import settings

        from contacts import exports

        selection = exports.export_selection(user=user, source="focal-points", params={"active": "all"})
        selection.queryset = selection.queryset[:settings.PDF_EXPORT_MAX_ROWS]
        pdf, _count = exports.pdf_render(selection)
        size = len(pdf)
    else:
        url = reverse(f"contacts:export_{case}", args=["focal-points"]) + "?active=all"
        response = client.get(url, HTTP_HOST="127.0.0.1")
        assert response.status_code == 200, (case, response.status_code, response.content[:300])
        if response.streaming:
            size = sum(len(chunk) for chunk in response.streaming_content)
        else:
            size = len(response.content)
    return {"seconds": time.perf_counter() - started, "bytes": size, "peak_mib": peak_mib() - before}


def edition_bytes(edition) -> int:
    """Return the size of every file of the edition, in every language."""
    from django.core.files.storage import default_storage

    names = [edition.pdf.name, edition.csv.name, edition.xlsx.name]
    names += [name for files in (edition.translated_files or {}).values() for name in files.values()]
    return sum(default_storage.size(name) for name in names if name)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="S,L")
    parser.add_argument("--edition-sizes", default="S,L")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # internal: run one export in this process
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case)))
        return

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from benchmarks.data import generate

    results = {}
    for size in args.sizes.split(","):
        call_command("flush", interactive=False, verbosity=0)
        call_command("migrate", verbosity=0)
        generated = generate(size)
        connection.close()
        print(f"\n=== size {size}: {generated.focal_points:,} focal points ===", flush=True)
        results[size] = {}
        for case in CASES:
            if case == "edition" and size not in args.edition_sizes.split(","):
                print(f"  {case:<8} not run at {size} (--edition-sizes)", flush=True)
                continue
            output = subprocess.run([sys.executable, __file__, "--case", case], cwd=ROOT, capture_output=True,
                                    text=True, check=True, env=os.environ).stdout
            figures = json.loads(output.strip().splitlines()[-1])
            results[size][case] = figures
            print(f"  {case:<8}{figures['seconds']:>9.2f} s{figures['bytes'] / 2**20:>9.1f} MiB out"
                  f"{figures['peak_mib']:>9.1f} MiB peak memory", flush=True)

    if {"S", "L"} <= results.keys():
        print(f"\n{'export':<10}{'S: s':>8}{'L: s':>8}{'S: MiB':>9}{'L: MiB':>9}   (peak memory over the baseline)")
        for case in CASES:
            if case not in results["L"]:
                continue
            small, large = results["S"][case], results["L"][case]
            print(f"{case:<10}{small['seconds']:>8.2f}{large['seconds']:>8.2f}"
                  f"{small['peak_mib']:>9.1f}{large['peak_mib']:>9.1f}")
    out = ROOT / "var" / "bench-exports.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"\nFull results: {out}")


if __name__ == "__main__":
    main()
