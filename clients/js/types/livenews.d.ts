export type Envelope = {
    topic: string;
    seq: number;
    epoch: string;
    id: string;
    type: string;
    at: string;
    data: any;
};
export type SubscribeResult = {
    topic: string;
    epoch: string;
    seq: number;
    recovered: boolean;
    snapshot: any;
    events: Envelope[];
};
export type SubscribeRequest = {
    topic: string;
    epoch?: string;
    seq?: number;
};
export type ConnectionState = "connecting" | "live" | "reconnecting" | "offline";
export type SnapshotInfo = {
    startedOver: boolean;
    fromCache: boolean;
};
export type ViewerCount = {
    topic: string;
    count: number;
    at: string;
};
export type TopicHandlers = {
    snapshot?: (snapshot: any, info: SnapshotInfo) => void;
    event?: (event: Envelope) => void;
    viewers?: (count: number, message: ViewerCount) => void;
    error?: (error: TopicError) => void;
};
export type HubConnectionLike = {
    invoke: (method: string, ...args: any[]) => Promise<any>;
    on: (method: string, handler: (...args: any[]) => void) => void;
    onreconnecting: (handler: () => void) => void;
    onreconnected: (handler: () => void) => void;
    onclose: (handler: () => void) => void;
    start: () => Promise<void>;
    stop: () => Promise<void>;
    forget?: (topics: string[]) => void;
    readonly state: string;
};
export type StorageLike = Pick<Storage, "getItem" | "setItem" | "removeItem">;
export type TopicError = {
    topic: string;
    /**
     * `refused`: the server will never accept this topic (bad
     * name, editors only, too many topics); it is dropped, not retried. `unavailable`: the store could not
     * serve it now; it is retried with backoff, the other topics carry on meanwhile.
     */
    reason: "refused" | "unavailable";
    /**
     * the server's reason
     */
    message: string;
    /**
     * when the next attempt is made; null for a refusal
     */
    retryInMs: number | null;
};
export type ClientOptions = {
    /**
     * the hub, `/hubs/live` by default
     */
    url?: string;
    /**
     * where positions are kept across reloads; `sessionStorage` by default
     */
    storage?: StorageLike | null;
    accessTokenFactory?: () => string | Promise<string>;
    /**
     * (switches to long polling: browsers put no headers on WebSockets)
     */
    headers?: Record<string, string>;
    /**
     * a connection to use instead of building one (tests)
     */
    connection?: HubConnectionLike;
    /**
     * `sse`: Server-Sent Events (`GET /sse`, see `sseUrl`) for
     * networks that block WebSockets, with the same guarantees (anonymous topics only: no `headers`)
     */
    transport?: "websockets" | "sse";
    /**
     * the event stream, `/sse` by default
     */
    sseUrl?: string;
    /**
     * events kept for a reload to replay before it starts from a snapshot
     */
    maxCachedEvents?: number;
    /**
     * milliseconds before retry `attempt` (0 first) of a
     * topic the store could not serve; {@link exponentialBackoff} by default
     */
    retryDelay?: (attempt: number) => number;
    /**
     * milliseconds before reconnect attempt `attempt` (0
     * first) of a connection that dropped or could not start; {@link reconnectDelay} by default
     */
    reconnectDelay?: (attempt: number) => number;
};
/**
 * Milliseconds before reconnect attempt `attempt` (0 first), forever: within half a second, then about 1 s, 2 s,
 * and every 5 s after, each drawn between half and all of that (the first between none and all), so that the
 * readers of a node that died or drained do not all come back in the same instant, nor in step after that.
 * @param {number} attempt
 * @param {() => number} [random]
 * @returns {number}
 */
export declare function reconnectDelay(attempt: number, random?: () => number): number;
/**
 * Exponential backoff with jitter for topic retries: about 1 s, 2 s, 4 s … up to 30 s, each drawn between
 * half and all of that, so that readers who lost the store together do not all come back in the same second.
 * @param {number} attempt 0 for the first retry
 * @param {() => number} [random]
 */
export declare function exponentialBackoff(attempt: number, random?: () => number): number;
/**
 * How the server's answer to a failed Subscribe reads on the wire: "An unexpected error occurred invoking
 * 'Subscribe' on the server. HubException: <message>". Only a HubException that says "unavailable" is worth
 * retrying; any other HubException is a refusal. Errors that are not the server's answer (a connection that
 * dropped mid-call, a timeout) are retried.
 * @param {unknown} error
 * @returns {{ refused: boolean, message: string }}
 */
export declare function classifySubscribeError(error: unknown): {
    refused: boolean;
    message: string;
};
export declare class LiveNewsClient {
    #private;
    /** @param {ClientOptions} [options] */
    constructor(options?: ClientOptions);
    /** The connection's state, for a "reconnecting…" indicator. */
    get state(): ConnectionState;
    /** Connects (retrying until it succeeds or {@link stop} is called) and subscribes every topic. */
    start(): Promise<void>;
    stop(): Promise<void>;
    /**
     * Listens to a topic. The snapshot comes first (from this tab's cache when a reload resumes), then events.
     * A topic has one set of handlers: subscribing to a topic that is already subscribed throws; unsubscribe
     * first, or share one handler object in the page.
     * @param {string} topic
     * @param {TopicHandlers} handlers
     * @returns {{ unsubscribe: () => Promise<void> }}
     */
    subscribe(topic: string, handlers: TopicHandlers): {
        unsubscribe: () => Promise<void>;
    };
    /** @param {(state: ConnectionState) => void} listener */
    onState(listener: (state: ConnectionState) => void): () => boolean;
}
/**
 * The `id` a LiveNews event stream gives its events: a tag of the topic names (FNV-1a of their UTF-8, each
 * followed by a line feed), then `epoch.seq` per topic in the stream's order, empty for a topic with no
 * position; `_` between parts. Sent as `lastEventId` to open a stream that resumes every topic.
 * @param {string[]} topics
 * @param {({ epoch: string, seq: number } | null | undefined)[]} positions
 */
export declare function streamId(topics: string[], positions: ({
    epoch: string;
    seq: number;
} | null | undefined)[]): string;
export type EventSourceLike = {
    addEventListener: (name: string, listener: (event: {
        data: string;
    }) => void) => void;
    onopen: (() => void) | null;
    onerror: (() => void) | null;
    readonly readyState: number;
    close: () => void;
};
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
export declare function sseConnection(url: string, open?: (url: string) => EventSourceLike, retryIn?: (attempt: number) => number): HubConnectionLike;
