"""Traces from files, answered as Tempo answers `/api/v2/traces/<id>`: protobuf to a client
that accepts it, JSON otherwise. A stand-in Tempo in its own process for the console benchmark,
so serving costs the console nothing and the bytes cross a real socket.

    python -m benchmarks.tempo_files PORT DIRECTORY

DIRECTORY holds `<trace id>.pb` (Tempo's TraceByIDResponse) and `<trace id>.json`.
"""

from __future__ import annotations

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PREFIX = "/api/v2/traces/"


def handler(directory: Path) -> type[BaseHTTPRequestHandler]:
    class Traces(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            trace_id = self.path.removeprefix(PREFIX)
            protobuf = "application/protobuf" in self.headers.get("Accept", "")
            path = directory / f"{trace_id}.{'pb' if protobuf else 'json'}"
            if not self.path.startswith(PREFIX) or not path.is_file():
                self.send_error(404, "trace not found")
                return
            body = path.read_bytes()
            self.send_response(200)
            self.send_header(
                "Content-Type", "application/protobuf" if protobuf else "application/json"
            )
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Traces


def main() -> None:
    port, directory = int(sys.argv[1]), Path(sys.argv[2])
    ThreadingHTTPServer(("127.0.0.1", port), handler(directory)).serve_forever()


if __name__ == "__main__":
    main()
