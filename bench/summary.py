#!/usr/bin/env python3
"""summary.py RESULTS_DIR: the side-by-side table of bench/run.sh.

Reads runs.jsonl (smtpload, one JSON line per run; labels supportgate, go-sink,
pf-relay, pf-hold) and postfix-results.tsv (postfix-anchor.sh, smtp-source rows:
sections sink, postfix, hold). Prints one row per size x sessions.
"""
import collections, json, os, statistics, sys

d = sys.argv[1]
load = collections.defaultdict(list)  # (label, size, conc) -> [result]
with open(os.path.join(d, "runs.jsonl")) as f:
    for line in f:
        if line.strip():
            r = json.loads(line)
            load[(r["target"], r["size"], r["conc"])].append(r)

src = collections.defaultdict(list)  # (section, size, conc) -> [accepted msgs/s]
tsv = os.path.join(d, "postfix-results.tsv")
if os.path.exists(tsv):
    for line in open(tsv):
        p = line.rstrip("\n").split("\t")
        if p[0] == "section" or len(p) < 10 or p[3] != "conn":
            continue
        src[(p[0], int(p[1]), int(p[2]))].append(int(p[5]) / float(p[8]))

# The intake issue's anchors (smtp-source, conn mode, this 2-core box): the ratio falls
# back to them when Postfix could not be measured here.
ISSUE = {(4096, 1): 600, (4096, 10): 850, (4096, 50): 850}


def issue_anchor(size, conc):
    return ISSUE.get((size, conc), 500 if size >= 102400 else None)


def lr(label, size, conc):
    v = load.get((label, size, conc))
    if not v:
        return None
    return {k: statistics.median(x[k] for x in v) for k in ("msgs_per_s", "p50_ms", "p99_ms", "failed")}


def num(x, fmt="{:,.0f}"):
    return "-" if x is None else fmt.format(x)


cells = sorted({(k[1], k[2]) for k in load if k[0] != "supportgate-rss"} | {(k[1], k[2]) for k in src})
cols = ["size", "sess", "sg msg/s", "sg p50", "sg p99", "sg fail",
        "pfR msg/s", "pfR p50", "pfR p99", "pfH msg/s", "pfH p99",
        "srcR", "srcH", "srcSink", "goSink", "sg/pf", "sg/pfMax"]
w = [7, 4, 9, 7, 7, 7, 9, 7, 7, 9, 7, 7, 7, 8, 8, 7, 8]
line = lambda vals: "  ".join(str(v).rjust(n) for v, n in zip(vals, w))
print(line(cols))
for size, conc in cells:
    sg, pr, ph, gs = (lr(x, size, conc) for x in ("supportgate", "pf-relay", "pf-hold", "go-sink"))
    med = lambda sec: statistics.median(src[(sec, size, conc)]) if src.get((sec, size, conc)) else None
    sr, sh, ss = med("postfix"), med("hold"), med("sink")
    # Base for the ratio: Postfix relay through the same client if measured, else through
    # smtp-source, else the issue's anchor (marked "a").
    base, mark = (pr["msgs_per_s"], "") if pr else ((sr, "s") if sr else (issue_anchor(size, conc), "a"))
    ratio = f"{sg['msgs_per_s'] / base:.2f}{mark}" if sg and base else "-"
    # Conservative: vs the best Postfix number measured here by either client, relay or hold.
    best = max([x for x in (pr and pr["msgs_per_s"], ph and ph["msgs_per_s"], sr, sh) if x] or [0])
    worst = f"{sg['msgs_per_s'] / best:.2f}" if sg and best else "-"
    g = lambda r, k, f="{:,.0f}": num(r[k], f) if r else "-"
    print(line([f"{size // 1024}K", conc, g(sg, "msgs_per_s"), g(sg, "p50_ms", "{:.1f}"), g(sg, "p99_ms", "{:.1f}"),
                g(sg, "failed"), g(pr, "msgs_per_s"), g(pr, "p50_ms", "{:.1f}"), g(pr, "p99_ms", "{:.1f}"),
                g(ph, "msgs_per_s"), g(ph, "p99_ms", "{:.1f}"), num(sr), num(sh), num(ss), g(gs, "msgs_per_s"), ratio, worst]))
print("""
sg = supportgate, pfR = Postfix relay, pfH = Postfix hold queue (accept path only), goSink = smtpload sink;
all via smtpload (accepted msgs/s, p50/p99 ms from connect to the 250 after DATA).
srcR/srcH/srcSink = postfix-anchor.sh with smtp-source: Postfix relay / hold / smtp-sink, accepted msgs/s.
sg/pf = supportgate / Postfix relay via smtpload; suffix s: vs smtp-source relay; a: vs the issue's anchor
(600 / 850 / 850 msgs/s at 4 KB, 500 at 100 KB). sg/pfMax = supportgate / the best of pfR, pfH, srcR, srcH
(conservative: hold skips delivery, and smtp-source is a lighter client). Goal: >= 1.5 at 10 and 50 sessions.""")
rss = os.path.join(d, "rss.txt")
if os.path.exists(rss):
    print(open(rss).read().strip() + "  (goal: < 100 MB)")
