#!/usr/bin/python3
"""Numbers for bench/run.sh: one row's metrics from fio's JSON or s3load's line, and the final
report (markdown table, ratios, gnuplot chart) from results.tsv. Standard library only.
  report.py metrics fio|s3load|time OUTBASE T0 T1 D0 D1   -> MBps IOPS p50_ms p99_ms seconds bytes
  report.py finalize RESULTS.tsv OUTDIR MODE ELAPSED DELAY_MS
"""
import csv
import json
import os
import re
import subprocess
import sys

TARGETS = ["s3nbd-cache", "s3nbd-cache-fit", "s3nbd", "nbdkit-memory", "nbdkit-file", "s3backer", "raw-s3"]
NUMERATORS = ["s3nbd-cache", "s3nbd-cache-fit", "s3nbd-cache-local", "s3nbd"]
DENOMINATORS = ["nbdkit-memory", "raw-s3", "s3backer", "nbdkit-file", "s3nbd"]
# nbdkit file (a local disk) is the ceiling of write+FLUSH and of the untar only; elsewhere it is
# context. s3nbd without cache is what the cache must not lose to: sequential jobs and the untar.
DENOMINATOR_JOBS = {"nbdkit-file": ("fsync4k", "untar-total"),
                    "s3nbd": ("seqwrite", "seqread-cold", "untar-total")}
# the untar's phases are reported (UNTAR lines); only its total gets RATIO lines, as a time ratio
NO_RATIO_JOBS = ("untar", "untar-sync")
TIME_RATIO_JOBS = ("untar-total",)


def fmt(x, digits=1):
    return "-" if x is None else f"{x:.{digits}f}"


def fio_metrics(base, drain):
    with open(base + ".json") as f:
        text = f.read()
    job = json.loads(text[text.index("{"):])["jobs"][0]  # fio may print notes before the JSON
    rd, wr = job["read"], job["write"]
    nbytes = rd["io_bytes"] + wr["io_bytes"]
    ios = rd["total_ios"] + wr["total_ios"]
    runtime = max(rd["runtime"], wr["runtime"], 1) / 1000.0 + drain
    side = rd if rd["total_ios"] else wr  # latency of the reads (mixed job: reads; write jobs: writes)
    pct = side["clat_ns"].get("percentile", {})
    p50 = pct.get("50.000000", 0) / 1e6
    p99 = pct.get("99.000000", 0) / 1e6
    return nbytes / runtime / 1e6, ios / runtime, p50, p99, runtime, nbytes


def s3load_metrics(base):
    with open(base + ".out") as f:
        line = next(l for l in f if l.startswith("s3load "))
    kv = dict(re.findall(r"(\w+)=([^ \n]+)", line))
    return (float(kv["MBps"]), float(kv["ops"]), float(kv["p50_ms"]), float(kv["p99_ms"]),
            float(kv["seconds"]), int(kv["bytes"]))


def cmd_metrics(kind, base, t0, t1, d0, d1):
    drain = float(d1) - float(d0)
    if kind == "fio":
        m = fio_metrics(base, drain)
    elif kind == "s3load":
        m = s3load_metrics(base)
    else:
        m = (None, None, None, None, float(t1) - float(t0), None)
    mbps, iops, p50, p99, secs, nbytes = m
    print("\t".join([fmt(mbps), fmt(iops, 0), fmt(p50, 2), fmt(p99, 2), fmt(secs, 2),
                     "-" if nbytes is None else str(nbytes)]))


