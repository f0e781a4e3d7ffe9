#!/usr/bin/python3
"""Lead merge and unmerge throughput through the Python binding.

    PYTHONPATH=BUILD/bindings/python /usr/bin/python3 bench/bench_merge.py [--pairs 2000] [--dir /tmp]

On a fresh database file: 2 x PAIRS leads ingested (distinct phones, one
name and city), then PAIRS merges of each pair with the default rules, each
its own transaction (autocommit), then the unmerge of every merge. Each
merge reads both leads and their keys, writes both rows, moves the keys,
stores the snapshot and two events; each unmerge checks the leads are as
the merge left them and writes everything back.
"""

import argparse
import os
import time

import crm


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=2000)
    ap.add_argument("--dir", default="/tmp")
    o = ap.parse_args()
    path = os.path.join(o.dir, "bench_merge_%d.db" % os.getpid())
    try:
        with crm.open(path) as db:
            ids = []
            with db.transaction():
                for i in range(2 * o.pairs):
                    lead = {"channel": "website" if i % 2 else "dcc", "phone": "139%08d" % i,
                            "name": "王芳", "city": "上海"}
                    ids.append(db.ingest(lead)["id"])
            t = time.perf_counter()
            merges = [db.merge(ids[2 * i], ids[2 * i + 1])["id"] for i in range(o.pairs)]
            t_merge = time.perf_counter() - t
            t = time.perf_counter()
            for m in merges:
                db.unmerge(m)
            t_unmerge = time.perf_counter() - t
            assert not any(db.get(i).get("merged_into") for i in ids)
    finally:
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
    print("%d merges: %.0f/s (%.2f ms each); %d unmerges: %.0f/s (%.2f ms each); autocommit, file database"
          % (o.pairs, o.pairs / t_merge, 1000 * t_merge / o.pairs, o.pairs, o.pairs / t_unmerge,
             1000 * t_unmerge / o.pairs))


if __name__ == "__main__":
    main()
