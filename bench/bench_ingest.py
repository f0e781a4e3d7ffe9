#!/usr/bin/python3
"""Ingest benchmark through the Python binding (`import crm`).

    PYTHONPATH=BUILD/bindings/python /usr/bin/python3 bench/bench_ingest.py \
        --file leads.ndjson [--count N] [--batch 1000] [--dir /tmp] [--keep]

The same work as phase 1 of bench_ingest.c: every NDJSON line is decoded
with json.loads and handed to db.ingest(dict), 1000 leads per
`with db.transaction():`, on a fresh database file. A second run hands the
line to db.ingest(str) undecoded, which shows what the dict -> JSON round
trip costs. Peak RSS is the process's ru_maxrss (the interpreter included).
"""

import argparse
import itertools
import json
import os
import resource
import sys
import time

import crm


def remove_db(path):
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            os.remove(path + suffix)
        except FileNotFoundError:
            pass


def db_mb(path):
    total = 0
    for suffix in ("", "-wal"):
        try:
            total += os.path.getsize(path + suffix)
        except FileNotFoundError:
            pass
    return total / (1024 * 1024)


def lines(path, count):
    with open(path, encoding="utf-8") as f:
        stripped = (line.rstrip("\r\n") for line in f)
        yield from itertools.islice((line for line in stripped if line), count)


def run(path, db_path, count, batch, decode):
    remove_db(db_path)
    created = duplicates = errors = n = 0
    first_error = None
    with crm.open(db_path) as db:
        it = lines(path, count)
        t0 = time.perf_counter()
        while True:
            chunk = list(itertools.islice(it, batch))
            if not chunk:
                break
            with db.transaction():
                for line in chunk:
                    n += 1
                    try:
                        r = db.ingest(json.loads(line) if decode else line)
                    except crm.Error as e:
                        errors += 1
                        first_error = first_error or str(e)
                        continue
                    if r["outcome"] == "duplicate":
                        duplicates += 1
                    else:
                        created += 1
        seconds = time.perf_counter() - t0
    return n, seconds, created, duplicates, errors, first_error


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", required=True, help="NDJSON leads (from gen_leads)")
    ap.add_argument("--count", type=int, default=None, help="at most this many lines (default: all)")
    ap.add_argument("--batch", type=int, default=1000, help="leads per transaction")
    ap.add_argument("--dir", default="/tmp", help="where the database files go")
    ap.add_argument("--keep", action="store_true", help="keep the database files")
    ap.add_argument("--no-str", action="store_true", help="skip the run with undecoded lines")
    a = ap.parse_args()

    print(f"crmcore {crm.version()} (Python {sys.version.split()[0]}), {a.file}")
    print()
    print(f"{'phase':<44} {'leads':>9} {'seconds':>9} {'leads/s':>10} {'created':>9} "
          f"{'dup':>9} {'errors':>7} {'RSS MB':>9} {'DB MB':>8}")
    runs = [("db.ingest(dict)", True)]
    if not a.no_str:
        runs.append(("db.ingest(str)", False))
    for i, (name, decode) in enumerate(runs):
        db_path = os.path.join(a.dir, f"bench_ingest_py_{os.getpid()}_{i}.db")
        n, seconds, created, dups, errors, first = run(a.file, db_path, a.count, max(1, a.batch), decode)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{name + f', {a.batch} per transaction':<44} {n:>9} {seconds:>9.2f} {n / seconds if seconds else 0:>10.0f} "
              f"{created:>9} {dups:>9} {errors:>7} {rss:>9.1f} {db_mb(db_path):>8.1f}", flush=True)
        if first:
            print(f"  first error: {first}")
        if not a.keep:
            remove_db(db_path)
    print()
    print("RSS is the peak of the whole process so far (the interpreter included).")


if __name__ == "__main__":
    main()
