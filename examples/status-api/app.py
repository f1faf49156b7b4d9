"""status-api: an example second stack of one's own (not the kit's): a small JSON API in Python's
standard library. The lines marked "kit" are what realtime-kit's contract asks of a second stack
(README: Your own images)."""
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(os.environ.get("PORT", "3000"))  # kit: listen on PORT (app.port)
HEALTH_PATH = os.environ.get("HEALTH_PATH", "/health")  # kit: the route app.healthPath names
NODE = os.environ.get("NODE_ID", "status-api")
stopping = threading.Event()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path == HEALTH_PATH:
            # kit: 200 while serving, 503 once stopping, so the load balancer takes the node out.
            self.reply(503 if stopping.is_set() else 200, {"status": "stopping" if stopping.is_set() else "ok"})
        elif self.path == "/api/status":
            self.reply(200, {"service": "status-api", "node": NODE, "healthy": True})
        else:
            self.reply(404, {"error": "not found"})

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        sys.stderr.write("%s %s\n" % (NODE, format % args))


server = ThreadingHTTPServer(("0.0.0.0", PORT), Handler)
server.daemon_threads = True


def stop(signum, frame):
    # kit: on SIGTERM fail the health route and exit promptly (well within 10 s).
    stopping.set()
    threading.Thread(target=server.shutdown, daemon=True).start()


signal.signal(signal.SIGTERM, stop)
print("status-api %s listening on %d" % (NODE, PORT), flush=True)
server.serve_forever()
server.server_close()
