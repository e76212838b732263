// The reader page's service worker: shows a breaking alert pushed while no LiveNews tab is open, and opens
// the alert's story when it is clicked. The payload is JSON text ({ type, id, headline, url, at }); it is
// only ever shown as notification text, and its URL is opened only when it is http(s).
const safeUrl = (url) => (typeof url === "string" && /^https?:\/\//i.test(url) ? url : null);

self.addEventListener("push", (event) => {
  let alert = null;
  try {
    alert = event.data?.json() ?? null;
  } catch {
    alert = null;
  }
  if (!alert || typeof alert.id !== "string") return;
  const retracted = alert.type === "breaking.retracted";
  // One notification per alert (tag): an update replaces it, a retraction says so in its place.
  event.waitUntil(self.registration.showNotification(retracted ? "Alert withdrawn" : "BREAKING", {
    body: retracted ? "This breaking news alert was withdrawn." : String(alert.headline ?? ""),
    tag: `breaking-${alert.id}`,
    renotify: !retracted,
    data: { url: retracted ? "/" : safeUrl(alert.url) ?? "/" },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(self.clients.openWindow(event.notification.data?.url ?? "/"));
});