def num(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def metric(row):
    """The figure a ratio compares: MB/s for 1 MiB jobs, IOPS for 4 KiB jobs, 1/seconds for timed ones."""
    job = row["job"]
    if job.startswith("seq"):
        return num(row["MBps"]), "MB/s"
    if job.startswith(("rand", "mixed", "fsync")):
        return num(row["IOPS"]), "IOPS"
    s = num(row["seconds"])
    return (1.0 / s if s else None), "1/s"


def cmd_finalize(tsv, outdir, mode, elapsed, delay_ms):
    with open(tsv) as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    by = {(r["scenario"], r["target"], r["job"]): r for r in rows}

    head = ("| scenario | target | job | MB/s | IOPS | p50 ms | p99 ms | s | S3 req (GET/PUT/HEAD/DEL/POST) "
            "| CPU % server / S3 | note |")
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        req = "-" if r["s3_requests"] in ("-", "0") else \
            f'{r["s3_requests"]} ({r["GET"]}/{r["PUT"]}/{r["HEAD"]}/{r["DELETE"]}/{r["POST"]})'
        if r["s3_requests"] == "0":
            req = "0"
        lines.append(f'| {r["scenario"]} | {r["target"]} | {r["job"]} | {r["MBps"]} | {r["IOPS"]} | {r["p50_ms"]} '
                     f'| {r["p99_ms"]} | {r["seconds"]} | {req} | {r["server_cpu_pct"]} / {r["s3_cpu_pct"]} '
                     f'| {r["note"]} |')

    # S3 requests per GiB written sequentially (ideal: size / block size PUTs, no GET/HEAD)
    per_gib = []
    for (sc, tg, job), r in by.items():
        if job == "seqwrite" and tg.startswith("s3") and num(r["bytes"]):
            gib = float(r["bytes"]) / 2**30
            per_gib.append(f"REQUESTS {job}@{sc} {tg}: per GiB written: PUT={int(r['PUT']) / gib:.0f} "
                           f"GET={int(r['GET']) / gib:.0f} HEAD={int(r['HEAD']) / gib:.0f} "
                           f"(ideal with 1 MiB blocks: PUT=1024 GET=0 HEAD=0)")

    ratios = []
    for (sc, tg, job), r in by.items():
        if tg not in NUMERATORS or job in NO_RATIO_JOBS:
            continue
        a, _ = metric(r)
        if "FAILED" in r["note"]:
            a = None
        for den in DENOMINATORS:
            if den == tg:
                continue
            d = by.get((sc, den, job))
            if d is None or (den == "raw-s3" and not job.startswith(("seq", "fsync"))):
                continue  # raw 4 KiB objects are context, not the same job as 4 KiB reads of 1 MiB blocks
            if den in DENOMINATOR_JOBS and job not in DENOMINATOR_JOBS[den]:
                continue
            b, _ = metric(d)
            if "FAILED" in d["note"]:
                b = None
            name = job if sc == "local" else f"{job}@{sc}"
            if a is None or not b:
                if a is None and "not available" in r["note"]:
                    continue
                ratios.append(f"RATIO {name} {tg}/{den} = n/a")
                continue
            if job in TIME_RATIO_JOBS:  # seconds over seconds: lower is better
                ratios.append(f"RATIO {name} {tg}/{den} = {b / a:.3f} (time; lower is better)")
            else:
                ratios.append(f"RATIO {name} {tg}/{den} = {a / b:.3f}")

    md = [f"# s3nbd benchmark — {mode} run, {elapsed} s", "",
          f"Machine: {os.uname().nodename}, {os.cpu_count()} cores. Delay scenario: +{delay_ms} ms per S3 request.",
          "MB/s are 10^6 bytes/s; write jobs include the final flush (and s3backer's write-back drain).",
          "S3 requests are counted by the HAProxy front (bench/haproxy.cfg); CPU % is of one core.", ""]
    untar = untar_lines(by)
    md += lines + ["", "```"] + per_gib + untar + ratios + ["```", ""]
    with open(os.path.join(outdir, "results.md"), "w") as f:
        f.write("\n".join(md))
    chart(rows, outdir)

    print("\n".join(lines))
    print()
    for section in (per_gib, untar, ratios):
        if section:
            print("\n".join(section))


def untar_lines(by):
    """One line per target of the untar: seconds of each phase and S3 requests of the whole."""
    out = []
    for (sc, tg, job), r in by.items():
        if job != "untar-total":
            continue
        x = by.get((sc, tg, "untar"), {}).get("seconds", "-")
        y = by.get((sc, tg, "untar-sync"), {}).get("seconds", "-")
        q = "-" if r["s3_requests"] == "-" else \
            f'{r["s3_requests"]} (GET {r["GET"]} PUT {r["PUT"]} HEAD {r["HEAD"]} DELETE {r["DELETE"]} POST {r["POST"]})'
        out.append(f"UNTAR {tg}: untar {x} s + sync/drain {y} s = {r['seconds']} s; S3 requests {q}")
    return out


def chart(rows, outdir):
    """Two log-scale clustered bar charts: MB/s of the 1 MiB jobs, IOPS of the 4 KiB jobs."""
    targets = [t for t in TARGETS if any(r["target"] == t and num(r["MBps"] if r["job"].startswith("seq")
                                                                     else r["IOPS"]) for r in rows)]
    if not targets:
        return
    panels = []
    for unit, pick, col in (("MB/s", lambda j: j.startswith("seq"), "MBps"),
                            ("IOPS", lambda j: j.startswith(("rand", "mixed")), "IOPS")):
        jobs = []
        for r in rows:
            name = r["job"] if r["scenario"] == "local" else f'{r["job"]}@{r["scenario"]}'
            if pick(r["job"]) and name not in jobs:
                jobs.append(name)
        dat = os.path.join(outdir, f"chart-{col}.dat")
        with open(dat, "w") as f:
            f.write("job " + " ".join(targets) + "\n")
            for j in jobs:
                sc, job = ("local", j) if "@" not in j else (j.split("@")[1], j.split("@")[0])
                vals = []
                for t in targets:
                    r = next((r for r in rows if r["scenario"] == sc and r["job"] == job and r["target"] == t), None)
                    v = num(r[col]) if r else None
                    vals.append(f"{v:g}" if v else "?")
                f.write(j.replace("_", "-") + " " + " ".join(vals) + "\n")
        panels.append((unit, dat, len(targets)))
    gp = ['set terminal pngcairo size 1400,560 font ",10"' if has_cairo() else 'set terminal png size 1400,560',
          f'set output "{os.path.join(outdir, "chart.png")}"',
          'set termoption noenhanced', 'set datafile missing "?"', 'set style data histograms', 'set style histogram clustered gap 1',
          'set style fill solid 0.85 border -1', 'set logscale y', 'set grid ytics', 'set key top right',
          'set xtics rotate by -30', 'set multiplot layout 1,2 title "s3nbd vs alternatives (log scale; higher is better)"']
    for unit, dat, n in panels:
        gp += [f'set ylabel "{unit}"', f'set title "{unit}"',
               f'plot for [i=2:{n + 1}] "{dat}" using i:xtic(1) title columnheader(i)']
    gp.append("unset multiplot")
    try:
        subprocess.run(["gnuplot"], input="\n".join(gp), text=True, check=True, timeout=60,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except (OSError, subprocess.SubprocessError) as e:
        print(f"report: chart not drawn: {e}", file=sys.stderr)


def has_cairo():
    try:
        out = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, text=True, timeout=10)
        return "pngcairo" in out.stdout + out.stderr
    except (OSError, subprocess.SubprocessError):
        return False


if __name__ == "__main__":
    if len(sys.argv) == 8 and sys.argv[1] == "metrics":
        cmd_metrics(*sys.argv[2:])
    elif len(sys.argv) == 7 and sys.argv[1] == "finalize":
        cmd_finalize(*sys.argv[2:])
    else:
        sys.exit(__doc__)
