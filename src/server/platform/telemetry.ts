import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type Metric,
} from 'prom-client';

/** One line of a metric, as prom-client's registry formats it. */
interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

/** The event-loop sampler's interval, as prom-client's and the health sampler's. */
const LOOP_SAMPLE_MS = 10;

/** One series of a `FastHistogram`: its labels, its per-bucket counts, their sum and count. */
class HistogramSeries {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly buckets: readonly number[],
  ) {
    this.counts = buckets.map(() => 0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count += 1;
    const { buckets, counts } = this;
    for (let i = 0; i < buckets.length; i++) {
      if (value <= (buckets[i] as number)) {
        counts[i] = (counts[i] as number) + 1;
        return;
      }
    }
  }
}

/**
 * A histogram for what is observed on every delivery or request (a broadcast to 1,000 sockets
 * observes 1,000 times): a series is looked up once (`series`) and each observation is a few
 * comparisons and additions, where prom-client's `Histogram` hashes the labels and looks the
 * series up every time. Registered as a prom-client metric, whose text format it feeds as
 * prom-client's own histograms do.
 */
class FastHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly all = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
    private readonly labelNames: readonly string[] = [],
  ) {
    // A histogram without labels shows its zeros from the start.
    if (labelNames.length === 0) this.series();
  }

  /** The series of these label values (in `labelNames`' order); keep it rather than ask again. */
  series(...values: string[]): HistogramSeries {
    const key = values.join('\u0000');
    let series = this.all.get(key);
    if (!series) {
      const labels = Object.fromEntries(this.labelNames.map((name, i) => [name, values[i] ?? '']));
      series = new HistogramSeries(labels, this.buckets);
      this.all.set(key, series);
    }
    return series;
  }

  get() {
    const bucket = `${this.name}_bucket`;
    const values: MetricValue[] = [];
    for (const { labels, counts, sum, count } of this.all.values()) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += counts[i] as number;
        values.push({ labels: { ...labels, le }, value: cumulative, metricName: bucket });
      });
      values.push(
        { labels: { ...labels, le: '+Inf' }, value: count, metricName: bucket },
        { labels, value: sum, metricName: `${this.name}_sum` },
        { labels, value: count, metricName: `${this.name}_count` },
      );
    }
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      values,
      aggregator: this.aggregator,
    });
  }

  /** Zeroes every series in place (their holders keep them). */
  reset(): void {
    for (const series of this.all.values()) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }
}

