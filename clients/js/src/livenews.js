// @ts-check
// LiveNews browser client: subscribes to topics over SignalR and delivers each topic's snapshot, then its
// events in seq order, each exactly once. Reconnects by itself and resumes every topic from its last
// position; keeps positions (and what they describe) in sessionStorage so a reload resumes too. A topic the
// server refuses is reported to that topic's `error` handler and dropped; a topic the store cannot serve
// right now is retried with backoff. Neither holds up the other topics.
import { HubConnectionBuilder, HubConnectionState, HttpTransportType, LogLevel } from "@microsoft/signalr";

/**
 * @typedef {{ topic: string, seq: number, epoch: string, id: string, type: string, at: string, data: any }} Envelope
 * @typedef {{ topic: string, epoch: string, seq: number, recovered: boolean, snapshot: any, events: Envelope[] }} SubscribeResult
 * @typedef {{ topic: string, epoch?: string, seq?: number }} SubscribeRequest
 * @typedef {"connecting" | "live" | "reconnecting" | "offline"} ConnectionState
 * @typedef {{ startedOver: boolean, fromCache: boolean }} SnapshotInfo
 * @typedef {{ topic: string, count: number, at: string }} ViewerCount
 * @typedef {{
 *   snapshot?: (snapshot: any, info: SnapshotInfo) => void,
 *   event?: (event: Envelope) => void,
 *   viewers?: (count: number, message: ViewerCount) => void,
 *   error?: (error: TopicError) => void,
 * }} TopicHandlers
 * @typedef {{
 *   invoke: (method: string, ...args: any[]) => Promise<any>,
 *   on: (method: string, handler: (...args: any[]) => void) => void,
 *   onreconnecting: (handler: () => void) => void,
 *   onreconnected: (handler: () => void) => void,
 *   onclose: (handler: () => void) => void,
 *   start: () => Promise<void>,
 *   stop: () => Promise<void>,
 *   forget?: (topics: string[]) => void,
 *   readonly state: string,
 * }} HubConnectionLike
 * @typedef {Pick<Storage, "getItem" | "setItem" | "removeItem">} StorageLike
 */

/**
 * Why a topic could not be subscribed. Reported to that topic's `error` handler only.
 * @typedef {object} TopicError
 * @property {string} topic
 * @property {"refused" | "unavailable"} reason `refused`: the server will never accept this topic (bad
 *   name, editors only, too many topics); it is dropped, not retried. `unavailable`: the store could not
 *   serve it now; it is retried with backoff, the other topics carry on meanwhile.
 * @property {string} message the server's reason
 * @property {number | null} retryInMs when the next attempt is made; null for a refusal
 */

/**
 * @typedef {object} ClientOptions
 * @property {string} [url] the hub, `/hubs/live` by default
 * @property {StorageLike | null} [storage] where positions are kept across reloads; `sessionStorage` by default
 * @property {() => string | Promise<string>} [accessTokenFactory]
 * @property {Record<string, string>} [headers] (switches to long polling: browsers put no headers on WebSockets)
 * @property {HubConnectionLike} [connection] a connection to use instead of building one (tests)
 * @property {"websockets" | "sse"} [transport] `sse`: Server-Sent Events (`GET /sse`, see `sseUrl`) for
 *   networks that block WebSockets, with the same guarantees (anonymous topics only: no `headers`)
 * @property {string} [sseUrl] the event stream, `/sse` by default
 * @property {number} [maxCachedEvents] events kept for a reload to replay before it starts from a snapshot
 * @property {(attempt: number) => number} [retryDelay] milliseconds before retry `attempt` (0 first) of a
 *   topic the store could not serve; {@link exponentialBackoff} by default
 * @property {(attempt: number) => number} [reconnectDelay] milliseconds before reconnect attempt `attempt` (0
 *   first) of a connection that dropped or could not start; {@link reconnectDelay} by default
 */

const STORAGE_PREFIX = "livenews:topic:";

/**
 * The tab's sessionStorage, or null where there is none, or where reading it throws (storage blocked for the
 * site, a sandboxed frame): the client then keeps nothing across reloads, and works.
 * @returns {StorageLike | null}
 */
