import { test } from "uvu";
import * as assert from "uvu/assert";
import { MetricsRegistry, OVERFLOW_LABEL_VALUE, seriesBy } from "./metrics.ts";

test("renders counters, gauges and histograms in Prometheus text format", () => {
  const m = new MetricsRegistry();
  const c = m.counter("tw_events_total", "Events");
  c.inc({ stream: "a" }, 3);
  c.inc({ stream: "a" });
  c.inc({ stream: 'b"x' });
  m.gauge("tw_keys", "Keys").set(42);
  const h = m.histogram("tw_latency_seconds", "Latency", [0.1, 1]);
  h.observe(0.05);
  h.observe(0.5);
  const text = m.render();
  assert.match(text, "# TYPE tw_events_total counter\n");
  assert.match(text, 'tw_events_total{stream="a"} 4\n');
  assert.match(text, 'tw_events_total{stream="b\\"x"} 1\n');
  assert.match(text, "tw_keys 42\n");
  assert.match(text, 'tw_latency_seconds_bucket{le="0.1"} 1\n');
  assert.match(text, 'tw_latency_seconds_bucket{le="1"} 2\n');
  assert.match(text, 'tw_latency_seconds_bucket{le="+Inf"} 2\n');
  assert.match(text, "tw_latency_seconds_count 2\n");
  assert.is(m.counter("tw_events_total", "Events").get({ stream: "a" }), 4, "same family returned on re-registration");
  assert.throws(() => m.gauge("tw_events_total", "x"), /already registered/);
});

test("a frozen label set, bumped again and again, counts into the same series as an equal unfrozen one", () => {
  const m = new MetricsRegistry();
  const c = m.counter("tw_http_requests_total", "Requests");
  const frozen = Object.freeze({ method: "POST", route: "/v1/streams/:stream/events", status: 202 });
  for (let i = 0; i < 5; i++) c.inc(frozen);
  c.inc({ status: 202, route: "/v1/streams/:stream/events", method: "POST" });
  c.inc(Object.freeze({ method: "POST", route: "/v1/streams/:stream/events", status: 400 }));
  assert.is(c.get(frozen), 6);
  assert.match(m.render(), 'tw_http_requests_total{method="POST",route="/v1/streams/:stream/events",status="202"} 6\n');
  assert.match(m.render(), 'tw_http_requests_total{method="POST",route="/v1/streams/:stream/events",status="400"} 1\n');
});

test("a label set names one series whatever the order of its labels, also past the label cache's size", () => {
  // More series than the render cache holds (10 000): a counter bound above that.
  const m = new MetricsRegistry({ maxCounterSeries: 20_000 });
  const c = m.counter("tw_x_total", "X");
  c.inc({ stream: "a", source: "http" });
  c.inc({ source: "http", stream: "a" }, 2);
  c.inc({ code: 1 });
  c.inc({ code: "1" });
  for (let i = 0; i < 12_000; i++) c.inc({ n: i });
  c.inc({ stream: "a", source: "http" });
  assert.is(c.get({ source: "http", stream: "a" }), 4);
  assert.is(c.get({ code: 1 }), 2, "1 and \"1\" render alike, so they are one series");
  assert.is(c.get({ n: 5 }), 1);
  assert.is(c.get({ n: 11_999 }), 1);
  assert.match(m.render(), 'tw_x_total{source="http",stream="a"} 4\n');
});

