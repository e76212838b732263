// The reader page's service worker: shows a breaking alert pushed while no LiveNews tab is open, and opens
// the alert's story when it is clicked. The payload is JSON text ({ type, id, headline, url, at, epoch, seq });
// it is only ever shown as notification text, and its URL is opened only when it is http(s).
const safeUrl = (url) => (typeof url === "string" && /^https?:\/\//i.test(url) ? url : null);

// Pushes of one alert can arrive out of order (sent by two nodes, held by a push service): one from before
// the notification shown for the alert (same epoch, lower seq) is older news.
const isOlder = (alert, shown) =>
  shown != null && typeof alert.seq === "number" && typeof shown.seq === "number"
  && alert.epoch === shown.epoch && alert.seq < shown.seq;

self.addEventListener("push", (event) => {
  let alert = null;
  try {
    alert = event.data?.json() ?? null;
  } catch {
    alert = null;
  }
  if (!alert || typeof alert.id !== "string") return;
  const tag = `breaking-${alert.id}`;
  event.waitUntil((async () => {
    const [shown] = await self.registration.getNotifications({ tag });
    if (shown && isOlder(alert, shown.data)) {
      // A push must show something: the newer notification stays as it is, silently.
      await self.registration.showNotification(shown.title, { body: shown.body, tag, renotify: false, data: shown.data });
      return;
    }
    const retracted = alert.type === "breaking.retracted";
    // One notification per alert (tag): an update replaces it, a retraction says so in its place.
    await self.registration.showNotification(retracted ? "Alert withdrawn" : "BREAKING", {
      body: retracted ? "This breaking news alert was withdrawn." : String(alert.headline ?? ""),
      tag,
      renotify: !retracted,
      data: { url: retracted ? "/" : safeUrl(alert.url) ?? "/", epoch: alert.epoch, seq: alert.seq },
    });
  })());
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(self.clients.openWindow(event.notification.data?.url ?? "/"));
});