function tabStorage() {
  try {
    return globalThis.sessionStorage ?? null;
  } catch {
    return null;
  }
}

/**
 * Milliseconds before reconnect attempt `attempt` (0 first), forever: within half a second, then about 1 s, 2 s,
 * and every 5 s after, each drawn between half and all of that (the first between none and all), so that the
 * readers of a node that died or drained do not all come back in the same instant, nor in step after that.
 * @param {number} attempt
 * @param {() => number} [random]
 * @returns {number}
 */
export function reconnectDelay(attempt, random = Math.random) {
  const ceiling = [500, 1000, 2000][attempt] ?? 5000;
  return Math.round(ceiling * (attempt === 0 ? random() : 0.5 + random() / 2));
}

/**
 * Exponential backoff with jitter for topic retries: about 1 s, 2 s, 4 s … up to 30 s, each drawn between
 * half and all of that, so that readers who lost the store together do not all come back in the same second.
 * @param {number} attempt 0 for the first retry
 * @param {() => number} [random]
 */
export function exponentialBackoff(attempt, random = Math.random) {
  const ceiling = Math.min(30_000, 1000 * 2 ** Math.min(attempt, 15));
  return Math.round(ceiling * (0.5 + random() / 2));
}

/**
 * How the server's answer to a failed Subscribe reads on the wire: "An unexpected error occurred invoking
 * 'Subscribe' on the server. HubException: <message>". Only a HubException that says "unavailable" is worth
 * retrying; any other HubException is a refusal. Errors that are not the server's answer (a connection that
 * dropped mid-call, a timeout) are retried.
 * @param {unknown} error
 * @returns {{ refused: boolean, message: string }}
 */
export function classifySubscribeError(error) {
  const text = error instanceof Error ? error.message : String(error);
  const marker = "HubException: ";
  const at = text.indexOf(marker);
  if (at < 0) return { refused: false, message: text };
  const message = text.slice(at + marker.length);
  return { refused: !/unavailable/i.test(message), message };
}

export class LiveNewsClient {
  /** @type {ConnectionState} */
  #state = "offline";
  /** @type {Set<(state: ConnectionState) => void>} */
  #stateListeners = new Set();
  /** @type {Map<string, TopicState>} */
  #topics = new Map();
  #started = false;
  /** @type {Promise<void> | null} */
  #connecting = null;
  #lastRequest = 0;
  /** @type {HubConnectionLike} */
  #connection;
  /** @type {StorageLike | null} */
  #storage;
  #maxCachedEvents;
  #retryDelay;
  #reconnectDelay;

