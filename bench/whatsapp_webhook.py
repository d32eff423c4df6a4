"""WhatsApp Cloud webhook throughput: signed `POST /webhook` turns vs a bare FastAPI endpoint.

    uv run python -m bench.whatsapp_webhook [--rounds 3] [--duration 15] [--connections 32]

The demo tenant bound to WhatsApp (`graph_base_url` pointing at bench/_fake_graph.py, its own
process) receives text messages from 500 contacts ("hi" and "menu" in turn), each with a valid
`X-Hub-Signature-256`, over 32 keep-alive connections from an asyncio load generator. The webhook
answers 200 once the message is journaled; the turn and its replies follow, so after the run we
wait for the fake Graph server to go quiet and check that every contact got at least one reply per
message it sent. The acknowledgement rate is how fast messages are accepted, not answered: under
this overload the end-to-end figures (turns/s including the drain, and the reply latency from each
webhook POST to its reply's Graph API call) say what a user waits. The bare endpoint
(bench/bare_app.py) is measured in the same run with the same generator. The pair runs
`--rounds` times; rates and percentiles are the medians, lost and doubled replies add up.
Targets (issue 9):
throughput >= 40% of bare, p99 <= 25 ms, zero errors and lost replies.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench._fleet import (
    APP_SECRET,
    inbound_body,
    percentile,
    signature,
    whatsapp_tenant,
    write_tenant,
)
from bench._load import LoadResult, run_load
from bench._proc import (
    REPO_ROOT,
    Server,
    event_loop_stack,
    free_port,
    machine_check,
    rss_mb,
    start,
    start_bare,
)
from bench._report import Check, emit, p99_check, ratio_check

TEXTS = ("hi", "menu")


class Conversations:
    """Worker w owns contacts w, w+workers, ...; each request is the next message of one of them."""

    def __init__(self, workers: int, contacts: int, *, signed: bool, tag: str) -> None:
        self.sent: Counter[str] = Counter()
        #: unix time each message of a contact was sent, in order (matched to its reply later)
        self.sent_at: dict[str, list[float]] = {}
        self._owned = [list(range(w, contacts, workers)) for w in range(workers)]
        self._turn = [0] * workers
        self._signed, self._tag = signed, tag

    def __call__(self, w: int) -> tuple[str, bytes, Mapping[str, str]] | None:
        owned = self._owned[w]
        if not owned:
            return None
        turn = self._turn[w]
        self._turn[w] += 1
        contact = f"3460{owned[turn % len(owned)]:07d}"
        text = TEXTS[(turn // len(owned)) % len(TEXTS)]
        mid = f"wamid.{self._tag}.{w}.{turn}"
        if not self._signed:
            body = json.dumps({"contact_id": contact, "text": text, "message_id": mid}).encode()
            return "/inbound", body, {}
        self.sent[contact] += 1
        self.sent_at.setdefault(contact, []).append(time.time())
        body = inbound_body(contact, text, mid, timestamp=int(time.time()))
        return "/webhook", body, {"X-Hub-Signature-256": signature(body, APP_SECRET)}


def drive(port: int, workers: int, duration_s: float, convs: Conversations) -> LoadResult:
    return asyncio.run(run_load(port, workers, duration_s, convs))


def graph_replies(
    graph: Server, *, settle_s: float = 2.0, timeout_s: float = 120.0
) -> Counter[str]:
    """Replies per contact at the fake Graph server, once the total stops growing for `settle_s`."""
    last, stable_since, deadline = -1, time.perf_counter(), time.perf_counter() + timeout_s
    by_to: Counter[str] = Counter()
    while time.perf_counter() < deadline:
        stats = httpx.get(graph.url + "/stats").json()
        by_to = Counter({str(k): int(v) for k, v in stats["by_to"].items()})
        if int(stats["total"]) != last:
            last, stable_since = int(stats["total"]), time.perf_counter()
        elif time.perf_counter() - stable_since >= settle_s:
            break
        time.sleep(0.2)
    return by_to


def reply_latencies_ms(graph: Server, convs: Conversations, before: Counter[str]) -> list[float]:
    """Webhook POST -> the reply's Graph API call, per message: what a WhatsApp user waits.

    The k-th Graph call for a contact after the warm-up answers its k-th measured message (one
    reply per message, in the contact's order); contacts whose counts differ are left out.
    """
    arrivals: dict[str, list[float]] = httpx.get(graph.url + "/arrivals", timeout=30).json()
    latencies: list[float] = []
    for contact, sent in convs.sent_at.items():
        replies = arrivals.get(contact, [])[before[contact] :]
        if len(replies) == len(sent):
            latencies.extend((r - s) * 1000 for s, r in zip(sent, replies, strict=True))
    return latencies


def describe(name: str, r: LoadResult) -> str:
    p50, p99 = percentile(r.latencies_ms, 50), percentile(r.latencies_ms, 99)
    return (
        f"{name:<11} {r.rps:>8.0f} req/s  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  errors {r.errors}"
    )


@dataclass(frozen=True)
class Round:
    """One bare run and the WhatsApp data plane run right after it."""

    bare: LoadResult
    data_plane: LoadResult
    contacts: int  # contacts that sent measured messages
    inbound: int
    replies: int
    lost: int  # contacts with fewer replies than messages
    extra: int  # contacts with more replies than messages
    unexpected: int  # replies to contacts that sent nothing
    drain_s: float
    rss_mb: float
    reply_ms: list[float]

    @property
    def ratio(self) -> float:
        return self.data_plane.rps / self.bare.rps


def summarise(rounds: list[Round]) -> list[Check]:
    """The figures of `rounds`: medians of rates and percentiles (a ratio within its round
    first), lost, doubled and stray replies and errors summed, the largest RSS."""
    if not rounds:
        raise ValueError("no rounds to summarise")
    med = statistics.median
    ratio = med([r.ratio for r in rounds])
    p50 = med([percentile(r.data_plane.latencies_ms, 50) for r in rounds])
    p99 = med([percentile(r.data_plane.latencies_ms, 99) for r in rounds])
    errors = sum(r.data_plane.errors for r in rounds)
    lost = sum(r.lost for r in rounds)
    unexpected = sum(r.unexpected for r in rounds)
    contacts = sum(r.contacts for r in rounds)
    inbound = sum(r.inbound for r in rounds)
    per_inbound = sum(r.replies for r in rounds) / inbound if inbound else 0.0
    # the webhook acks before the turn runs: the sustained rate counts until the last reply
    turn_rate = med([r.inbound / (r.data_plane.seconds + r.drain_s) for r in rounds])
    timed = sum(len(r.reply_ms) for r in rounds)
    return [
        Check("bare FastAPI req/s", f"{med([r.bare.rps for r in rounds]):.0f}"),
        Check("bare p99", f"{med([percentile(r.bare.latencies_ms, 99) for r in rounds]):.1f} ms"),
        Check("webhook req/s", f"{med([r.data_plane.rps for r in rounds]):.0f}"),
        ratio_check(ratio, len(rounds)),
        Check("p50 latency", f"{p50:.1f} ms"),
        p99_check(p99, len(rounds)),
        Check("errors + non-200", str(errors), "0", errors == 0),
        Check("contacts missing replies", f"{lost} of {contacts}", "0", lost == 0),
        Check("replies to unknown contacts", str(unexpected), "0", unexpected == 0),
        Check("contacts with more replies than messages", str(sum(r.extra for r in rounds))),
        Check("replies per inbound", f"{per_inbound:.2f}"),
        Check("turns/s including the drain", f"{turn_rate:.0f}"),
        Check("replies drained after load", f"{med([r.drain_s for r in rounds]):.1f} s"),
        Check(
            "reply latency p50 (webhook -> Graph)",
            f"{med([percentile(r.reply_ms, 50) for r in rounds]):.0f} ms",
        ),
        Check(
            "reply latency p99 (webhook -> Graph)",
            f"{med([percentile(r.reply_ms, 99) for r in rounds]):.0f} ms",
        ),
        Check("messages timed end to end", f"{timed} of {inbound}"),
        Check("data plane RSS after run", f"{max(r.rss_mb for r in rounds):.1f} MB"),
    ]


def measure_round(args: argparse.Namespace, workdir: Path) -> Round:
    """The bare endpoint, then a fake Graph server and the WhatsApp tenant on a fresh file."""
    workdir.mkdir(parents=True, exist_ok=True)
    with start_bare(workdir) as bare:
        bare.wait_ready("/health")
        drive(
            bare.port,
            args.connections,
            args.warmup,
            Conversations(args.connections, args.contacts, signed=False, tag="bw"),
        )
        bare_run = drive(
            bare.port,
            args.connections,
            args.duration,
            Conversations(args.connections, args.contacts, signed=False, tag="b"),
        )
    print(describe("bare", bare_run))
    gport = free_port()
    env = {"PYTHONPATH": str(REPO_ROOT)}
    with start(
        "fake-graph",
        ["-m", "bench._fake_graph", "--port", str(gport)],
        port=gport,
        workdir=workdir,
        env=env,
    ) as graph:
        graph.wait_ready("/health")
        tenant = write_tenant(whatsapp_tenant(graph.url), workdir / "whatsapp.yaml")
        port = free_port()
        argv = [
            "-m",
            "botfleet.cli.main",
            "serve",
            "data-plane",
            "--port",
            str(port),
            "--tenant-config",
            str(tenant),
        ]
        dp_env = {
            "DP_LOG_LEVEL": "warning",
            "DP_LOG_JSON": "true",
            "DP_STATE_DB_PATH": str(workdir / "state.db"),
        }
        with start("data-plane", argv, port=port, workdir=workdir, env=dp_env) as dp:
            dp.wait_ready("/health")
            warm = Conversations(args.connections, args.contacts, signed=True, tag="w")
            drive(port, args.connections, args.warmup, warm)
            before = graph_replies(graph)
            convs = Conversations(args.connections, args.contacts, signed=True, tag="m")
            t0 = time.perf_counter()
            dp_run = drive(port, args.connections, args.duration, convs)
            after = graph_replies(graph)
            drain_s = time.perf_counter() - t0 - dp_run.seconds
            rss = rss_mb(dp.pid)
            reply_ms = reply_latencies_ms(graph, convs, before)
    print(describe("data plane", dp_run))
    warm_sent = warm.sent
    replies = after - before
    lost = sum(1 for c, n in convs.sent.items() if replies[c] < n)
    extra = sum(1 for c, n in convs.sent.items() if replies[c] > n)
    unexpected = sum(1 for c in replies if c not in convs.sent and c not in warm_sent)
    inbound = sum(convs.sent.values())
    total_replies = sum(replies.values())
    per_inbound = total_replies / inbound if inbound else 0.0
    print(
        f"ratio {dp_run.rps / bare_run.rps:.1%}; {inbound} inbound, {total_replies} replies at"
        " the fake Graph server"
        f" ({per_inbound:.2f} per inbound); replies drained {drain_s:.1f}s after the load;"
        f" RSS {rss:.1f} MB"
    )
    return Round(
        bare=bare_run,
        data_plane=dp_run,
        contacts=len(convs.sent),
        inbound=inbound,
        replies=total_replies,
        lost=lost,
        extra=extra,
        unexpected=unexpected,
        drain_s=drain_s,
        rss_mb=rss,
        reply_ms=reply_ms,
    )


def measure(args: argparse.Namespace, workdir: Path) -> list[Check]:
    print(
        f"uvicorn, one worker ({event_loop_stack()}); asyncio generator,"
        f" {args.connections} connections"
    )
    print(f"warm-up {args.warmup:g}s, measured {args.duration:g}s, {args.contacts} contacts")
    rounds = []
    for index in range(args.rounds):
        if args.rounds > 1:
            print(f"round {index + 1} of {args.rounds}")
        rounds.append(measure_round(args, workdir / f"round-{index + 1}"))
    return summarise(rounds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--contacts", type=int, default=500)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="bare and data plane runs in turn, this many times; figures are the medians",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, SQLite)")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    machine = machine_check()
    workdir = Path(tempfile.mkdtemp(prefix="botfleet-bench-wa-"))
    try:
        checks = measure(args, workdir)
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return emit("whatsapp_webhook", [*checks, machine])


if __name__ == "__main__":
    sys.exit(main())
