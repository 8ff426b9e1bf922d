#!/bin/bash
# Remote-write ingest, Aida vs VictoriaMetrics on this machine. Needs: dotnet build -c Release src/Aida.Cli bench/Aida.Bench.
# Extra arguments go to remote-write-load (later options win), e.g. --samples-per-series 100 --interval-seconds 3 --runs 7.
# Starts aida serve and VictoriaMetrics on fresh dirs, runs the load generator against both (alternating), stops both by PID.
set -u
B=$(mktemp -d); mkdir -p $B/aida $B/vm
cd "$(dirname "$0")/../.."
dotnet src/Aida.Cli/bin/Release/net10.0/aida.dll serve --data $B/aida --listen 127.0.0.1:19480 > $B/aida.log 2>&1 & AIDA=$!
victoria-metrics -httpListenAddr=127.0.0.1:18428 -storageDataPath=$B/vm -retentionPeriod=1d -search.latencyOffset=0s -search.disableCache > $B/vm.log 2>&1 & VM=$!
for i in $(seq 100); do curl -sf 127.0.0.1:18428/health >/dev/null && curl -s -o /dev/null 127.0.0.1:19480/api/v1/labels && break; sleep 0.2; done
dotnet bench/Aida.Bench/bin/Release/net10.0/Aida.Bench.dll remote-write-load \
  --target aida=http://127.0.0.1:19480/api/v1/write --target vm=http://127.0.0.1:18428/api/v1/write \
  --series 10000 --samples-per-series 30 --batch 2000 --concurrency 2 --runs 5 --warmup 1 "$@"
rc=$?
# Sanity: how many samples each holds now.
curl -s 127.0.0.1:18428/internal/force_flush >/dev/null; sleep 2
echo "aida count:"; curl -s "127.0.0.1:19480/api/v1/query" --data-urlencode 'query=sum(count_over_time(rwbench_temperature_celsius[3h]))'; echo
echo "vm count:";   curl -s "127.0.0.1:18428/api/v1/query" --data-urlencode 'query=sum(count_over_time(rwbench_temperature_celsius[3h]))'; echo
kill $AIDA $VM; wait $AIDA $VM 2>/dev/null; rm -rf $B
exit $rc