  /** @param {ClientOptions} [options] */
  constructor(options = {}) {
    const url = options.url ?? "/hubs/live";
    this.#storage = options.storage === undefined ? tabStorage() : options.storage;
    this.#maxCachedEvents = options.maxCachedEvents ?? 200;
    this.#retryDelay = options.retryDelay ?? ((/** @type {number} */ attempt) => exponentialBackoff(attempt));
    this.#reconnectDelay = options.reconnectDelay ?? ((/** @type {number} */ attempt) => reconnectDelay(attempt));
    this.#connection = options.connection ?? (options.transport === "sse"
      ? sseConnection(options.sseUrl ?? "/sse", undefined, options.reconnectDelay)
      : buildConnection(url, options.accessTokenFactory, options.headers, options.reconnectDelay));
    this.#connection.on("event", (/** @type {Envelope} */ envelope) => this.#onEvent(envelope));
    // How many watch `live` or an article, over all nodes: sent when it changes; not an event (no seq).
    this.#connection.on("viewers", (/** @type {ViewerCount} */ message) => {
      const state = this.#topics.get(message.topic);
      if (state) call(state.handlers.viewers, message.count, message);
    });
    // Over SSE the stream itself answers a topic it could not resume with a fresh snapshot. One that comes
    // while a Subscribe call is in flight (a batch waiting for another topic's snapshot) is newer than that
    // call's answer: it is applied right after it.
    this.#connection.on("snapshot", (/** @type {SubscribeResult} */ result) => {
      const state = this.#topics.get(result.topic);
      if (!state) return;
      if (state.inFlight === 0) this.#apply(state, result);
      else state.streamed = result;
    });
    this.#connection.onreconnecting(() => this.#setState("reconnecting"));
    this.#connection.onreconnected(() => void this.#resubscribeThenLive());
    this.#connection.onclose(() => {
      this.#setState("offline");
      if (this.#started) void this.#reconnect();
    });
  }

  /** The connection's state, for a "reconnecting…" indicator. */
  get state() {
    return this.#state;
  }

  /** Connects (retrying until it succeeds or {@link stop} is called) and subscribes every topic. */
  async start() {
    this.#started = true;
    await this.#connect();
  }

  async stop() {
    this.#started = false;
    for (const state of this.#topics.values()) state.cancelRetry();
    await this.#connection.stop();
    this.#setState("offline");
  }

  /**
   * Listens to a topic. The snapshot comes first (from this tab's cache when a reload resumes), then events.
   * A topic has one set of handlers: subscribing to a topic that is already subscribed throws; unsubscribe
   * first, or share one handler object in the page.
   * @param {string} topic
   * @param {TopicHandlers} handlers
   * @returns {{ unsubscribe: () => Promise<void> }}
   */
  subscribe(topic, handlers) {
    if (this.#topics.has(topic)) {
      throw new Error(`Already subscribed to '${topic}': unsubscribe first, a topic has one set of handlers.`);
    }
    const state = new TopicState(topic, handlers);
    this.#topics.set(topic, state);
    this.#restore(state);
    void this.#subscribeTopics([state]);
    return {
      unsubscribe: async () => {
        if (this.#topics.get(topic) !== state) return;
        this.#topics.delete(topic);
        state.cancelRetry();
        this.#storage?.removeItem(STORAGE_PREFIX + topic);
        if (!this.#connected) {
          // The hub forgets a dropped connection's topics; an event stream the browser is reopening does not.
          this.#connection.forget?.([topic]);
          return;
        }
        try {
          await this.#connection.invoke("Unsubscribe", [topic]);
        } catch (error) {
          // A connection that dropped forgets its topics on the server: nothing left to undo.
          if (this.#connected) throw error;
        }
      },
    };
  }

  /** @param {(state: ConnectionState) => void} listener */
  onState(listener) {
    this.#stateListeners.add(listener);
    listener(this.#state);
    return () => this.#stateListeners.delete(listener);
  }

  get #connected() {
    return this.#connection.state === HubConnectionState.Connected;
  }

  /** One connect loop at a time; `start()` only ever on a disconnected connection (it rejects otherwise). */
  async #connect() {
    this.#connecting ??= this.#connectLoop().finally(() => { this.#connecting = null; });
    await this.#connecting;
  }

  /** After a close: once the connect loop that may be running ends (it found the connection up before it closed). */
  async #reconnect() {
    await this.#connecting;
    await this.#connect();
  }

  async #connectLoop() {
    for (let attempt = 0; ; attempt++) {
      // Connected by the automatic reconnect meanwhile: its `onreconnected` resubscribes.
      if (!this.#started || this.#connected) return;
      if (this.#connection.state === HubConnectionState.Disconnected) {
        this.#setState(attempt === 0 ? "connecting" : "reconnecting");
        try {
          await this.#connection.start();
          break;
        } catch {
          // Retried after the delay.
        }
      }
      await delay(this.#reconnectDelay(attempt));
    }
    if (!this.#started) return;
    await this.#resubscribeThenLive();
  }

  /** Every topic from its last position, then live: over SSE the stream is open by then, not merely about to be. */
  async #resubscribeThenLive() {
    await this.#resubscribeAll();
    if (this.#started && this.#connected) this.#setState("live");
  }

  /** After a (re)connect: every topic from its last position. Requests in flight died with the old connection. */
  async #resubscribeAll() {
    for (const state of this.#topics.values()) {
      state.inFlight = 0;
      state.streamed = null;
    }
    await this.#subscribeTopics([...this.#topics.values()]);
  }

  /**
   * Subscribes the given topics in one call. The server answers a batch all or nothing, so when the batch
   * fails each topic is tried on its own: refusals are reported per topic, unavailable topics retried.
   * Never throws: every outcome ends in a topic's handlers.
   * @param {TopicState[]} states
   */
  async #subscribeTopics(states) {
    const batch = states.filter((s) => this.#topics.get(s.topic) === s && s.inFlight === 0);
    if (batch.length === 0 || !this.#connected) return; // (Re)connecting: subscribed once connected.
    const request = ++this.#lastRequest;
    for (const state of batch) {
      state.cancelRetry();
      state.inFlight = request;
      state.synced = false;
      state.asked = state.buffered.length;
    }
    /** @type {SubscribeResult[]} */
    let results;
    try {
      results = await this.#connection.invoke("Subscribe", batch.map((s) => s.request()));
    } catch (error) {
      const mine = batch.filter((s) => s.inFlight === request);
      for (const state of mine) state.inFlight = 0;
      if (mine.length === 0 || !this.#connected) return; // The reconnect resubscribes from the same positions.
      if (mine.length > 1) {
        await Promise.all(mine.map((state) => this.#subscribeTopics([state])));
      } else {
        this.#failed(mine[0], error);
      }
      return;
    }
    batch.forEach((state, i) => {
      if (state.inFlight !== request) return;
      state.inFlight = 0;
      this.#apply(state, results[i]);
    });
  }

  /**
   * @param {TopicState} state
   * @param {unknown} error
   */
  #failed(state, error) {
    if (this.#topics.get(state.topic) !== state) return;
    const { refused, message } = classifySubscribeError(error);
    if (refused) {
      this.#topics.delete(state.topic);
      this.#storage?.removeItem(STORAGE_PREFIX + state.topic);
      this.#report(state, { topic: state.topic, reason: "refused", message, retryInMs: null });
      return;
    }
    const wait = this.#retryDelay(state.retries++);
    state.retryTimer = setTimeout(() => {
      state.retryTimer = undefined;
      void this.#subscribeTopics([state]);
    }, wait);
    this.#report(state, { topic: state.topic, reason: "unavailable", message, retryInMs: wait });
  }

  /**
   * @param {TopicState} state
   * @param {SubscribeResult} result
   */
  #apply(state, result) {
    if (this.#topics.get(state.topic) !== state) return;
    state.retries = 0;
    this.#take(state, result);
    const streamed = state.streamed;
    state.streamed = null;
    if (streamed) this.#take(state, streamed);
    state.synced = true;
    // Events that arrived while the subscription was in flight, now in order after the answer. One received
    // before the call was made, in an epoch the answer is not in, is of an epoch the topic had left by then (a
    // node behind still relayed it): handled again, it would ask again, answer after answer.
    const buffered = state.buffered
      .filter((event, i) => i >= state.asked || event.epoch === result.epoch)
      .sort((a, b) => a.seq - b.seq);
    state.buffered = [];
    state.asked = 0;
    for (const event of buffered) this.#handle(state, event);
  }

  /**
   * The answer's position: its missed events when it resumes this one, else its snapshot.
   * @param {TopicState} state
   * @param {SubscribeResult} result
   */
  #take(state, result) {
    const resumes = result.recovered && (result.epoch === state.epoch || (state.epoch !== null && state.seq === 0));
    if (resumes) {
      for (const event of result.events) this.#deliver(state, event);
    } else {
      const startedOver = state.epoch !== null;
      state.epoch = result.epoch;
      state.seq = result.seq;
      state.snapshot = result.snapshot;
      state.cachedEvents = [];
      call(state.handlers.snapshot, result.snapshot, { startedOver, fromCache: false });
      this.#persist(state);
    }
  }

  /** @param {Envelope} envelope */
  #onEvent(envelope) {
    const state = this.#topics.get(envelope.topic);
    if (state) this.#handle(state, envelope);
  }

  /**
   * @param {TopicState} state
   * @param {Envelope} event
   */
  #handle(state, event) {
    if (!state.synced) {
      state.buffered.push(event);
      return;
    }
    if (event.epoch === state.epoch && event.seq <= state.seq) return; // seen already
    if (state.follows(event)) {
      this.#deliver(state, event);
      return;
    }
    // A gap or a new epoch: ask for what is missing (or a fresh snapshot), keeping this event.
    state.buffered.push(event);
    void this.#subscribeTopics([state]);
  }

  /**
   * @param {TopicState} state
   * @param {Envelope} event
   */
  #deliver(state, event) {
    if (!state.follows(event)) return;
    state.epoch = event.epoch;
    state.seq = event.seq;
    // Kept only to be saved, and only up to the cap: past it a reload starts from a snapshot anyway.
    if (this.#storage && state.cachedEvents !== null) state.cachedEvents.push(event);
    call(state.handlers.event, event);
    this.#persist(state);
  }

  /**
   * @param {TopicState} state
   * @param {TopicError} error
   */
  #report(state, error) {
    if (state.handlers.error) call(state.handlers.error, error);
    else console.warn(`LiveNews: ${error.topic} ${error.reason}: ${error.message}`);
  }

  /** @param {TopicState} state */
  #persist(state) {
    if (!this.#storage || state.cachedEvents === null) return;
    if (state.cachedEvents.length > this.#maxCachedEvents) {
      // Too much to replay on reload: a reload will start from a fresh snapshot instead, and nothing more is
      // kept until the next snapshot.
      this.#storage.removeItem(STORAGE_PREFIX + state.topic);
      state.cachedEvents = null;
      return;
    }
    try {
      this.#storage.setItem(STORAGE_PREFIX + state.topic, JSON.stringify({
        epoch: state.epoch, seq: state.seq, snapshot: state.snapshot, events: state.cachedEvents,
      }));
    } catch {
      this.#storage.removeItem(STORAGE_PREFIX + state.topic);
    }
  }

  /**
   * Replays this tab's cached snapshot and events, so a reload draws at once and resumes from there.
   * @param {TopicState} state
   */
  #restore(state) {
    const raw = this.#storage?.getItem(STORAGE_PREFIX + state.topic);
    if (!raw) return;
    try {
      const cached = JSON.parse(raw);
      state.epoch = cached.epoch;
      state.seq = cached.seq - cached.events.length;
      state.snapshot = cached.snapshot;
      call(state.handlers.snapshot, cached.snapshot, { startedOver: false, fromCache: true });
      for (const event of cached.events) this.#deliver(state, event);
    } catch {
      this.#storage?.removeItem(STORAGE_PREFIX + state.topic);
      state.epoch = null;
      state.seq = 0;
      state.cachedEvents = [];
    }
  }

  /** @param {ConnectionState} state */
  #setState(state) {
    if (this.#state === state) return;
    this.#state = state;
    for (const listener of this.#stateListeners) call(listener, state);
  }
}

