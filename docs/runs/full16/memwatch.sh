#!/bin/bash
# Every 60 s: time, VmHWM and VmRSS of the full-scale run (issue 16), until it ends.
pid=$1
while kill -0 $pid 2>/dev/null; do
  echo "$(date -u +%FT%TZ) $(grep -E 'VmHWM|VmRSS' /proc/$pid/status | tr -s ' \t' ' ' | tr '\n' ' ') $(tail -c 300 ${2:-run1.err} | tr '\r' '\n' | grep -a attack | tail -1)" >> ${3:-mem.log}
  sleep 60
done
echo "$(date -u +%FT%TZ) ended" >> ${3:-mem.log}
