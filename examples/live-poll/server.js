// A live poll: clients join a poll, vote, and every client of the poll sees every vote, whichever
// node it is connected to. An application of one's own, written with @realtime-kit/server, which
// does what realtime-kit's contract asks (README: Your own images): listen on PORT, answer
// HEALTH_PATH, take the heartbeat, message size, sticky cookie, session id prefix and CORS from the
// environment, use the Redis adapter at REDIS_URL, serve Prometheus metrics on METRICS_PORT (with
// prom-client installed), and stop gracefully on SIGTERM.
"use strict";
const { createKitServer } = require("@realtime-kit/server");

const kit = createKitServer();
const { io } = kit;
const node = kit.env.nodeId;

io.on("connection", (socket) => {
  socket.on("join", (poll, ack) => {
    if (typeof poll !== "string" || poll.length > 64) return ack?.({ error: "poll must be a short string" });
    socket.join(`poll:${poll}`);
    ack?.({ joined: poll, node });
  });
  socket.on("vote", ({ poll, choice } = {}, ack) => {
    if (!socket.rooms.has(`poll:${poll}`)) return ack?.({ error: "join the poll first" });
    // Through the Redis adapter this reaches the poll's clients on every node.
    io.to(`poll:${poll}`).emit("voted", { poll, choice, node });
    ack?.({ ok: true });
  });
  socket.on("voters", async (poll, ack) => {
    // fetchSockets asks every node (over Redis) which of its clients are in the poll.
    const sockets = await io.in(`poll:${poll}`).fetchSockets();
    ack?.({ poll, voters: sockets.length });
  });
});

kit.listen().catch((error) => {
  console.error(error);
  process.exit(1);
});