/** One topic's position, what is held back until it can be delivered in order, and its retry. */
class TopicState {
  /**
   * @param {string} topic
   * @param {TopicHandlers} handlers
   */
  constructor(topic, handlers) {
    this.topic = topic;
    this.handlers = handlers;
    /** @type {string | null} null until the server (or this tab's cache) gave a position. */
    this.epoch = null;
    this.seq = 0;
    /** @type {any} */
    this.snapshot = null;
    /** @type {Envelope[] | null} Events since the snapshot, saved for a reload; null past the cap until the next snapshot. */
    this.cachedEvents = [];
    /** @type {Envelope[]} Events held while no answer is applied (subscribing, or waiting to retry). */
    this.buffered = [];
    /** How many of the held events were received before the Subscribe call in flight was made. */
    this.asked = 0;
    /** False from a Subscribe call until its answer is applied. */
    this.synced = false;
    /** The Subscribe call in flight for this topic, 0 when none. */
    this.inFlight = 0;
    /** @type {SubscribeResult | null} A snapshot the event stream sent while a call was in flight (SSE). */
    this.streamed = null;
    this.retries = 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.retryTimer = undefined;
  }

  /** @returns {SubscribeRequest} */
  request() {
    return this.epoch === null ? { topic: this.topic } : { topic: this.topic, epoch: this.epoch, seq: this.seq };
  }

