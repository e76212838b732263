import { test } from "node:test";
import assert from "node:assert/strict";
import v8 from "node:v8";
import vm from "node:vm";
import { LiveNewsClient, exponentialBackoff, reconnectDelay, classifySubscribeError, sseConnection, streamId } from "../src/livenews.js";

const WIRE_PREFIX = "An unexpected error occurred invoking 'Subscribe' on the server. HubException: ";
/** What the SignalR client rejects an invocation with when the hub threw a HubException. */
const hubError = (message) => new Error(WIRE_PREFIX + message);
const unavailable = (topic) => hubError(`Subscribing to '${topic}' failed: the store is unavailable. Try again.`);

/**
 * A hub connection whose server side the test plays, behaving like @microsoft/signalr's HubConnection:
 * `start()` rejects unless disconnected, `invoke()` rejects unless connected, a dropped connection rejects
 * the calls in flight before it reconnects. Subscribe is all or nothing, as on the server: a refused or
 * unavailable topic fails the whole call.
 */
class FakeConnection {
  constructor() {
    this.state = "Disconnected";
    this.handlers = {};
    this.startCalls = 0;
    this.subscribeCalls = [];
    /** @type {Map<string, string>} topic -> the refusal's message */
    this.refused = new Map();
    /** @type {Set<string>} topics the store cannot serve right now */
    this.unavailable = new Set();
    /** @type {(requests: any[]) => any[]} */
    this.answerWith({ epoch: "e1", seq: 0, recovered: false, snapshot: { alerts: [] }, events: [] });
    this.pendingAnswers = null;
    this.inFlight = new Set();
  }
  /** The answer to every subscribe from now on: the same result for each topic asked. */
  answerWith(result) { this.answer = (requests) => requests.map((r) => ({ topic: r.topic, ...result })); }
  on(method, handler) { this.handlers[method] = handler; }
  onreconnecting(handler) { this.reconnecting = handler; }
  onreconnected(handler) { this.reconnected = handler; }
  onclose(handler) { this.closed = handler; }
  async start() {
    this.startCalls++;
    if (this.state !== "Disconnected") throw new Error("Cannot start a HubConnection that is not in the 'Disconnected' state.");
    this.state = "Connected";
  }
  async stop() { this.state = "Disconnected"; }
  async invoke(method, ...args) {
    if (this.state !== "Connected") throw new Error("Cannot send data if the connection is not in the 'Connected' State.");
    if (method !== "Subscribe") return undefined;
    const requests = args[0];
    this.subscribeCalls.push(requests);
    // A client asking again and again: fail the call, which ends the loop, and the test with it.
    if (this.subscribeCalls.length > 100) throw new Error("More than 100 subscribe calls: the client is looping.");
    const respond = () => {
      const refusal = requests.find((r) => this.refused.has(r.topic));
      if (refusal) throw hubError(this.refused.get(refusal.topic));
      const down = requests.find((r) => this.unavailable.has(r.topic));
      if (down) throw unavailable(down.topic);
      return this.answer(requests);
    };
    if (!this.pendingAnswers) return respond();
    return new Promise((resolve, reject) => {
      const call = { reject };
      this.inFlight.add(call);
      this.pendingAnswers.push(() => {
        this.inFlight.delete(call);
        try { resolve(respond()); } catch (error) { reject(error); }
      });
    });
  }
  push(envelope) { this.handlers.event(envelope); }
  /** The socket dropped: calls in flight fail, then the automatic reconnect starts. */
  drop() {
    this.state = "Reconnecting";
    for (const call of this.inFlight) call.reject(new Error("Invocation canceled due to the underlying connection being closed."));
    this.inFlight.clear();
    this.reconnecting();
  }
  reconnect() {
    this.state = "Connected";
    this.reconnected();
  }
}

class MemoryStorage {
  constructor() { this.items = new Map(); }
  getItem(key) { return this.items.get(key) ?? null; }
  setItem(key, value) { this.items.set(key, String(value)); }
  removeItem(key) { this.items.delete(key); }
}

const event = (seq, epoch = "e1", topic = "breaking") => ({ topic, seq, epoch, id: `id-${seq}`, type: "breaking.published", at: "2026-11-29T00:00:00.000Z", data: { headline: `Alert ${seq}` } });

