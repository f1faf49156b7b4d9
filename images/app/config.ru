# frozen_string_literal: true

# realtime-kit "second stack": the chapter's Rack app on :3000, behind the same proxies as the
# Socket.IO server. Debian's ruby + ruby-rack, served by Debian's puma (see Dockerfile).
#
#   GET /ping      -> "PONG. EOM." (text/plain)
#   GET /          -> a small HTML page
#   GET /api/info  -> {"node": NODE_ID, "path": request path, "time": ISO-8601 UTC}
#   POST /api/upload -> {"node": NODE_ID, "bytes": body size, "sha256": body digest}
#
# Request bodies over MAX_BODY_BYTES (the deployment's limits.maxMessageBytes) get 413, counted as
# they are read: behind HAProxy alone a chunked body reaches this app unmeasured (HAProxy cannot
# count a streamed body), so the app that reads the body holds the limit.
#
# Every response carries X-App-Node: NODE_ID; every request is logged to stdout as one JSON line
# (JsonAccessLog), as the kit's other containers log, so `realtime-kit logs --json` and a log
# shipper read fields rather than Common Log Format.

require "digest"
require "json"
require "stringio"
require "socket"
require "time"
require "rack"

$stdout.sync = true

NODE_ID = (ENV["NODE_ID"].to_s.strip.empty? ? Socket.gethostname : ENV["NODE_ID"].strip).freeze

# One JSON object per line, keyed like the realtime nodes' lines (t, level, node, msg). A module:
# config.ru runs inside Rack::Builder, where a `def` would not reach the middlewares.
module JsonLog
  def self.line(level, msg, fields = {})
    $stdout.puts(JSON.generate({ t: Time.now.utc.iso8601(3), level: level, node: NODE_ID, msg: msg }.merge(fields)))
  end
end

# Logs every request once its response is ready: the client (and X-Forwarded-For, as a proxy
# sent it), the request line, the status, the body size and how long the app took.
class JsonAccessLog
  def initialize(app)
    @app = app
  end

  def call(env)
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    status, headers, body = @app.call(env)
    fields = {
      client: env["REMOTE_ADDR"],
      forwarded_for: env["HTTP_X_FORWARDED_FOR"],
      method: env["REQUEST_METHOD"],
      path: env["PATH_INFO"],
      query: env["QUERY_STRING"].to_s.empty? ? nil : env["QUERY_STRING"],
      status: status.to_i,
      bytes: headers["Content-Length"]&.to_i,
      duration_ms: ((Process.clock_gettime(Process::CLOCK_MONOTONIC) - started) * 1000).round(2),
    }.compact
    JsonLog.line("info", "request", fields)
    [status, headers, body]
  end
end

# Adds X-App-Node to every response, including errors and 404s from the app below.
class AppNodeHeader
  def initialize(app, node)
    @app = app
    @node = node
  end

  def call(env)
    status, headers, body = @app.call(env)
    headers["X-App-Node"] = @node
    [status, headers, body]
  rescue StandardError => e
    JsonLog.line("error", "request failed", error: e.class.name, detail: e.message, path: env["PATH_INFO"])
    [500, { "Content-Type" => "text/plain; charset=utf-8", "X-App-Node" => @node }, ["500 Internal Server Error\n"]]
  end
end

MAX_BODY_BYTES = Integer(ENV.fetch("MAX_BODY_BYTES", "1000000"))

# 413 for a body over the limit, whether it came with a Content-Length or chunked.
class BodyLimit
  TOO_LARGE = [413, { "Content-Type" => "text/plain; charset=utf-8", "Connection" => "close" }, ["413 Payload Too Large\n"]].freeze

  def initialize(app, limit)
    @app = app
    @limit = limit
  end

  def call(env)
    return TOO_LARGE.map(&:dup) if env["CONTENT_LENGTH"].to_i > @limit

    input = env["rack.input"]
    if input && env["CONTENT_LENGTH"].nil?
      body = input.read(@limit + 1) || +""
      return TOO_LARGE.map(&:dup) if body.bytesize > @limit

      env["rack.input"] = StringIO.new(body)
      env["CONTENT_LENGTH"] = body.bytesize.to_s
    end
    @app.call(env)
  end
end

class App
  HTML = <<~HTML
    <!doctype html>
    <html lang="en">
    <head><meta charset="utf-8"><title>realtime-kit app</title>
    <style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1d232a}
    code{background:#eef1f4;padding:.1rem .3rem;border-radius:4px}</style></head>
    <body>
      <h1>realtime-kit app</h1>
      <p>The second stack (Rack on Puma), answering as node <code>%<node>s</code>.</p>
      <ul>
        <li><a href="/ping"><code>/ping</code></a> - liveness</li>
        <li><a href="/api/info"><code>/api/info</code></a> - JSON: node, path, time</li>
        <li><a href="/chat/"><code>/chat/</code></a> - the Socket.IO chat (served by the realtime tier)</li>
      </ul>
    </body>
    </html>
  HTML

  def call(env)
    req = Rack::Request.new(env)
    return upload(req) if req.post? && req.path_info == "/api/upload"
    return text(405, "405 Method Not Allowed\n", "Allow" => "GET, HEAD") unless req.get? || req.head?

    case req.path_info
    when "/ping"
      text(200, "PONG. EOM.")
    when "/"
      page = format(HTML, node: Rack::Utils.escape_html(NODE_ID))
      [200, { "Content-Type" => "text/html; charset=utf-8", "Cache-Control" => "no-cache" }, [page]]
    when "/api/info", "/api/info/"
      body = JSON.generate(node: NODE_ID, path: req.path_info, time: Time.now.utc.iso8601(3))
      [200, { "Content-Type" => "application/json", "Cache-Control" => "no-store" }, [body]]
    else
      text(404, "404 Not Found\n")
    end
  end

  private

  def upload(req)
    body = req.body.read
    json = JSON.generate(node: NODE_ID, bytes: body.bytesize, sha256: Digest::SHA256.hexdigest(body))
    [200, { "Content-Type" => "application/json", "Cache-Control" => "no-store" }, [json]]
  end

  def text(status, body, extra = {})
    [status, { "Content-Type" => "text/plain; charset=utf-8" }.merge(extra), [body]]
  end
end

use JsonAccessLog
use AppNodeHeader, NODE_ID
use BodyLimit, MAX_BODY_BYTES
use Rack::Head
use Rack::ContentLength
run App.new