  /**
   * Whether the event is the next one. A topic nothing was published on has no epoch yet (`""`, seq 0):
   * its first event brings the epoch, with seq 1.
   * @param {Envelope} event
   */
  follows(event) {
    if (event.seq !== this.seq + 1) return false;
    return event.epoch === this.epoch || (this.seq === 0 && this.epoch !== null);
  }

  cancelRetry() {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }
}

/**
 * Calls a page's handler; a handler that throws is reported and does not break delivery to the others.
 * @template {any[]} A
 * @param {((...args: A) => void) | undefined} handler
 * @param {A} args
 */
function call(handler, ...args) {
  if (!handler) return;
  try {
    handler(...args);
  } catch (error) {
    console.error("LiveNews: a handler threw", error);
  }
}

/**
 * Readers use WebSockets straight away. With headers (an editor's X-Api-Key), the connection uses long
 * polling: browsers cannot put headers on WebSockets or EventSource, and a key must not go in a URL.
 * @param {string} url
 * @param {(() => string | Promise<string>) | undefined} accessTokenFactory
 * @param {Record<string, string> | undefined} headers
 * @param {(attempt: number) => number} [retryIn]
 * @returns {HubConnectionLike}
 */
function buildConnection(url, accessTokenFactory, headers, retryIn = reconnectDelay) {
  const transport = headers
    ? { transport: HttpTransportType.LongPolling, headers }
    : { transport: HttpTransportType.WebSockets, skipNegotiation: true };
  const connection = new HubConnectionBuilder()
    .withUrl(url, { ...transport, accessTokenFactory })
    .withAutomaticReconnect({ nextRetryDelayInMilliseconds: (context) => retryIn(context.previousRetryCount) })
    .configureLogging(LogLevel.Warning)
    .build();
  return {
    invoke: (method, ...args) => connection.invoke(method, ...args),
    on: (method, handler) => connection.on(method, handler),
    onreconnecting: (handler) => connection.onreconnecting(handler),
    onreconnected: (handler) => connection.onreconnected(handler),
    onclose: (handler) => connection.onclose(handler),
    start: () => connection.start(),
    stop: () => connection.stop(),
    get state() { return connection.state; },
  };
}

