// LiveNews browser client: subscribes to topics over SignalR and delivers each topic's snapshot, then its
// events in seq order, each exactly once. Reconnects by itself and resumes every topic from its last
// position; keeps positions (and what they describe) in sessionStorage so a reload resumes too.
import { HubConnectionBuilder, HubConnectionState, HttpTransportType, LogLevel } from "@microsoft/signalr";

/**
 * @typedef {{ topic: string, seq: number, epoch: string, id: string, type: string, at: string, data: any }} Envelope
 * @typedef {{ topic: string, epoch: string, seq: number, recovered: boolean, snapshot: any, events: Envelope[] }} SubscribeResult
 * @typedef {"connecting" | "live" | "reconnecting" | "offline"} ConnectionState
 * @typedef {{ startedOver: boolean, fromCache: boolean }} SnapshotInfo
 * @typedef {{
 *   snapshot?: (snapshot: any, info: SnapshotInfo) => void,
 *   event?: (event: Envelope) => void,
 * }} TopicHandlers
 * @typedef {{
 *   invoke: (method: string, ...args: any[]) => Promise<any>,
 *   on: (method: string, handler: (...args: any[]) => void) => void,
 *   onreconnecting: (handler: () => void) => void,
 *   onreconnected: (handler: () => void) => void,
 *   onclose: (handler: () => void) => void,
 *   start: () => Promise<void>,
 *   stop: () => Promise<void>,
 *   state: string,
 * }} HubConnectionLike
 * @typedef {{
 *   url?: string,
 *   storage?: Pick<Storage, "getItem" | "setItem" | "removeItem"> | null,
 *   accessTokenFactory?: () => string | Promise<string>,
 *   headers?: Record<string, string>,
 *   connection?: HubConnectionLike,
 *   maxCachedEvents?: number,
 * }} ClientOptions
 */

const STORAGE_PREFIX = "livenews:topic:";

/** Retries forever: at once, then 1 s, 2 s, then every 5 s. */
const foreverRetry = {
  nextRetryDelayInMilliseconds: (/** @type {{ previousRetryCount: number }} */ context) =>
    [0, 1000, 2000][context.previousRetryCount] ?? 5000,
};

export class LiveNewsClient {
  /** @param {ClientOptions} [options] */
  constructor(options = {}) {
    this.url = options.url ?? "/hubs/live";
    this.storage = options.storage === undefined ? globalThis.sessionStorage ?? null : options.storage;
    this.maxCachedEvents = options.maxCachedEvents ?? 200;
    /** @type {ConnectionState} */
    this.state = "offline";
    /** @type {Set<(state: ConnectionState) => void>} */
    this.stateListeners = new Set();
    /** @type {Map<string, TopicState>} */
    this.topics = new Map();
    this.started = false;
    this.connection = options.connection ?? buildConnection(this.url, options.accessTokenFactory, options.headers);
    this.connection.on("event", (/** @type {Envelope} */ envelope) => this.onEvent(envelope));
    this.connection.onreconnecting(() => this.setState("reconnecting"));
    this.connection.onreconnected(() => {
      this.setState("live");
      void this.resubscribeAll();
    });
    this.connection.onclose(() => {
      this.setState("offline");
      if (this.started) void this.startLoop();
    });
  }

  /** Connects (retrying until it succeeds or {@link stop} is called) and subscribes every topic. */
  async start() {
    this.started = true;
    await this.startLoop();
  }

  async stop() {
    this.started = false;
    await this.connection.stop();
    this.setState("offline");
  }

  /**
   * Listens to a topic. The snapshot comes first (from this tab's cache when a reload resumes), then events.
   * @param {string} topic
   * @param {TopicHandlers} handlers
   * @returns {{ unsubscribe: () => Promise<void> }}
   */
  subscribe(topic, handlers) {
    const state = new TopicState(topic, handlers);
    this.topics.set(topic, state);
    this.restore(state);
    if (this.connection.state === HubConnectionState.Connected) void this.subscribeTopics([state]);
    return {
      unsubscribe: async () => {
        this.topics.delete(topic);
        this.storage?.removeItem(STORAGE_PREFIX + topic);
        if (this.connection.state === HubConnectionState.Connected) await this.connection.invoke("Unsubscribe", [topic]);
      },
    };
  }

  /** @param {(state: ConnectionState) => void} listener */
  onState(listener) {
    this.stateListeners.add(listener);
    listener(this.state);
    return () => this.stateListeners.delete(listener);
  }

  /** @private */
  async startLoop() {
    for (let attempt = 0; this.started; attempt++) {
      this.setState(attempt === 0 ? "connecting" : "reconnecting");
      try {
        await this.connection.start();
        this.setState("live");
        await this.resubscribeAll();
        return;
      } catch {
        await delay(foreverRetry.nextRetryDelayInMilliseconds({ previousRetryCount: attempt }));
      }
    }
  }

  /** @private */
  async resubscribeAll() {
    await this.subscribeTopics([...this.topics.values()]);
  }

  /**
   * @private
   * @param {TopicState[]} states
   */
  async subscribeTopics(states) {
    if (states.length === 0) return;
    for (const state of states) state.subscribing++;
    try {
      /** @type {SubscribeResult[]} */
      const results = await this.connection.invoke("Subscribe", states.map((s) => s.request()));
      results.forEach((result, i) => this.apply(states[i], result));
    } catch (error) {
      for (const state of states) state.subscribing = Math.max(0, state.subscribing - 1);
      // A refused topic is the caller's mistake; a dropped connection resubscribes on reconnect.
      if (this.connection.state === HubConnectionState.Connected) throw error;
    }
  }

