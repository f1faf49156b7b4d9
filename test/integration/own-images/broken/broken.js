// A Socket.IO server that breaks one rule of the kit's contract, chosen by BROKEN (baked in at
// build time): each mode is one of the images `verify-image` must refuse with its own message.
"use strict";
const http = require("node:http");
const { Server } = require("/app/node_modules/socket.io");

const env = process.env;
const mode = env.BROKEN;
const server = http.createServer((req, res) => {
  if (req.url === env.HEALTH_PATH && mode !== "no-health-route") {
    res.writeHead(mode === "health-500" ? 500 : 200);
    res.end();
    return;
  }
  res.writeHead(404);
  res.end();
});
const io = new Server(server, {
  pingInterval: Number(env.PING_INTERVAL_MS),
  pingTimeout: Number(env.PING_TIMEOUT_MS),
  maxHttpBufferSize: Number(env.MAX_HTTP_BUFFER_SIZE),
});
if (env.SESSION_ID_PREFIX && mode !== "no-session-prefix") {
  const generateId = io.engine.generateId.bind(io.engine);
  io.engine.generateId = async (req) => `${env.SESSION_ID_PREFIX}.${await generateId(req)}`;
}
process.on("SIGTERM", () => {
  if (mode === "ignores-sigterm") console.log("SIGTERM ignored");
  else io.close(() => process.exit(0));
});
server.listen(Number(env.PORT), "0.0.0.0");