/**
 * The `id` a LiveNews event stream gives its events: a tag of the topic names (FNV-1a of their UTF-8, each
 * followed by a line feed), then `epoch.seq` per topic in the stream's order, empty for a topic with no
 * position; `_` between parts. Sent as `lastEventId` to open a stream that resumes every topic.
 * @param {string[]} topics
 * @param {({ epoch: string, seq: number } | null | undefined)[]} positions
 */
export function streamId(topics, positions) {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(topics.map((t) => t + "\n").join(""))) {
    hash = Math.imul(hash ^ byte, 16777619) >>> 0;
  }
  const parts = positions.map((p) => (p ? `${p.epoch}.${p.seq}` : ""));
  return [hash.toString(16).padStart(8, "0"), ...parts].join("_");
}

/**
 * @typedef {{
 *   addEventListener: (name: string, listener: (event: { data: string }) => void) => void,
 *   onopen: (() => void) | null,
 *   onerror: (() => void) | null,
 *   readonly readyState: number,
 *   close: () => void,
 * }} EventSourceLike
 */

/**
 * A connection over Server-Sent Events that the client drives like the hub's: `Subscribe` (re)opens one
 * stream for every topic, resuming each from its position; the browser's own reconnect resumes them with
 * `Last-Event-ID`. A topic with a position is answered as resumed once the stream opens: what it missed
 * follows as events, or the stream sends a fresh `snapshot` (passed on as the `snapshot` message). A topic the stream
 * would refuse (the server answers the whole stream 400, which EventSource cannot read) is refused here, by
 * the server's rules, so the others stream on. A stream refused anyway (a node answering 503) closes the
 * connection; the next `start` opens it again after the waits the hub's reconnect takes
 * ({@link reconnectDelay} by default: the first within half a second).
 * @param {string} url
 * @param {(url: string) => EventSourceLike} [open]
 * @param {(attempt: number) => number} [retryIn]
 * @returns {HubConnectionLike}
 */