test("a bound series counts into the label set's series, and seriesBy binds one per set of values, also past its size", () => {
  const m = new MetricsRegistry();
  const c = m.counter("tw_events_accepted_total", "Accepted");
  const bound = c.series({ stream: "a", source: "http" });
  bound.inc(3);
  bound.inc();
  c.inc({ source: "http", stream: "a" }, 2);
  assert.is(c.get({ stream: "a", source: "http" }), 6);
  const accepted = seriesBy(c, ["stream", "source"], 4);
  assert.is(accepted("a", "http"), accepted("a", "http"), "kept");
  const kept = accepted("a", "http");
  kept.inc(10);
  accepted("a", "ws").inc();
  for (let i = 0; i < 10; i++) accepted(`s${i}`, "http").inc(i);
  assert.is.not(accepted("a", "http"), kept, "more than 4 kept: it started over");
  accepted("a", "http").inc(); // bound again, the same series
  assert.is(c.get({ stream: "a", source: "http" }), 17);
  assert.is(c.get({ stream: "a", source: "ws" }), 1);
  assert.is(c.get({ stream: "s9", source: "http" }), 9);
  assert.match(m.render(), 'tw_events_accepted_total{source="http",stream="a"} 17\n');
  const byStatus = seriesBy(m.counter("tw_http_requests_total", "Requests"), ["status", "method", "route"]);
  byStatus(202, "POST", "/v1/streams/:stream/events").inc();
  byStatus(202, "POST", "/v1/streams/:stream/events").inc();
  byStatus(400, "POST", "/v1/streams/:stream/events").inc();
  assert.match(m.render(), 'tw_http_requests_total{method="POST",route="/v1/streams/:stream/events",status="202"} 2\n');
  assert.match(m.render(), 'tw_http_requests_total{method="POST",route="/v1/streams/:stream/events",status="400"} 1\n');
});

test("a counter keeps at most maxCounterSeries series: later label sets count in one overflow series, the sum stays exact, kept ones go on counting", () => {
  const m = new MetricsRegistry({ maxCounterSeries: 3 });
  const c = m.counter("tw_events_accepted_total", "Accepted");
  let total = 0;
  for (let i = 0; i < 10; i++) {
    c.inc({ stream: `s${i}`, source: "http" }, i + 1);
    total += i + 1;
  }
  c.inc({ stream: "s0", source: "http" }, 100); // kept: its own series
  total += 100;
  const bound = seriesBy(c, ["stream", "source"])("s99", "ws"); // past the bound: the overflow series
  bound.inc(5);
  total += 5;
  const lines = m.render().split("\n").filter((l) => l.startsWith("tw_events_accepted_total{"));
  assert.equal(lines.sort(), [
    `tw_events_accepted_total{source="${OVERFLOW_LABEL_VALUE}",stream="${OVERFLOW_LABEL_VALUE}"} ${4 + 5 + 6 + 7 + 8 + 9 + 10 + 5}`,
    'tw_events_accepted_total{source="http",stream="s0"} 101',
    'tw_events_accepted_total{source="http",stream="s1"} 2',
    'tw_events_accepted_total{source="http",stream="s2"} 3',
  ]);
  assert.is(lines.reduce((n, l) => n + Number(l.split(" ")[1]), 0), total);
  // Another counter has a bound of its own; gauges are not bounded (their labels are the code's).
  const other = m.counter("tw_events_decoded_total", "Decoded");
  other.inc({ stream: "x" });
  assert.is(other.get({ stream: "x" }), 1);
});

test("another registry's snapshot renders along: one HELP/TYPE per family, a series both have listed once", () => {
  const main = new MetricsRegistry();
  const stages = new MetricsRegistry();
  main.counter("tw_actor_messages_total", "Messages").inc({ actor: "trends" }, 2);
  stages.counter("tw_actor_messages_total", "Messages").inc({ actor: "decode" }, 5);
  main.gauge("process_resident_memory_bytes", "RSS").set(100);
  stages.gauge("process_resident_memory_bytes", "RSS").set(7);
  stages.counter("tw_events_aggregated_total", "Aggregated").inc({ stream: "s" }, 9);
  const text = main.render(stages.snapshot());
  assert.is(text.match(/# TYPE tw_actor_messages_total counter/g)?.length, 1);
  assert.match(text, 'tw_actor_messages_total{actor="trends"} 2\n');
  assert.match(text, 'tw_actor_messages_total{actor="decode"} 5\n');
  assert.match(text, "process_resident_memory_bytes 100\n");
  assert.not.match(text, "process_resident_memory_bytes 7");
  assert.match(text, "# TYPE tw_events_aggregated_total counter\ntw_events_aggregated_total{stream=\"s\"} 9\n");
  assert.not.match(main.render(), 'actor="decode"', "without a snapshot only its own series");
});

test.run();
