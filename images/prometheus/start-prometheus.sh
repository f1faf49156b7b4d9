#!/bin/bash
# Starts Prometheus with the deployment's scrape configuration. How long series are kept comes
# from RETENTION (e.g. 15d, the kit's metrics.retention); Prometheus 2.42 takes it only as a flag.
# Its log lines are JSON (ts, level, caller, msg and the event's own keys), as the kit's others.
set -euo pipefail
exec prometheus \
    --config.file=/etc/realtime-kit/prometheus.yml \
    --storage.tsdb.path=/var/lib/prometheus/metrics2 \
    --storage.tsdb.retention.time="${RETENTION:-15d}" \
    --web.listen-address=:9090 \
    --log.format=json
