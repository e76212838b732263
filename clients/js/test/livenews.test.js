import { test } from "node:test";
import assert from "node:assert/strict";
import { LiveNewsClient } from "../src/livenews.js";

/** A hub connection whose server side the test plays: it answers Subscribe and pushes events. */
class FakeConnection {
  constructor() {
    this.state = "Disconnected";
    this.handlers = {};
    this.subscribeCalls = [];
    /** @type {(requests: any[]) => any[]} */
    this.answer = (requests) => requests.map((r) => ({ topic: r.topic, epoch: "e1", seq: 0, recovered: false, snapshot: { alerts: [] }, events: [] }));
    this.pendingAnswers = null;
  }
  on(method, handler) { this.handlers[method] = handler; }
  onreconnecting(handler) { this.reconnecting = handler; }
  onreconnected(handler) { this.reconnected = handler; }
  onclose(handler) { this.closed = handler; }
  async start() { this.state = "Connected"; }
  async stop() { this.state = "Disconnected"; }
  async invoke(method, ...args) {
    if (method !== "Subscribe") return undefined;
    this.subscribeCalls.push(args[0]);
    if (this.pendingAnswers) {
      return new Promise((resolve) => this.pendingAnswers.push(() => resolve(this.answer(args[0]))));
    }
    return this.answer(args[0]);
  }
  push(envelope) { this.handlers.event(envelope); }
}

class MemoryStorage {
  constructor() { this.items = new Map(); }
  getItem(key) { return this.items.get(key) ?? null; }
  setItem(key, value) { this.items.set(key, String(value)); }
  removeItem(key) { this.items.delete(key); }
}

const event = (seq, epoch = "e1", topic = "breaking") => ({ topic, seq, epoch, id: `id-${seq}`, type: "breaking.published", at: "2026-11-29T00:00:00Z", data: { headline: `Alert ${seq}` } });

function record(client, topic) {
  const seen = { snapshots: [], events: [] };
  client.subscribe(topic, {
    snapshot: (snapshot, info) => seen.snapshots.push({ snapshot, info }),
    event: (e) => seen.events.push(e.seq),
  });
  return seen;
}

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
  connection.answer = (requests) => requests.map((r) => ({ topic: r.topic, epoch: "e1", seq: 5, recovered: false, snapshot: {}, events: [] }));
  const client = new LiveNewsClient({ connection, storage: null });
  const seen = record(client, "breaking");
  const started = client.start();
  await new Promise((resolve) => setImmediate(resolve));

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
  connection.answer = (requests) => requests.map((r) => ({ topic: r.topic, epoch: "e1", seq: 3, recovered: true, snapshot: null, events: [event(1), event(2)] }));

  connection.push(event(3));
  await new Promise((resolve) => setImmediate(resolve));

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

  connection.reconnecting();
  connection.answer = (requests) => requests.map((r) => ({ topic: r.topic, epoch: "e1", seq: 3, recovered: true, snapshot: null, events: [event(2), event(3)] }));
  connection.reconnected();
  await new Promise((resolve) => setImmediate(resolve));

  assert.deepEqual(connection.subscribeCalls.at(-1), [{ topic: "breaking", epoch: "e1", seq: 1 }]);
  assert.deepEqual(seen.events, [1, 2, 3]);
  assert.deepEqual(states, ["offline", "connecting", "live", "reconnecting", "live"]);
});

test("when the server cannot replay, the page is told to start over from a fresh snapshot", async () => {
  const connection = new FakeConnection();
  const client = new LiveNewsClient({ connection, storage: null });
  const seen = record(client, "breaking");
  await client.start();
  connection.push(event(1));

  connection.answer = (requests) => requests.map((r) => ({ topic: r.topic, epoch: "e2", seq: 7, recovered: false, snapshot: { alerts: ["x"] }, events: [] }));
  connection.reconnected();
  await new Promise((resolve) => setImmediate(resolve));
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
  second.answer = (requests) => requests.map((r) => ({ topic: r.topic, epoch: "e1", seq: 3, recovered: true, snapshot: null, events: [event(3)] }));
  const after = new LiveNewsClient({ connection: second, storage });
  const seen = record(after, "breaking");
  await after.start();

  assert.equal(seen.snapshots.length, 1);
  assert.equal(seen.snapshots[0].info.fromCache, true);
  assert.deepEqual(second.subscribeCalls[0], [{ topic: "breaking", epoch: "e1", seq: 2 }]);
  assert.deepEqual(seen.events, [1, 2, 3]);
});
