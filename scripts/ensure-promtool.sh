#!/usr/bin/env bash
# Installs promtool (Debian package `prometheus`) when it is missing, so that the metric and
# Prometheus-config tests run instead of skipping. Without root or apt it warns and goes on:
# those tests then skip with a message naming the missing binary.
#
# The package also ships a Prometheus server with a service that its post-install script
# would start (listening on :9090 and :9100 for the node exporter). A policy-rc.d that
# answers 101 ("action forbidden") keeps invoke-rc.d from starting anything during the
# install; it is removed afterwards unless it was already there.
set -euo pipefail

if command -v promtool >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "warning: promtool is missing and cannot be installed here (needs root and apt-get);" \
    "the promtool checks will be skipped" >&2
  exit 0
fi

policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod +x "$policy"
  own_policy=1
fi
cleanup() { if [ "$own_policy" = 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
if ! (apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus >/dev/null); then
  echo "warning: installing the prometheus package failed; the promtool checks will be skipped" >&2
  exit 0
fi
command -v promtool >/dev/null 2>&1 && echo "promtool installed: $(promtool --version 2>&1 | head -n 1)"
