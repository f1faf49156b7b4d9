/* realtime-kit chat page. Plain browser JavaScript, no build step. */
(function () {
  "use strict";

  var $ = function (id) { return document.getElementById(id); };
  var list = $("messages");
  var input = $("input");
  var sendButton = $("send");

  function setState(state) {
    $("state").textContent = state;
    $("state").setAttribute("data-state", state);
    var usable = state === "connected";
    input.disabled = !usable;
    sendButton.disabled = !usable;
  }

  function showError(text) {
    $("error").textContent = text;
    $("error").hidden = !text;
  }

  function nearBottom() {
    var main = list.parentElement;
    return main.scrollHeight - main.scrollTop - main.clientHeight < 60;
  }

  function scrollDown() {
    var main = list.parentElement;
    main.scrollTop = main.scrollHeight;
  }

  function addMessage(msg, mine) {
    var stick = nearBottom() || mine;
    var li = document.createElement("li");
    if (mine) li.className = "mine";
    li.setAttribute("data-id", msg.id);
    var meta = document.createElement("span");
    meta.className = "meta";
    var when = new Date(msg.at);
    meta.textContent = (isNaN(when.getTime()) ? "" : when.toLocaleTimeString() + " ") + "via " + msg.node + (mine ? " (you)" : "");
    var text = document.createElement("span");
    text.className = "text";
    text.textContent = msg.text;
    li.appendChild(meta);
    li.appendChild(text);
    list.appendChild(li);
    if (stick) scrollDown();
  }

  function addSystem(text) {
    var li = document.createElement("li");
    li.className = "system";
    li.textContent = text;
    list.appendChild(li);
    scrollDown();
  }

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = src;
      s.onload = resolve;
      s.onerror = function () { reject(new Error("cannot load " + src)); };
      document.head.appendChild(s);
    });
  }

  /** Split-port deployments publish the realtime endpoints on another port of the same host. */
  function realtimeBase() {
    return fetch("/chat/config.json", { cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : {}; })
      .catch(function () { return {}; })
      .then(function (cfg) {
        var port = cfg && typeof cfg.realtimePort === "number" ? cfg.realtimePort : null;
        return port === null ? "" : location.protocol + "//" + location.hostname + ":" + port;
      });
  }

  function start(base) {
    /* global io */
    var socket = base ? io(base, { withCredentials: true }) : io();
    window.chatSocket = socket; // handy for debugging and for browser tests

    function refreshWhoami() {
      socket.emit("whoami", function (who) {
        $("node").textContent = who.node;
        $("transport").textContent = who.transport;
      });
    }

    socket.on("connect", function () {
      setState("connected");
      showError("");
      refreshWhoami();
      socket.io.engine.once("upgrade", refreshWhoami);
    });
    socket.on("disconnect", function (reason) {
      setState("disconnected");
      $("transport").textContent = "-";
      addSystem("disconnected (" + reason + "), reconnecting...");
    });
    socket.on("connect_error", function (err) {
      setState("error");
      showError("cannot connect: " + err.message);
    });
    socket.on("history", function (messages) {
      list.textContent = "";
      (messages || []).forEach(function (m) { addMessage(m, false); });
      scrollDown();
    });
    socket.on("chat", function (msg) { addMessage(msg, false); });

    $("form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var text = input.value;
      if (!text) return;
      socket.timeout(5000).emit("chat", text, function (err, res) {
        if (err) return showError("no answer from the server");
        if (!res.ok) return showError(res.error);
        showError("");
        addMessage({ id: res.id, text: text, node: res.node, at: Date.now() }, true);
      });
      input.value = "";
      input.focus();
    });
  }

  realtimeBase()
    .then(function (base) {
      return loadScript(base + "/socket.io/socket.io.js").then(function () { start(base); });
    })
    .catch(function (err) {
      setState("error");
      showError(err.message);
    });
})();