export function sseConnection(url, open = (u) => /** @type {EventSourceLike} */ (new EventSource(u)), retryIn = reconnectDelay) {
  /** @type {Map<string, { epoch: string, seq: number } | null>} */
  const topics = new Map();
  /** @type {Map<string, { resolve: (result: SubscribeResult) => void, reject: (error: Error) => void }>} */
  const waiting = new Map();
  /** @type {Record<string, (...args: any[]) => void>} */
  const handlers = {};
  let onReconnecting = () => {};
  let onReconnected = () => {};
  let onClose = () => {};
  /** @type {EventSourceLike | null} */
  let source = null;
  let state = "Disconnected";
  let refusedInARow = 0;
  let starts = 0;
  // Settles when the stream last (re)opened is answered: open, or refused. Topics resumed from a position wait
  // for it, so a subscribe is answered only once the server took the stream.
  let opened = settled();

  const failWaiting = () => {
    const error = new Error("The event stream closed: the store is unavailable.");
    for (const { reject } of waiting.values()) reject(error);
    waiting.clear();
    opened.reject(error);
  };

  const reopen = () => {
    source?.close();
    source = null;
    if (topics.size === 0) {
      // Nothing left to stream: topics that waited for it were left, and get an answer the client ignores.
      opened.resolve();
      return;
    }
    const names = [...topics.keys()];
    const query = names.map((t) => "topic=" + encodeURIComponent(t));
    query.push("lastEventId=" + encodeURIComponent(streamId(names, names.map((t) => topics.get(t)))));
    const stream = open(url + "?" + query.join("&"));
    source = stream;
    if (opened.done) opened = pending();
    stream.addEventListener("snapshot", (message) => {
      if (source !== stream) return;
      const data = JSON.parse(message.data);
      topics.set(data.topic, { epoch: data.epoch, seq: data.seq });
      /** @type {SubscribeResult} */
      const result = { ...data, recovered: false, events: [] };
      const waiter = waiting.get(data.topic);
      waiting.delete(data.topic);
      if (waiter) waiter.resolve(result);
      else handlers.snapshot?.(result);
    });
    stream.addEventListener("event", (message) => {
      if (source !== stream) return;
      /** @type {Envelope} */
      const envelope = JSON.parse(message.data);
      if (topics.has(envelope.topic)) topics.set(envelope.topic, { epoch: envelope.epoch, seq: envelope.seq });
      handlers.event?.(envelope);
    });
    stream.addEventListener("viewers", (message) => {
      if (source === stream) handlers.viewers?.(JSON.parse(message.data));
    });
    stream.onopen = () => {
      if (source !== stream) return;
      opened.resolve();
      refusedInARow = 0;
      if (state !== "Reconnecting") return;
      state = "Connected";
      onReconnected();
    };
    stream.onerror = () => {
      if (source !== stream) return;
      if (stream.readyState === 2) {
        // Refused (not 200): the browser gives up, the client reconnects and resubscribes from its positions.
        refusedInARow++;
        source = null;
        state = "Disconnected";
        failWaiting();
        onClose();
      } else if (state === "Connected") {
        state = "Reconnecting";
        onReconnecting();
      }
    };
  };

  /** @param {string[]} left */
  const leave = (left) => {
    for (const topic of left) {
      topics.delete(topic);
      // A batch waiting for this topic's snapshot gets an answer the client ignores (it left), not none.
      waiting.get(topic)?.resolve({ topic, epoch: "", seq: 0, recovered: false, snapshot: null, events: [] });
      waiting.delete(topic);
    }
  };

  return {
    async invoke(method, ...args) {
      if (state !== "Connected") throw new Error("The event stream is not connected.");
      if (method === "Unsubscribe") {
        leave(args[0]);
        reopen();
        return undefined;
      }
      /** @type {SubscribeRequest[]} */
      const requests = args[0];
      // All or nothing, as the hub: the client then asks for each topic alone, and drops the refused one.
      const refusal = requests.map((request) => streamRefusal(request.topic)).find((reason) => reason !== null);
      if (refusal) throw new Error("HubException: " + refusal);
      let changed = false;
      for (const request of requests) {
        const position = positionOf(request);
        if (source === null || !topics.has(request.topic) || !position) {
          topics.set(request.topic, position);
          changed = true;
        }
      }
      if (changed) reopen();
      const streamOpen = opened.promise;
      return Promise.all(requests.map((request) => {
        const position = positionOf(request);
        if (position) {
          return streamOpen.then(() => /** @type {SubscribeResult} */ ({ topic: request.topic, ...position, recovered: true, snapshot: null, events: [] }));
        }
        return new Promise((resolve, reject) => waiting.set(request.topic, { resolve, reject }));
      }));
    },
    on: (method, handler) => { handlers[method] = handler; },
    onreconnecting: (handler) => { onReconnecting = handler; },
    onreconnected: (handler) => { onReconnected = handler; },
    onclose: (handler) => { onClose = handler; },
    async start() {
      if (state !== "Disconnected") throw new Error("The event stream is already started.");
      const start = ++starts;
      const wait = refusedInARow > 0 ? retryIn(refusedInARow - 1) : 0;
      if (wait > 0) {
        state = "Connecting";
        await delay(wait);
        if (start !== starts) throw new Error("The event stream was stopped while it waited to reconnect.");
      }
      topics.clear();
      state = "Connected";
    },
    // Topics left while the stream is not connected: while the browser reopens it, the stream it reopens would
    // still carry them (their events, and a viewer counted), so it is opened anew without them.
    forget(left) {
      if (!left.some((topic) => topics.has(topic))) return;
      leave(left);
      if (state !== "Reconnecting") return;
      reopen();
      if (topics.size === 0) {
        // Nothing left to reopen: connected, with nothing to stream until the next subscribe.
        state = "Connected";
        onReconnected();
      }
    },
    async stop() {
      starts++;
      source?.close();
      source = null;
      topics.clear();
      failWaiting();
      state = "Disconnected";
    },
    get state() { return state; },
  };
}

