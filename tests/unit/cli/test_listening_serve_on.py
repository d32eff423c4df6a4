"""`botfleet.cli.listening.serve_on`: uvicorn serving sockets bound before the app starts, as
`uvicorn.run` would (the start line an operator reads, status 3 for an app that did not
start). Real processes: uvicorn installs its signal handlers in a main thread only."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from botfleet.testing.faults import free_port
from serve_process import run_to_exit, started

#: A minimal ASGI app served by `serve_on` on 127.0.0.1:<argv 1>; argv 2 says whether its
#: start-up fails. uvicorn's lines as `<logger> <message>` on stdout.
SERVER = textwrap.dedent(
    """
    import logging, sys
    import uvicorn
    from botfleet.cli.listening import bind_listening_sockets, serve_on

    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(name)s %(message)s")
    port, fail = int(sys.argv[1]), sys.argv[2] == "fail"

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    kind = "failed" if fail else "complete"
                    await send({"type": f"lifespan.startup.{kind}", "message": "refused"})
                    if fail:
                        return
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None)
    serve_on(config, bind_listening_sockets("127.0.0.1", port))
    """
)


def test_a_started_server_says_where_it_listens(tmp_path: Path) -> None:
    port = free_port()
    with started([sys.executable, "-c", SERVER, str(port), "start"], cwd=tmp_path) as server:
        server.wait_until_answering(f"http://127.0.0.1:{port}/")
        output = server.stop().stdout
    # uvicorn writes this line itself only for sockets it binds (`uvicorn.run`).
    assert (
        f"uvicorn.error Uvicorn running on http://127.0.0.1:{port} (Press CTRL+C to quit)"
        in output.splitlines()
    )
    assert "uvicorn.error Application startup complete." in output.splitlines()


def test_an_app_that_does_not_start_exits_3(tmp_path: Path) -> None:
    port = free_port()
    result = run_to_exit([sys.executable, "-c", SERVER, str(port), "fail"], cwd=tmp_path)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "Uvicorn running on" not in result.stdout