function record(client, topic) {
  const seen = { snapshots: [], events: [], errors: [] };
  client.subscribe(topic, {
    snapshot: (snapshot, info) => seen.snapshots.push({ snapshot, info }),
    event: (e) => seen.events.push(e.seq),
    error: (error) => seen.errors.push(error),
  });
  return seen;
}

/** Lets pending promise callbacks run (no timers involved). */
const settle = async () => {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
};

test("delivers the snapshot first, then events in order, dropping duplicates", async () => {
  const connection = new FakeConnection();
  const client = new LiveNewsClient({ connection, storage: null });
  const seen = record(client, "breaking");
  await client.start();

  connection.push(event(1));
  connection.push(event(1));
  connection.push(event(2));

  assert.equal(seen.snapshots.length, 1);
  assert.deepEqual(seen.events, [1, 2]);
});

test("events arriving before the subscribe answer are held, and those in the snapshot dropped", async () => {
  const connection = new FakeConnection();
  connection.pendingAnswers = [];
  connection.answerWith({ epoch: "e1", seq: 5, recovered: false, snapshot: {}, events: [] });
  const client = new LiveNewsClient({ connection, storage: null });
  const seen = record(client, "breaking");
  const started = client.start();
  await settle();

  connection.push(event(5));
  connection.push(event(6));
  connection.pendingAnswers.shift()();
  await started;

  assert.deepEqual(seen.events, [6]);
});

test("a gap asks the server for the missing events before delivering later ones", async () => {
  const connection = new FakeConnection();
  const client = new LiveNewsClient({ connection, storage: null });
  const seen = record(client, "breaking");
  await client.start();
  connection.answerWith({ epoch: "e1", seq: 3, recovered: true, snapshot: null, events: [event(1), event(2)] });

  connection.push(event(3));
  await settle();

  assert.deepEqual(connection.subscribeCalls[1], [{ topic: "breaking", epoch: "e1", seq: 0 }]);
  assert.deepEqual(seen.events, [1, 2, 3]);
});

test("after a reconnect it resumes from its last position", async () => {
  const connection = new FakeConnection();
  const client = new LiveNewsClient({ connection, storage: null });
  const states = [];
  client.onState((s) => states.push(s));
  const seen = record(client, "breaking");
  await client.start();
  connection.push(event(1));

  connection.drop();
  connection.answerWith({ epoch: "e1", seq: 3, recovered: true, snapshot: null, events: [event(2), event(3)] });
  connection.reconnect();
  await settle();

  assert.deepEqual(connection.subscribeCalls.at(-1), [{ topic: "breaking", epoch: "e1", seq: 1 }]);
  assert.deepEqual(seen.events, [1, 2, 3]);
  assert.deepEqual(states, ["offline", "connecting", "live", "reconnecting", "live"]);
  assert.equal(connection.startCalls, 1);
});

test("a subscribe in flight when the connection drops is sent again after the reconnect, and answered once", async () => {
  const connection = new FakeConnection();
  const client = new LiveNewsClient({ connection, storage: null });
  await client.start();
  connection.pendingAnswers = [];
  const seen = record(client, "breaking");
  await settle();

  connection.drop();
  connection.pendingAnswers = null;
  connection.reconnect();
  await settle();

  assert.equal(connection.subscribeCalls.length, 2);
  assert.equal(seen.snapshots.length, 1);
  assert.deepEqual(seen.errors, []);
});

test("when the server cannot replay, the page is told to start over from a fresh snapshot", async () => {
  const connection = new FakeConnection();
  const client = new LiveNewsClient({ connection, storage: null });
  const seen = record(client, "breaking");
  await client.start();
  connection.push(event(1));

  connection.answerWith({ epoch: "e2", seq: 7, recovered: false, snapshot: { alerts: ["x"] }, events: [] });
  connection.drop();
  connection.reconnect();
  await settle();
  connection.push(event(8, "e2"));

  assert.equal(seen.snapshots.length, 2);
  assert.equal(seen.snapshots[1].info.startedOver, true);
  assert.deepEqual(seen.events, [1, 8]);
});

