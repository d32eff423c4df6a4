"""Flow validation time: CPU to check a large, hostile-but-valid flow, as an upload costs it.

    uv run python -m bench.validate_time [--keys 1000] [--templates 5000] [--runs 5]
                                         [--before PATH/TO/OTHER/src]

The control plane checks every flow a tenant uploads (`load_flow_text`, in a worker thread):
this time is what one upload can make it spend. The generated flow has `--keys` calls with
`on_error: {continue: true}`, each storing its own `result_key`, and `--templates` `send_text`
actions reading them: a fifth print `data.<key>.failed` (a warning each), a fifth guard it with
`is defined`, the rest read other fields through filters, and every fourth has a `when`
condition. Each run gets templates of its own (a run number in their text), so no cache
carries over from an earlier run, as for a new upload.

Each run is a fresh process; CPU is `time.process_time` around `load_flow_text` and around
`validate_spec` alone (on the spec and line maps of the same document), median of `--runs`.
With `--before`, runs alternate between this checkout and the `src` tree at PATH (e.g. a copy
with the validator's earlier files), and the ratios before/after are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench._proc import REPO_ROOT
from botfleet.flows import yaml_lines
from botfleet.flows.load import load_flow_text
from botfleet.flows.schema import FlowSpec
from botfleet.flows.validate import validate_spec

#: Calls and `send_text` actions per state (a state's `next` leads to the following one).
CALLS_PER_STATE = 10


def flow_yaml(keys: int, templates: int, run: int) -> str:
    """The generated flow (see the module's docstring); `run` makes its templates its own."""
    states = max(1, -(-keys // CALLS_PER_STATE))
    sends_per_state = -(-templates // states)
    lines = ["id: validate_bench", "initial_state: S0", "states:"]
    key = send = 0
    for index in range(states):
        lines += [f"  S{index}:", "    on_enter:"]
        for _ in range(min(CALLS_PER_STATE, keys - key)):
            lines += [
                "      - action: invoke_connector",
                "        connector: mock",
                "        operation: fetch",
                f"        result_key: k{key}",
                "        on_error: {continue: true}",
            ]
            key += 1
        for _ in range(min(sends_per_state, templates - send)):
            read = f"data.k{send % max(keys, 1)}"
            lines += ["      - action: send_text", f"        text: {_text(read, send, run)!r}"]
            if send % 4 == 3:
                lines.append(f"        when: \"{read}.slots and contact.name != 'r{run}-{send}'\"")
            send += 1
        following = f"S{index + 1}" if index + 1 < states else "S0"
        lines += ["    transitions:", "      - on_payload: menu", f"        target: {following}"]
        lines.append("    fallback: S0")
    return "\n".join(lines) + "\n"


def _text(read: str, index: int, run: int) -> str:
    tag = f"r{run}-{index}"
    kind = index % 5
    if kind == 0:  # a counted read: the validator warns
        return f"{tag} failed: {{{{ {read}.failed }}}}"
    if kind == 1:  # guarded: no warning
        return f"{tag} {{% if {read}.failed is defined %}}{{{{ {read}.error }}}}{{% endif %}}"
    if kind == 2:
        return f"{tag} {{{{ {read}.slots | length }}}} slots for {{{{ contact.name | title }}}}"
    if kind == 3:
        return f"{tag} {{% for s in {read}.slots %}}{{{{ s.title }}}}, {{% endfor %}}"
    return f"{tag} {{{{ {read}.error | default('') }}}} {{{{ now | shift_time(days=1) }}}}"


def measure(keys: int, templates: int, run: int) -> dict[str, float]:
    """CPU seconds of one upload's `load_flow_text` and of `validate_spec` alone."""
    load_text, check_text = flow_yaml(keys, templates, run), flow_yaml(keys, templates, run + 1)
    started = time.process_time()
    flow = load_flow_text(load_text, "bench.yaml")
    load_s = time.process_time() - started
    document = yaml_lines.load_with_lines(check_text)
    spec = FlowSpec.model_validate(document.data)
    started = time.process_time()
    issues = validate_spec(spec, lines=document.lines, texts=document.texts)
    validate_s = time.process_time() - started
    if any(issue.severity == "error" for issue in issues):
        raise RuntimeError(f"the generated flow has errors: {issues[:3]}")
    return {"load": load_s, "validate": validate_s, "warnings": float(len(flow.warnings))}


def _run_once(src: Path | None, args: argparse.Namespace, run: int) -> dict[str, float]:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    argv = [sys.executable, "-m", "bench.validate_time", "--child", str(run)]
    argv += ["--keys", str(args.keys), "--templates", str(args.templates)]
    done = subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"bench.validate_time --child failed:\n{done.stderr[-2000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--templates", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--before", type=Path, help="a `src` tree to compare with")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(measure(args.keys, args.templates, 2 * args.child)))
        return 0
    sides: list[tuple[str, Path | None]] = [("after", None)]
    if args.before is not None:
        sides.insert(0, ("before", args.before.resolve()))
    results: dict[str, list[dict[str, float]]] = {name: [] for name, _ in sides}
    for run in range(args.runs):
        for name, src in sides:
            result = _run_once(src, args, run)
            results[name].append(result)
            print(
                f"{name:6s} load_flow_text {result['load']:6.3f} s  validate_spec "
                f"{result['validate']:6.3f} s  ({result['warnings']:.0f} warnings)",
                flush=True,
            )
    medians = {
        name: {part: statistics.median(run[part] for run in runs) for part in ("load", "validate")}
        for name, runs in results.items()
    }
    print(f"{args.keys} result keys, {args.templates} templates; medians of {args.runs} runs:")
    for name, figures in medians.items():
        print(
            f"  {name:6s} load_flow_text {figures['load']:.3f} s, "
            f"validate_spec {figures['validate']:.3f} s CPU"
        )
    if "before" in medians:
        for part in ("load", "validate"):
            ratio = medians["before"][part] / medians["after"][part]
            print(f"  before/after {part}: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
