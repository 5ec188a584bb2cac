#!/usr/bin/env python3
"""DuckDB side of the mfalens benchmarks (the alternative a user would reach for).

  load FILE DB          CREATE TABLE signins AS SELECT * FROM read_json(FILE) into a fresh DB file
  query DB ROWS RUNS    a raw sign-in table of ROWS rows (built once, kept in DB), then the
                        30-day / 5-minute MFA-failure report as a GROUP BY, RUNS times

Each prints one JSON object on its last line. Driven by `mfalens-bench`; needs the `duckdb`
package (bench/run.sh installs it into target/bench-venv).
"""

import json
import os
import resource
import sys
import time

import duckdb


def peak_rss():
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def load(path, db):
    for p in (db, db + ".wal"):
        if os.path.exists(p):
            os.remove(p)
    con = duckdb.connect(db)
    t0 = time.perf_counter()
    con.execute(
        "CREATE TABLE signins AS SELECT * FROM read_json(?, format = 'newline_delimited')",
        [path],
    )
    con.execute("CHECKPOINT")
    secs = time.perf_counter() - t0
    rows = con.execute("SELECT count(*) FROM signins").fetchone()[0]
    con.close()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"secs": secs, "rows": rows, "peak_rss": peak_rss(),
                      "cpu_secs": ru.ru_utime + ru.ru_stime,
                      "threads": os.cpu_count(), "version": duckdb.__version__}))


# Three tenants, events spread uniformly over 30 days before NOW, about 3% counting toward
# the MFA-failure metric (bit 0), as in the synthetic organisation.
NOW = "2026-01-01 00:00:00"


def build(con, rows):
    have = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'facts'"
    ).fetchone()[0]
    if have:
        n = con.execute("SELECT count(*) FROM facts").fetchone()[0]
        if n == rows:
            return 0.0
        con.execute("DROP TABLE facts")
    t0 = time.perf_counter()
    con.execute(
        f"""
        CREATE TABLE facts AS
        SELECT ('00000000-0000-4000-8000-00000000000' || (i % 3)::VARCHAR) AS tenant_id,
               uuid() AS id,
               TIMESTAMP '{NOW}' - to_microseconds((random() * 2592000000000)::BIGINT) AS created,
               (CASE WHEN random() < 0.03 THEN 1 ELSE 0 END
                | CASE WHEN random() < 0.4 THEN 2 ELSE 0 END
                | CASE WHEN random() < 0.5 THEN 8 ELSE 0 END)::UTINYINT AS metrics
        FROM range(?) t(i)
        """,
        [rows],
    )
    con.execute("CHECKPOINT")
    return time.perf_counter() - t0


def query(db, rows, runs):
    con = duckdb.connect(db)
    build_secs = build(con, rows)
    sql = f"""
        SELECT time_bucket(INTERVAL 5 MINUTE, created, TIMESTAMP '{NOW}' - INTERVAL 30 DAY) AS b,
               count(*) AS n
        FROM facts
        WHERE tenant_id = '00000000-0000-4000-8000-000000000000'
          AND created >= TIMESTAMP '{NOW}' - INTERVAL 30 DAY AND created < TIMESTAMP '{NOW}'
          AND (metrics & 1) != 0
        GROUP BY b ORDER BY b
    """
    con.execute(sql).fetchall()  # warm-up
    lat = []
    for _ in range(runs):
        t0 = time.perf_counter()
        con.execute(sql).fetchall()
        lat.append(time.perf_counter() - t0)
    lat.sort()
    p = lambda q: lat[min(len(lat) - 1, int(len(lat) * q))]
    print(json.dumps({"rows": rows, "runs": runs, "p50": p(0.5), "p99": p(0.99),
                      "build_secs": build_secs, "peak_rss": peak_rss(),
                      "version": duckdb.__version__}))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "load":
        load(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "query":
        query(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit(__doc__)