test("a reload in the same tab redraws from sessionStorage and resumes instead of refetching", async () => {
  const storage = new MemoryStorage();
  const first = new FakeConnection();
  const before = new LiveNewsClient({ connection: first, storage });
  record(before, "breaking");
  await before.start();
  first.push(event(1));
  first.push(event(2));

  const second = new FakeConnection();
  second.answerWith({ epoch: "e1", seq: 3, recovered: true, snapshot: null, events: [event(3)] });
  const after = new LiveNewsClient({ connection: second, storage });
  const seen = record(after, "breaking");
  await after.start();

  assert.equal(seen.snapshots.length, 1);
  assert.equal(seen.snapshots[0].info.fromCache, true);
  assert.deepEqual(second.subscribeCalls[0], [{ topic: "breaking", epoch: "e1", seq: 2 }]);
  assert.deepEqual(seen.events, [1, 2, 3]);
});

test("delivered events are not kept once handled when nothing is saved (storage: null)", async () => {
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc");
  const connection = new FakeConnection();
  const client = new LiveNewsClient({ connection, storage: null });
  record(client, "breaking");
  await client.start();
  const delivered = [];
  const deliver = (seq) => {
    const e = event(seq);
    delivered.push(new WeakRef(e));
    connection.push(e);
  };
  for (let seq = 1; seq <= 3; seq++) deliver(seq);
  await new Promise((resolve) => setImmediate(resolve)); // WeakRef targets live until the job that made them ends
  gc();

  assert.deepEqual(delivered.map((ref) => ref.deref() === undefined), [true, true, true]);
});

test("past maxCachedEvents a reload starts from a snapshot, and the cache starts again from the next snapshot", async () => {
  const storage = new MemoryStorage();
  const first = new FakeConnection();
  const before = new LiveNewsClient({ connection: first, storage, maxCachedEvents: 3 });
  record(before, "breaking");
  await before.start();
  for (let seq = 1; seq <= 5; seq++) first.push(event(seq));
  assert.equal(storage.getItem("livenews:topic:breaking"), null);

  first.answerWith({ epoch: "e2", seq: 9, recovered: false, snapshot: { alerts: ["fresh"] }, events: [] });
  first.push(event(7, "e2"));
  await settle();
  first.push(event(10, "e2"));

  const saved = JSON.parse(storage.getItem("livenews:topic:breaking"));
  assert.deepEqual([saved.epoch, saved.seq, saved.snapshot, saved.events.map((e) => e.seq)], ["e2", 10, { alerts: ["fresh"] }, [10]]);
});

test("one refused topic among several is reported to that topic only, never retried, and the others stay live", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const connection = new FakeConnection();
  connection.refused.set("article:Bad_Id", "Topic 'article:Bad_Id' is not valid: article ids are lowercase letters, digits and dashes.");
  const client = new LiveNewsClient({ connection, storage: null });
  const states = [];
  client.onState((s) => states.push(s));
  const live = record(client, "live");
  const breaking = record(client, "breaking");
  const latest = record(client, "latest");
  const article = record(client, "article:Bad_Id");

  await client.start();
  await settle();
  connection.push(event(1, "e1", "breaking"));
  connection.push(event(1, "e1", "article:Bad_Id"));
  t.mock.timers.tick(60_000);
  await settle();

  for (const topic of [live, breaking, latest]) {
    assert.equal(topic.snapshots.length, 1);
    assert.deepEqual(topic.errors, []);
  }
  assert.deepEqual(breaking.events, [1]);
  assert.equal(article.snapshots.length, 0);
  assert.deepEqual(article.events, []);
  assert.deepEqual(article.errors, [{
    topic: "article:Bad_Id",
    reason: "refused",
    message: "Topic 'article:Bad_Id' is not valid: article ids are lowercase letters, digits and dashes.",
    retryInMs: null,
  }]);
  // The batch, then each topic alone; nothing more, however long we wait.
  assert.equal(connection.subscribeCalls.length, 5);
  assert.equal(connection.subscribeCalls.filter((c) => c.some((r) => r.topic === "article:Bad_Id")).length, 2);
  assert.equal(connection.startCalls, 1);
  assert.equal(client.state, "live");
  assert.deepEqual(states, ["offline", "connecting", "live"]);
});