/** Prometheus metrics of one server; a registry per server so tests can run several. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'pulse_process_' });
  const connectionsOpen = new Gauge({
    name: 'pulse_connections_open',
    help: 'Open real-time connections by transport',
    labelNames: ['transport'] as const,
    registers: [registry],
  });
  const subscriptionsActive = new Gauge({
    name: 'pulse_subscriptions_active',
    help: 'Open subscriptions on this instance',
    registers: [registry],
  });
  const eventsPublished = new Counter({
    name: 'pulse_events_published_total',
    help: 'Events made ready for delivery on this instance',
    registers: [registry],
  });
  const eventsDelivered = new Counter({
    name: 'pulse_events_delivered_total',
    help: 'Events written to subscribers',
    registers: [registry],
  });
  const slowConsumersDropped = new Counter({
    name: 'pulse_slow_consumers_dropped_total',
    help: 'Subscribers dropped because they fell too far behind (they resume by replay)',
    registers: [registry],
  });
  const deliveryLatency = new FastHistogram(
    'pulse_delivery_latency_seconds',
    'From an event being stored to it being written to a subscriber',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  );
  registry.registerMetric(deliveryLatency as unknown as Metric);
  const requestDuration = new FastHistogram(
    'pulse_request_duration_seconds',
    'HTTP request latency (queries, mutations, pages), by kind and status',
    [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    ['kind', 'status'],
  );
  registry.registerMetric(requestDuration as unknown as Metric);
  // By kind, then status: each request's series without building a key.
  const requestSeries = new Map<string, Map<number, HistogramSeries>>();
  const eventLoopDelay = new Histogram({
    name: 'pulse_event_loop_delay_seconds',
    help: `Event-loop delay: how long each ${LOOP_SAMPLE_MS} ms timer took to fire, the interval included (an idle loop reads ~${LOOP_SAMPLE_MS} ms), cumulative since start`,
    buckets: [
      0.011, 0.0125, 0.015, 0.0175, 0.02, 0.025, 0.03, 0.035, 0.04, 0.045, 0.05, 0.06, 0.075, 0.1,
      0.15, 0.25, 0.5, 1, 2.5, 5,
    ],
    registers: [registry],
  });
  const deprecatedCalls = new Counter({
    name: 'pulse_deprecated_calls_total',
    help: 'Calls of deprecated procedures, by procedure: while it grows, someone still relies on one',
    labelNames: ['procedure'] as const,
    registers: [registry],
  });
  connectionsOpen.set({ transport: 'sse' }, 0);
  connectionsOpen.set({ transport: 'ws' }, 0);

  // Hot-path counts are plain numbers, folded into prom-client when scraped.
  const counts = { delivered: 0, published: 0, dropped: 0, sse: 0, ws: 0, subscriptions: 0 };
  let flushed = { delivered: 0, published: 0, dropped: 0 };
  function flush() {
    eventsDelivered.inc(counts.delivered - flushed.delivered);
    eventsPublished.inc(counts.published - flushed.published);
    slowConsumersDropped.inc(counts.dropped - flushed.dropped);
    flushed = { delivered: counts.delivered, published: counts.published, dropped: counts.dropped };
    connectionsOpen.set({ transport: 'sse' }, counts.sse);
    connectionsOpen.set({ transport: 'ws' }, counts.ws);
    subscriptionsActive.set(counts.subscriptions);
  }

  // prom-client's `nodejs_eventloop_lag_*` figures start again at every scrape; this one never
  // does, so a percentile over any span is the difference of two scrapes. Each tick is one
  // observation, as in `monitorEventLoopDelay` (whose histogram cannot be read bucket by bucket).
  let last = performance.now();
  let sampler = setTimeout(function tick() {
    const now = performance.now();
    eventLoopDelay.observe((now - last) / 1000);
    last = now;
    sampler = setTimeout(tick, LOOP_SAMPLE_MS);
    sampler.unref();
  }, LOOP_SAMPLE_MS);
  sampler.unref();

  return {
    counts,
    /** `pulse_delivery_latency_seconds`: observed on every delivery, by every transport. */
    deliveryLatency: deliveryLatency.series(),
    /**
     * Records one HTTP request's latency (`pulse_request_duration_seconds`): each kind and
     * status's series is looked up once, rather than its labels hashed per request.
     */
    observeRequest(kind: string, status: number, seconds: number): void {
      let byStatus = requestSeries.get(kind);
      if (!byStatus) requestSeries.set(kind, (byStatus = new Map<number, HistogramSeries>()));
      let series = byStatus.get(status);
      if (!series) byStatus.set(status, (series = requestDuration.series(kind, String(status))));
      series.observe(seconds);
    },
    /**
     * Exports `pulse_redis_up` (1 while both Redis connections are ready, else 0), read at each
     * scrape; only instances configured with Redis have it.
     */
    trackRedis(up: () => boolean): void {
      new Gauge({
        name: 'pulse_redis_up',
        help: 'Whether Redis answers this instance (1) or not (0): while 0, other instances do not hear from it',
        registers: [registry],
        collect() {
          this.set(up() ? 1 : 0);
        },
      });
    },
    /** Counts a call of the deprecated procedure at `path` (a dotted path of the router). */
    countDeprecatedCall(path: string): void {
      deprecatedCalls.inc({ procedure: path });
    },
    /** Stops the event-loop sampler. */
    stop(): void {
      clearTimeout(sampler);
    },
    async render(): Promise<{ contentType: string; body: string }> {
      flush();
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
