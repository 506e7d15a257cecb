/** `npm run bench -- pipeline --help`. */
export const pipelineHelp = `Usage: npm run bench -- pipeline [options]
       node dist/bench/main.js pipeline [options]

Measures, side by side in one run, a bare node:http parse-only server (and, with --servers
hono, the same on Hono) and the full Trendwire pipeline (the real CLI, 'trendwire run', in
child processes) for three cases:
  json     JSON arrays of --batch-size events per request
  msgpack  MessagePack arrays of --batch-size events (Content-Type application/msgpack)
  single   one JSON event per request
For the pipeline, events/s end to end counts only events that went all the way through: after
the load stops it waits until the pipeline has drained (bounded by --drain-timeout) — embedded:
/metrics shows every accepted event aggregated; JetStream: every consumer of TW_RAW, TW_EVENTS
and TW_AGG has nothing pending or unacknowledged (nats-server's /jsz).

With --transport nats (the same as embedded,nats) every case also runs through NATS JetStream,
beside the embedded pipeline: a fresh nats-server (scripts/nats-server.sh's pinned binary, file
store, sync_interval: always, max_payload 8MB) on free loopback ports, and one 'trendwire run
--nats <url>' process per actor kind sharing one --data-dir: ingest+trends (HTTP), decode,
aggregate (× --aggregate-instances), detect, persist. Then, for each transport, a latency phase
on a fresh deployment: a steady load of MessagePack batches with ts = now and, once per window,
one key surging; it reports how long after sending the window's first request (and after the
window's end) the surge's trend signal arrives over SSE (GET /v1/trends/stream) and, for
JetStream, on a plain NATS subscription (tw.json.trends.latency.>).

Prints the machine, tables (among them each pipeline process's CPU by thread: the main
thread, the busiest other one, all but the main one, and how long the first two waited for a
core), and one JSON object as the last line of stdout. Targets (embedded >= 50 % of bare;
JetStream >= 60 % of embedded events/s; trend p99 < one window + 250 ms) are reported, never
asserted: the exit code is 0 either way.

Options:
  --duration <s>            measured seconds per case and server (default 10)
  --warmup <s>              warm-up seconds before measuring (default 2)
  --connections <n>         keep-alive connections for every case (overrides the two below)
  --batch-connections <n>   connections for the batch cases (default 16)
  --single-connections <n>  connections for the single-event case (default 64)
  --batch-size <n>          events per batch request (default 1000)
  --bodies <n>              distinct pre-encoded bodies sent in rotation (default 64)
  --keys <n>                distinct event keys (default 10000)
  --cases <list>            comma-separated cases (default json,msgpack,single; with
                            --transport nats: msgpack)
  --servers <list>          comma-separated: bare, hono, pipeline (default bare,pipeline). hono
                            is the bare server's work on Hono as Trendwire serves its routes
                            but the direct one (@hono/node-server through the Node adapter,
                            the edge's routes): the framework's own ceiling, reported as
                            hono/bare and, with the pipeline, pipeline/hono beside the target
  --transport <list>        embedded (default) or nats / embedded,nats (both, side by side)
  --nats-topology <t>       split (default): one process per actor kind; single: every kind in
                            one process over NATS
  --aggregate-instances <n> aggregate processes in the split topology (default 1)
  --drain-timeout <s>       longest wait for the pipeline to drain (default 60)
  --repeat <n>              run the cases n times over (default 1); the tables then show each
                            deployment's median run, followed by every repetition's
                            pipeline/bare ratio (bare and pipeline measured one after the
                            other; with hono, pipeline/hono too) and their median, range and
                            target
  --run-args="<args>"       extra arguments for every 'trendwire run' (note the =), e.g.
                            --run-args="--sync-interval-ms 5"
  --profile <dir>           run the pipeline processes under node --cpu-prof, keep the
                            .cpuprofile files in <dir>/<case-process>/ (one per thread) and
                            print the top self-time functions of each thread of the hottest
                            process of each run (the embedded pipeline has two threads)
  --top <n>                 functions listed per profile (default 25)

Latency phase (runs when --latency-surges > 0; default 6 with --transport nats, else 0):
  --latency-surges <n>      surge windows measured per transport (one key surges per window)
  --window-ms <ms>          window length of the latency phase's pipelines (default 10000;
                            the throughput runs keep the product default unless --run-args)
  --max-out-of-order-ms <ms> watermark lag of the latency phase's pipelines (default 100)
  --latency-rate <n>        steady events/s (default 20000)
  --latency-interval-ms <ms> one request every so often (default 25)
  --latency-surge-events <n> extra events of the surging key in its window (default 200;
                            its baseline is ~20 a window)
  --latency-keys <n>        background keys (default 1000)
  --help                    show this help
`;