test("a store outage is reported, retried with growing delays until the store is back, then events flow", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const connection = new FakeConnection();
  connection.unavailable.add("breaking");
  const attempts = [];
  const client = new LiveNewsClient({ connection, storage: null, retryDelay: (attempt) => { attempts.push(attempt); return 1000 * 2 ** attempt; } });
  const live = record(client, "live");
  const seen = record(client, "breaking");

  await client.start();
  await settle();
  assert.equal(live.snapshots.length, 1, "the other topic does not wait for the store");
  assert.equal(seen.errors.length, 1);
  assert.equal(seen.errors[0].reason, "unavailable");
  assert.equal(seen.errors[0].retryInMs, 1000);
  const afterFirstFailure = connection.subscribeCalls.length; // the batch, then each topic alone
  assert.equal(afterFirstFailure, 3);

  t.mock.timers.tick(999);
  await settle();
  assert.equal(connection.subscribeCalls.length, afterFirstFailure, "no retry before the delay");
  t.mock.timers.tick(1);
  await settle();
  assert.equal(connection.subscribeCalls.length, afterFirstFailure + 1);
  assert.equal(seen.errors.at(-1).retryInMs, 2000);

  connection.unavailable.delete("breaking");
  t.mock.timers.tick(2000);
  await settle();
  connection.push(event(1));
  connection.push(event(2));

  assert.deepEqual(attempts, [0, 1]);
  assert.equal(seen.snapshots.length, 1);
  assert.deepEqual(seen.events, [1, 2]);
  assert.equal(seen.errors.length, 2);
  assert.equal(connection.startCalls, 1);
  assert.equal(client.state, "live");
});

test("a resync that fails while connected waits for its retry instead of asking again on every event", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const connection = new FakeConnection();
  const client = new LiveNewsClient({ connection, storage: null, retryDelay: () => 5000 });
  const seen = record(client, "breaking");
  await client.start();
  connection.push(event(1));

  connection.unavailable.add("breaking");
  connection.push(event(3)); // a gap: 2 is missing
  await settle();
  for (let seq = 4; seq <= 12; seq++) connection.push(event(seq)); // more events while the retry waits
  await settle();
  assert.equal(connection.subscribeCalls.length, 2, "one resync, not one per event");

  connection.unavailable.delete("breaking");
  connection.answerWith({ epoch: "e1", seq: 12, recovered: true, snapshot: null, events: [event(2), event(3)] });
  t.mock.timers.tick(5000);
  await settle();

  assert.deepEqual(seen.events, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  assert.equal(connection.subscribeCalls.length, 3);
  assert.equal(connection.startCalls, 1);
});

test("subscribing twice to one topic throws and keeps the first handlers", async () => {
  const connection = new FakeConnection();
  const client = new LiveNewsClient({ connection, storage: null });
  const first = record(client, "breaking");
  await client.start();

  assert.throws(() => client.subscribe("breaking", { event: () => assert.fail("the second handlers must not run") }), /Already subscribed to 'breaking'/);
  connection.push(event(1));

  assert.deepEqual(first.events, [1]);
  assert.equal(connection.subscribeCalls.length, 1);
});

/** A reader subscribed to a topic nothing was published on yet: no epoch, seq 0. */
async function subscribedToEmptyTopic() {
  const connection = new FakeConnection();
  connection.answerWith({ epoch: "", seq: 0, recovered: false, snapshot: { alerts: [] }, events: [] });
  const client = new LiveNewsClient({ connection, storage: null });
  const seen = record(client, "breaking");
  await client.start();
  return { connection, seen };
}

test("a topic nothing was published on has no epoch yet: its first event brings one, and a resume sends the empty position", async () => {
  const { connection, seen } = await subscribedToEmptyTopic();

  connection.drop();
  connection.reconnect();
  await settle();
  assert.deepEqual(connection.subscribeCalls.at(-1), [{ topic: "breaking", epoch: "", seq: 0 }]);

  // What the server answers once the first events are published.
  connection.answerWith({ epoch: "e7", seq: 2, recovered: false, snapshot: { alerts: ["1", "2"] }, events: [] });
  connection.push(event(1, "e7"));
  connection.push(event(2, "e7"));
  await settle();

  assert.deepEqual(seen.events, [1, 2]);
  assert.equal(seen.snapshots.length, 2, "no snapshot but the two subscribes' own");
  assert.equal(connection.subscribeCalls.length, 2, "no resync for the first event");
});