/**
 * The position a subscribe request resumes from, or null for a fresh snapshot.
 * @param {SubscribeRequest} request
 * @returns {{ epoch: string, seq: number } | null}
 */
function positionOf(request) {
  return request.epoch !== undefined && request.seq !== undefined ? { epoch: request.epoch, seq: request.seq } : null;
}

/**
 * Why an event stream would refuse the topic, by the server's rules (`Topic.TryParse`, public topics only), or
 * null. The topic count is left to the server: its limit is a setting.
 * @param {string} topic
 * @returns {string | null}
 */
function streamRefusal(topic) {
  if (topic === "live" || topic === "breaking" || topic === "latest" || /^article:[a-z0-9-]{1,128}$/.test(topic)) return null;
  if (topic === "newsroom") return "Topic 'newsroom' is for editors; an event stream carries public topics only.";
  return `Unknown topic '${topic}': use live, breaking, latest or article:{id} (id of lowercase letters, digits and dashes, at most 128).`;
}

/** @param {number} ms */
const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A promise with its settling functions, and whether it settled (a rejection nobody awaits is not reported).
 * @returns {{ promise: Promise<void>, resolve: () => void, reject: (error: Error) => void, readonly done: boolean }}
 */
function pending() {
  let done = false;
  /** @type {() => void} */
  let resolve = () => {};
  /** @type {(error: Error) => void} */
  let reject = () => {};
  const promise = new Promise(/** @param {(value?: void) => void} ok */ (ok, fail) => {
    resolve = () => { done = true; ok(); };
    reject = (error) => { done = true; fail(error); };
  });
  promise.catch(() => {});
  return { promise, resolve, reject, get done() { return done; } };
}

/** @returns {ReturnType<typeof pending>} already resolved. */
function settled() {
  const result = pending();
  result.resolve();
  return result;
}
