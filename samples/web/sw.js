// The reader page's service worker: shows a breaking alert pushed while no LiveNews tab is open, and opens
// the alert's story when it is clicked. The payload is JSON text ({ type, id, headline, url, at, epoch, seq });
// it is only ever shown as notification text, and its URL is opened only when it is http(s).
const safeUrl = (url) => (typeof url === "string" && /^https?:\/\//i.test(url) ? url : null);

// What was last shown for each alert, kept even once the reader closed the notification: pushes of one alert
// can arrive out of order (sent by two nodes, held by a push service), and an older one must not bring back a
// headline that was updated or withdrawn. Kept 56 days: a push may come as late as twice the longest
// Push:MessageTimeToLive (28 days), once queued by the server and once held by the push service.
const SHOWN = "livenews-alerts-shown";
const KEPT_MS = 56 * 24 * 60 * 60 * 1000;
const PRUNE_EVERY_MS = 60 * 60 * 1000;
let prunedAt = 0;
const shownKey = (id) => `/livenews/alerts-shown/${encodeURIComponent(id)}`;

// Shown already, or older: the same or an earlier seq in the same epoch (a push service may deliver a message
// twice, and the server sends a push again when its first answer was lost); across epochs (the server's store
// started over), an earlier time.
const isShownOrOlder = (alert, last) => {
  if (!last) return false;
  if (alert.epoch === last.epoch && typeof alert.seq === "number" && typeof last.seq === "number") return alert.seq <= last.seq;
  return typeof alert.at === "string" && typeof last.at === "string" && Date.parse(alert.at) < Date.parse(last.at);
};

// One push at a time: two pushes of one alert would otherwise both read what was shown before either.
let handling = Promise.resolve();

self.addEventListener("push", (event) => {
  let alert = null;
  try {
    alert = event.data?.json() ?? null;
  } catch {
    alert = null;
  }
  if (!alert || typeof alert.id !== "string") return;
  handling = handling.then(() => show(alert)).catch(() => {});
  event.waitUntil(handling);
});

// Without Cache Storage (quota, disabled) every push is shown as it comes: an alert is never held back.
async function show(alert) {
  const store = await caches.open(SHOWN).catch(() => null);
  const key = shownKey(alert.id);
  const last = store && await store.match(key).then((answer) => answer?.json()).catch(() => null);
  if (isShownOrOlder(alert, last)) {
    // A push must show something: what is newer is shown again, silently.
    await self.registration.showNotification(last.title, { ...last.options, renotify: false, silent: true });
    return;
  }
  const retracted = alert.type === "breaking.retracted";
  const title = retracted ? "Alert withdrawn" : "BREAKING";
  // One notification per alert (tag): an update replaces it, a retraction says so in its place.
  const options = {
    body: retracted ? "This breaking news alert was withdrawn." : String(alert.headline ?? ""),
    tag: `breaking-${alert.id}`,
    renotify: !retracted,
    data: { url: retracted ? "/" : safeUrl(alert.url) ?? "/" },
  };
  await store?.put(key, new Response(JSON.stringify({ epoch: alert.epoch, seq: alert.seq, at: alert.at, keptAt: Date.now(), title, options }))).catch(() => {});
  await self.registration.showNotification(title, options);
  if (store && Date.now() - prunedAt > PRUNE_EVERY_MS) {
    prunedAt = Date.now();
    await forgetOld(store).catch(() => {});
  }
}

async function forgetOld(store) {
  for (const request of await store.keys()) {
    const kept = await store.match(request).then((answer) => answer?.json()).catch(() => null);
    if (!kept || !(Date.now() - kept.keptAt < KEPT_MS)) await store.delete(request);
  }
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(self.clients.openWindow(event.notification.data?.url ?? "/"));
});

// The browser replaced the push subscription (it expired, or the push service rotated it): the new one is
// stored at the server for breaking alerts, and the old one forgotten, or alerts would stop without a word.
self.addEventListener("pushsubscriptionchange", (event) => {
  event.waitUntil((async () => {
    // The server's key first: the old subscription's may be one the server has rotated away from.
    const key = (await fetch("/api/push/key").then((r) => (r.ok ? r.json() : null)).catch(() => null))?.publicKey
      ?? event.oldSubscription?.options?.applicationServerKey;
    const subscription = event.newSubscription ?? (key ? await self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key }) : null);
    const stored = subscription && await fetch("/api/push/subscriptions", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ ...subscription.toJSON(), topics: ["breaking"] }),
    }).then((response) => response.ok, () => false);
    // The old one is forgotten only once the new one is stored: until then, it is all the server has.
    if (stored && event.oldSubscription && event.oldSubscription.endpoint !== subscription.endpoint) {
      await fetch("/api/push/subscriptions", {
        method: "DELETE",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ endpoint: event.oldSubscription.endpoint }),
      }).catch(() => {});
    }
  })());
});