test("a resume from the empty position recovered into the first epoch delivers the missed events", async () => {
  const { connection, seen } = await subscribedToEmptyTopic();

  connection.drop();
  connection.answerWith({ epoch: "e7", seq: 2, recovered: true, snapshot: null, events: [event(1, "e7"), event(2, "e7")] });
  connection.reconnect();
  await settle();
  connection.push(event(3, "e7"));

  assert.equal(seen.snapshots.length, 1);
  assert.deepEqual(seen.events, [1, 2, 3]);
});

test("viewer counts reach the topic's viewers handler only, and are not events", async () => {
  const connection = new FakeConnection();
  const client = new LiveNewsClient({ connection, storage: null });
  const counts = [];
  const events = [];
  client.subscribe("live", { viewers: (count, message) => counts.push([count, message.at]), event: (e) => events.push(e) });
  record(client, "breaking");
  await client.start();

  connection.handlers.viewers({ topic: "live", count: 12, at: "2026-11-29T08:15:02.123Z" });
  connection.handlers.viewers({ topic: "breaking", count: 3, at: "2026-11-29T08:15:02.123Z" });
  connection.handlers.viewers({ topic: "article:not-subscribed", count: 5, at: "2026-11-29T08:15:02.123Z" });

  assert.deepEqual(counts, [[12, "2026-11-29T08:15:02.123Z"]]);
  assert.deepEqual(events, []);
});

test("a tab whose storage is blocked (reading sessionStorage throws) gets a client that works without it", async () => {
  const descriptor = Object.getOwnPropertyDescriptor(globalThis, "sessionStorage");
  Object.defineProperty(globalThis, "sessionStorage", { configurable: true, get() { throw new Error("SecurityError: access is denied"); } });
  try {
    const connection = new FakeConnection();
    const client = new LiveNewsClient({ connection });
    const seen = record(client, "breaking");
    await client.start();
    connection.push(event(1));
    assert.equal(seen.snapshots.length, 1);
    assert.deepEqual(seen.events, [1]);
    await client.stop();
  } finally {
    if (descriptor) Object.defineProperty(globalThis, "sessionStorage", descriptor);
    else delete globalThis.sessionStorage;
  }
});

test("reconnectDelay: the first within half a second, then about 1 s, 2 s and every 5 s, spread by jitter", () => {
  assert.equal(reconnectDelay(0, () => 0), 0);
  assert.equal(reconnectDelay(0, () => 1), 500);
  assert.equal(reconnectDelay(1, () => 0), 500);
  assert.equal(reconnectDelay(1, () => 1), 1000);
  assert.equal(reconnectDelay(2, () => 1), 2000);
  assert.equal(reconnectDelay(9, () => 0), 2500);
  assert.equal(reconnectDelay(9, () => 1), 5000);
  // Readers dropped together come back spread over the window, not in the same instant.
  const firsts = new Set(Array.from({ length: 50 }, () => reconnectDelay(0)));
  assert.ok(firsts.size > 10, `50 readers' first reconnects fell on ${firsts.size} distinct milliseconds`);
});

test("exponentialBackoff grows from about a second to at most 30 s, with jitter", () => {
  assert.equal(exponentialBackoff(0, () => 0), 500);
  assert.equal(exponentialBackoff(0, () => 1), 1000);
  assert.equal(exponentialBackoff(3, () => 1), 8000);
  assert.equal(exponentialBackoff(50, () => 1), 30_000);
  assert.equal(exponentialBackoff(50, () => 0), 15_000);
});

test("classifySubscribeError retries only what says unavailable, or what is not the server's answer", () => {
  assert.deepEqual(classifySubscribeError(unavailable("live")), { refused: false, message: "Subscribing to 'live' failed: the store is unavailable. Try again." });
  assert.deepEqual(classifySubscribeError(hubError("Topic 'newsroom' is for editors only.")), { refused: true, message: "Topic 'newsroom' is for editors only." });
  assert.equal(classifySubscribeError(new Error("Invocation canceled due to the underlying connection being closed.")).refused, false);
});