  /**
   * @private
   * @param {TopicState} state
   * @param {SubscribeResult} result
   */
  apply(state, result) {
    state.subscribing = Math.max(0, state.subscribing - 1);
    if (this.topics.get(state.topic) !== state) return;
    if (result.recovered && (result.epoch === state.epoch || isEmptyTopic(state))) {
      state.epoch = result.epoch;
      for (const event of result.events) this.deliver(state, event);
    } else {
      const startedOver = state.epoch !== null;
      state.epoch = result.epoch;
      state.seq = result.seq;
      state.snapshot = result.snapshot;
      state.cachedEvents = [];
      state.handlers.snapshot?.(result.snapshot, { startedOver, fromCache: false });
      this.persist(state);
    }
    const buffered = state.buffered.sort((a, b) => a.seq - b.seq);
    state.buffered = [];
    for (const event of buffered) this.handle(state, event);
  }

  /**
   * @private
   * @param {Envelope} envelope
   */
  onEvent(envelope) {
    const state = this.topics.get(envelope.topic);
    if (!state) return;
    if (state.subscribing > 0) state.buffered.push(envelope);
    else this.handle(state, envelope);
  }

  /**
   * @private
   * @param {TopicState} state
   * @param {Envelope} event
   */
  handle(state, event) {
    // The topic's first event brings the epoch its history starts with.
    if (isEmptyTopic(state) && event.seq === 1) state.epoch = event.epoch;
    if (event.epoch === state.epoch && event.seq <= state.seq) return; // seen already
    if (event.epoch === state.epoch && event.seq === state.seq + 1) {
      this.deliver(state, event);
      return;
    }
    // A gap or a new epoch: ask for what is missing (or a fresh snapshot), keeping this event.
    state.buffered.push(event);
    if (state.subscribing === 0) void this.subscribeTopics([state]).catch(() => {});
  }

  /**
   * @private
   * @param {TopicState} state
   * @param {Envelope} event
   */
  deliver(state, event) {
    if (event.epoch !== state.epoch || event.seq !== state.seq + 1) return;
    state.seq = event.seq;
    state.cachedEvents.push(event);
    state.handlers.event?.(event);
    this.persist(state);
  }

  /**
   * @private
   * @param {TopicState} state
   */
  persist(state) {
    if (!this.storage) return;
    if (state.cachedEvents.length > this.maxCachedEvents) {
      // Too much to replay on reload: a reload will start from a fresh snapshot instead.
      this.storage.removeItem(STORAGE_PREFIX + state.topic);
      return;
    }
    try {
      this.storage.setItem(STORAGE_PREFIX + state.topic, JSON.stringify({
        epoch: state.epoch, seq: state.seq, snapshot: state.snapshot, events: state.cachedEvents,
      }));
    } catch {
      this.storage.removeItem(STORAGE_PREFIX + state.topic);
    }
  }

  /**
   * Replays this tab's cached snapshot and events, so a reload draws at once and resumes from there.
   * @private
   * @param {TopicState} state
   */
  restore(state) {
    const raw = this.storage?.getItem(STORAGE_PREFIX + state.topic);
    if (!raw) return;
    try {
      const cached = JSON.parse(raw);
      state.epoch = cached.epoch;
      state.seq = cached.seq - cached.events.length;
      state.snapshot = cached.snapshot;
      state.handlers.snapshot?.(cached.snapshot, { startedOver: false, fromCache: true });
      for (const event of cached.events) this.deliver(state, event);
    } catch {
      this.storage?.removeItem(STORAGE_PREFIX + state.topic);
      state.epoch = null;
      state.seq = 0;
    }
  }

  /**
   * @private
   * @param {ConnectionState} state
   */
  setState(state) {
    if (this.state === state) return;
    this.state = state;
    for (const listener of this.stateListeners) listener(state);
  }
}

class TopicState {
  /**
   * @param {string} topic
   * @param {TopicHandlers} handlers
   */
  constructor(topic, handlers) {
    this.topic = topic;
    this.handlers = handlers;
    /** @type {string | null} */
    this.epoch = null;
    this.seq = 0;
    /** @type {any} */
    this.snapshot = null;
    /** @type {Envelope[]} */
    this.cachedEvents = [];
    /** @type {Envelope[]} */
    this.buffered = [];
    this.subscribing = 0;
  }

  request() {
    return this.epoch === null ? { topic: this.topic } : { topic: this.topic, epoch: this.epoch, seq: this.seq };
  }
}

/**
 * Readers use WebSockets straight away. With headers (an editor's X-Api-Key), the connection uses long
 * polling: browsers cannot put headers on WebSockets or EventSource, and a key must not go in a URL.
 * @param {string} url
 * @param {(() => string | Promise<string>) | undefined} accessTokenFactory
 * @param {Record<string, string> | undefined} headers
 */
function buildConnection(url, accessTokenFactory, headers) {
  const transport = headers
    ? { transport: HttpTransportType.LongPolling, headers }
    : { transport: HttpTransportType.WebSockets, skipNegotiation: true };
  const connection = new HubConnectionBuilder()
    .withUrl(url, { ...transport, accessTokenFactory })
    .withAutomaticReconnect(foreverRetry)
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

/** @param {number} ms */
const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Nothing was ever published on the topic when it was read: the server had no epoch to give ("").
 * @param {{ epoch: string | null, seq: number }} state
 */
function isEmptyTopic(state) {
  return state.epoch === "" && state.seq === 0;
}
