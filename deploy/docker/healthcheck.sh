#!/usr/bin/env bash
# The container's HEALTHCHECK: GET /health over bash's /dev/tcp, because the aspnet image has no curl or
# wget and installing one only for this would add packages (and their CVEs) to every image.
# Healthy = the status line says 200. The port is the first of ASPNETCORE_HTTP_PORTS (9095 in our image).
set -euo pipefail
port="${ASPNETCORE_HTTP_PORTS:-9095}"
port="${port%%[,;]*}"
exec 3<>"/dev/tcp/127.0.0.1/${port}"
printf 'GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
IFS= read -r -t 4 status <&3
[[ "$status" == HTTP/1.1\ 200* ]]