/** An EventSource the test plays the server of: messages by name, open, and errors with a ready state. */
class FakeEventSource {
  static opened = [];
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.listeners = {};
    this.onopen = null;
    this.onerror = null;
    this.closed = false;
    FakeEventSource.opened.push(this);
  }
  addEventListener(name, listener) { (this.listeners[name] ??= []).push(listener); }
  close() { this.closed = true; this.readyState = 2; }
  /** The server answered 200: as a browser's, it opens before its first message. */
  open() { this.readyState = 1; this.onopen?.(); }
  emit(name, data) {
    if (this.readyState === 0) this.open();
    for (const listener of this.listeners[name] ?? []) listener({ data: JSON.stringify(data) });
  }
  query() { return new URL(this.url, "http://x").searchParams; }
}

/** A tab's storage holding a topic at `e1.{seq}`, as a reload finds it: the client resumes the topic from there. */
function storageAt(topic, seq) {
  const storage = new MemoryStorage();
  storage.setItem(`livenews:topic:${topic}`, JSON.stringify({ epoch: "e1", seq, snapshot: { n: seq }, events: [] }));
  return storage;
}

/** A client over SSE whose streams the test plays (`FakeEventSource.opened`, emptied here). */
function sseClient(storage = null) {
  FakeEventSource.opened = [];
  // Reconnect waits without their jitter, so the tests can step the clock to them.
  const waits = (attempt) => [0, 1000, 2000][attempt] ?? 5000;
  return new LiveNewsClient({ connection: sseConnection("/sse", (url) => new FakeEventSource(url), waits), storage });
}

const envelope = (topic, seq, epoch = "e1") => ({ topic, seq, epoch, id: `${topic}-${seq}`, type: "t", at: "", data: { n: seq } });

test("streamId is the server's id: tag of the topic names, then epoch.seq per topic", () => {
  assert.equal(streamId(["breaking", "live", "article:storm"], [{ epoch: "ab12", seq: 7 }, null, { epoch: "", seq: 0 }]), "0d28cb0f_ab12.7__.0");
});

test("over SSE: one stream for every topic, snapshots then events in order, resumed with every position", async () => {
  const client = sseClient();
  const seen = { breaking: [], live: [] };
  await client.start();
  for (const topic of ["breaking", "live"]) {
    client.subscribe(topic, {
      snapshot: (s, info) => seen[topic].push(`snapshot:${s.n}:${info.startedOver}`),
      event: (e) => seen[topic].push(e.seq),
    });
  }
  const stream = FakeEventSource.opened.at(-1);
  assert.deepEqual(stream.query().getAll("topic"), ["breaking", "live"]);
  stream.emit("snapshot", { topic: "breaking", epoch: "e1", seq: 3, snapshot: { n: 3 } });
  stream.emit("snapshot", { topic: "live", epoch: "e1", seq: 1, snapshot: { n: 1 } });
  await new Promise((resolve) => setTimeout(resolve, 0));
  stream.emit("event", envelope("breaking", 4));
  stream.emit("event", envelope("breaking", 4)); // a duplicate is dropped
  stream.emit("event", envelope("live", 2));
  assert.deepEqual(seen, { breaking: ["snapshot:3:false", 4], live: ["snapshot:1:false", 2] });

  // The browser gives up (a node answered 503): the client reconnects with every topic's position.
  stream.readyState = 2;
  stream.onerror();
  await new Promise((resolve) => setTimeout(resolve, 10));
  const resumed = FakeEventSource.opened.at(-1);
  assert.notEqual(resumed, stream);
  assert.equal(resumed.query().get("lastEventId"), streamId(["breaking", "live"], [{ epoch: "e1", seq: 4 }, { epoch: "e1", seq: 2 }]));
  resumed.emit("event", envelope("breaking", 5));
  // live could not be resumed: a fresh snapshot starts it over.
  resumed.emit("snapshot", { topic: "live", epoch: "e2", seq: 9, snapshot: { n: 9 } });
  resumed.emit("event", envelope("live", 10, "e2"));
  await settle();
  assert.deepEqual(seen, { breaking: ["snapshot:3:false", 4, 5], live: ["snapshot:1:false", 2, "snapshot:9:true", 10] });
  await client.stop();
});

