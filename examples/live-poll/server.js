// A live poll: clients join a poll, vote, and every client of the poll sees every vote, whichever
// node it is connected to. Written as any Socket.IO server; the lines marked "kit" are what
// realtime-kit's contract asks of it (README: Your own images).
"use strict";
const http = require("node:http");
const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const { createClient } = require("redis");

const env = process.env;
const port = Number(env.PORT || 8080); // kit: listen on PORT
const healthPath = env.HEALTH_PATH || "/healthz"; // kit: answer HEALTH_PATH
let stopping = false;

const httpServer = http.createServer((req, res) => {
  if (req.url === healthPath) {
    // kit: 200 while serving, 503 from the moment it stops, so the load balancer takes it out.
    res.writeHead(stopping ? 503 : 200, { "Content-Type": "text/plain" });
    res.end(stopping ? "stopping\n" : "ok\n");
    return;
  }
  res.writeHead(404, { "Content-Type": "text/plain" });
  res.end("not found\n");
});

// kit: heartbeat, message size, sticky cookie and CORS from the environment.
const io = new Server(httpServer, {
  pingInterval: Number(env.PING_INTERVAL_MS || 25000),
  pingTimeout: Number(env.PING_TIMEOUT_MS || 20000),
  maxHttpBufferSize: Number(env.MAX_HTTP_BUFFER_SIZE || 1e6),
  cookie: env.STICKY_COOKIE ? { name: env.STICKY_COOKIE, path: "/", httpOnly: true, sameSite: "lax" } : false,
  cors: env.CORS_ORIGINS ? { origin: env.CORS_ORIGINS.split(","), credentials: true } : undefined,
});

// kit: with session stickiness every session id begins with this node's name, which HAProxy routes on.
if (env.SESSION_ID_PREFIX) {
  const generateId = io.engine.generateId.bind(io.engine);
  io.engine.generateId = async (req) => `${env.SESSION_ID_PREFIX}.${await generateId(req)}`;
}

io.on("connection", (socket) => {
  socket.on("join", (poll, ack) => {
    if (typeof poll !== "string" || poll.length > 64) return ack?.({ error: "poll must be a short string" });
    socket.join(`poll:${poll}`);
    ack?.({ joined: poll, node: env.NODE_ID });
  });
  socket.on("vote", ({ poll, choice } = {}, ack) => {
    if (!socket.rooms.has(`poll:${poll}`)) return ack?.({ error: "join the poll first" });
    // Through the Redis adapter this reaches the poll's clients on every node.
    io.to(`poll:${poll}`).emit("voted", { poll, choice, node: env.NODE_ID });
    ack?.({ ok: true });
  });
  socket.on("voters", async (poll, ack) => {
    // fetchSockets asks every node (over Redis) which of its clients are in the poll.
    const sockets = await io.in(`poll:${poll}`).fetchSockets();
    ack?.({ poll, voters: sockets.length });
  });
});

async function main() {
  // kit: in multi-node the kit gives REDIS_URL and ADAPTER; this example speaks the plain Redis adapter.
  if (env.REDIS_URL) {
    if (env.ADAPTER && env.ADAPTER !== "redis") throw new Error(`ADAPTER=${env.ADAPTER}: this example uses the redis adapter only`);
    const pub = createClient({ url: env.REDIS_URL });
    const sub = pub.duplicate();
    for (const client of [pub, sub]) client.on("error", (error) => console.error("redis:", error.message));
    await Promise.all([pub.connect(), sub.connect()]);
    io.adapter(createAdapter(pub, sub));
  }
  httpServer.listen(port, "0.0.0.0", () => console.log(`live-poll ${env.NODE_ID || ""} listening on ${port}`));
}

// kit: on SIGTERM fail the health route, take no new sessions, let every client go, exit within 10 s.
process.on("SIGTERM", () => {
  if (stopping) return;
  stopping = true;
  console.log("SIGTERM: closing");
  setTimeout(() => process.exit(0), 5000).unref();
  io.close(() => process.exit(0)); // disconnects every client and closes the HTTP server
});

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