test("over SSE: a snapshot that starts a topic over while another topic's is awaited is applied, not dropped", async () => {
  const storage = storageAt("live", 10);
  const client = sseClient(storage);
  const seen = { live: [], "article:x": [] };
  for (const topic of ["live", "article:x"]) {
    client.subscribe(topic, {
      snapshot: (s, info) => seen[topic].push(`snapshot:${s.n}:${info.startedOver}:${info.fromCache}`),
      event: (e) => seen[topic].push(e.seq),
    });
  }
  const started = client.start();
  await settle();
  const stream = FakeEventSource.opened.at(-1);
  // live cannot be resumed from e1.10: the stream starts it over before article:x's snapshot comes.
  stream.emit("snapshot", { topic: "live", epoch: "e2", seq: 3, snapshot: { n: 3 } });
  stream.emit("snapshot", { topic: "article:x", epoch: "e1", seq: 1, snapshot: { n: 1 } });
  await started;
  stream.emit("event", envelope("live", 4, "e2"));
  await settle();

  assert.deepEqual(seen, { live: ["snapshot:10:false:true", "snapshot:3:true:false", 4], "article:x": ["snapshot:1:false:false"] });
  assert.equal(FakeEventSource.opened.length, 1, "no stream opened again");
  await client.stop();
});

test("over SSE: a refused stream is opened again, at once and then after growing waits, even during the first subscribe", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const client = sseClient();
  const seen = record(client, "breaking");
  const started = client.start();
  await settle();
  const refuse = () => {
    const stream = FakeEventSource.opened.at(-1);
    stream.readyState = 2;
    stream.onerror();
  };

  refuse(); // a node answered 503 before the first snapshot
  await settle();
  assert.equal(FakeEventSource.opened.length, 2, "opened again at once");
  refuse();
  await settle();
  assert.equal(FakeEventSource.opened.length, 2, "not again at once");
  t.mock.timers.tick(999);
  await settle();
  assert.equal(FakeEventSource.opened.length, 2);
  t.mock.timers.tick(1);
  await settle();
  assert.equal(FakeEventSource.opened.length, 3);

  const stream = FakeEventSource.opened.at(-1);
  stream.open();
  stream.emit("snapshot", { topic: "breaking", epoch: "e1", seq: 2, snapshot: { n: 2 } });
  await started;
  await settle();
  stream.emit("event", envelope("breaking", 3));
  assert.equal(seen.snapshots.length, 1);
  assert.deepEqual(seen.events, [3]);
  assert.equal(client.state, "live");
  await client.stop();
});

test("over SSE: a topic left while the browser reopens the stream is not in the stream it reopens", async () => {
  const client = sseClient();
  await client.start();
  const breaking = record(client, "breaking");
  const live = client.subscribe("live", {});
  const stream = FakeEventSource.opened.at(-1);
  stream.emit("snapshot", { topic: "breaking", epoch: "e1", seq: 3, snapshot: { n: 3 } });
  stream.emit("snapshot", { topic: "live", epoch: "e1", seq: 1, snapshot: { n: 1 } });
  await settle();

  // The network blinked: the browser reopens the same stream (readyState 0), and the reader leaves live meanwhile.
  stream.readyState = 0;
  stream.onerror();
  await live.unsubscribe();

  const reopened = FakeEventSource.opened.at(-1);
  assert.notEqual(reopened, stream);
  assert.ok(stream.closed, "the stream the browser was reopening is closed");
  assert.deepEqual(reopened.query().getAll("topic"), ["breaking"]);
  reopened.open();
  await settle();
  reopened.emit("event", envelope("breaking", 4));
  await settle();
  assert.deepEqual(breaking.events, [4]);
  assert.equal(client.state, "live");
  await client.stop();
});

test("over SSE: a topic the stream would refuse is refused alone, and the others stream", async () => {
  const client = sseClient();
  const breaking = record(client, "breaking");
  const badId = record(client, "article:Bad_Id");
  const newsroom = record(client, "newsroom");
  const started = client.start();
  await settle();

  const stream = FakeEventSource.opened.at(-1);
  assert.deepEqual(stream.query().getAll("topic"), ["breaking"]);
  assert.deepEqual([badId.errors.map((e) => e.reason), newsroom.errors.map((e) => e.reason)], [["refused"], ["refused"]]);
  assert.match(newsroom.errors[0].message, /editors/);
  stream.emit("snapshot", { topic: "breaking", epoch: "e1", seq: 0, snapshot: { n: 0 } });
  await started;
  stream.emit("event", envelope("breaking", 1));
  assert.deepEqual(breaking.events, [1]);
  assert.equal(FakeEventSource.opened.length, 1);
  await client.stop();
});

test("over SSE: leaving a topic whose snapshot is awaited does not hold up the others asked with it", async () => {
  const client = sseClient();
  const latest = record(client, "latest");
  const leaving = client.subscribe("article:a", {});
  const started = client.start();
  await settle();
  await leaving.unsubscribe();

  const stream = FakeEventSource.opened.at(-1);
  assert.deepEqual(stream.query().getAll("topic"), ["latest"]);
  stream.emit("snapshot", { topic: "latest", epoch: "e1", seq: 5, snapshot: { n: 5 } });
  await started;
  stream.emit("event", envelope("latest", 6));
  assert.equal(latest.snapshots.length, 1);
  assert.deepEqual(latest.events, [6]);
  await client.stop();
});

test("over SSE: live once the stream is open, not while it is only asked for, and never for a refused one", async () => {
  const storage = storageAt("breaking", 4);
  const client = sseClient(storage);
  const states = [];
  client.onState((state) => states.push(state));
  const breaking = record(client, "breaking");
  const started = client.start();
  await settle();

  // Resumed from its position: answered when the server takes the stream, not before.
  FakeEventSource.opened.at(-1).readyState = 2;
  FakeEventSource.opened.at(-1).onerror();
  await settle();
  assert.ok(!states.includes("live"), `states: ${states}`);
  FakeEventSource.opened.at(-1).open();
  await started;
  await settle();
  assert.equal(client.state, "live");
  FakeEventSource.opened.at(-1).emit("event", envelope("breaking", 5));
  assert.deepEqual(breaking.events, [5]);
  await client.stop();
});

test("over SSE: leaving every topic before the stream opens does not hold up the connect, and the next topic streams", async () => {
  const storage = storageAt("breaking", 4);
  const client = sseClient(storage);
  const leaving = client.subscribe("breaking", {});
  const started = client.start();
  await settle();
  await leaving.unsubscribe();
  await started;
  assert.equal(client.state, "live");

  const latest = record(client, "latest");
  await settle();
  FakeEventSource.opened.at(-1).emit("snapshot", { topic: "latest", epoch: "e1", seq: 1, snapshot: { n: 1 } });
  await settle();
  assert.equal(latest.snapshots.length, 1);
  await client.stop();
});

test("after the hub's automatic reconnect, live once the topics are answered again", async () => {
  const connection = new FakeConnection();
  const client = new LiveNewsClient({ connection });
  record(client, "breaking");
  await client.start();
  await settle();
  assert.equal(client.state, "live");

  connection.pendingAnswers = [];
  connection.drop();
  connection.reconnect();
  await settle();
  assert.equal(client.state, "reconnecting", "not live while the resubscribe is unanswered");
  connection.pendingAnswers.shift()();
  await settle();
  assert.equal(client.state, "live");
  await client.stop();
});

test("an event of an epoch the topic has left (a node behind) asks the server once, then is dropped", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] }); // a looping client's retries wait here, not in the test run
  const connection = new FakeConnection();
  connection.answerWith({ epoch: "e2", seq: 15, recovered: false, snapshot: { n: 15 }, events: [] });
  const client = new LiveNewsClient({ connection, storage: null });
  const seen = record(client, "breaking");
  await client.start();
  connection.answerWith({ epoch: "e2", seq: 15, recovered: true, snapshot: null, events: [] });

  connection.push(event(11, "e1"));
  await settle();
  connection.push(event(16, "e2"));
  await settle();

  assert.equal(connection.subscribeCalls.length, 2);
  assert.deepEqual(connection.subscribeCalls[1], [{ topic: "breaking", epoch: "e2", seq: 15 }]);
  assert.deepEqual(seen.events, [16]);
});
