// Keeps a server-rendered article page (/articles/{id}) live: the HTML is complete without this script;
// with it, entries posted, edited, pinned or deleted appear at once. DOM from text nodes only.
import { LiveNewsClient } from "/livenews.js";

const article = document.getElementById("article");
const pinned = document.getElementById("pinned");
const entries = document.getElementById("entries");
const topic = article?.dataset.topic;

/** @param {{ id: string, kind: string, text: string, pinned: boolean, postedAt: string }} entry */
function render(entry) {
  const item = document.createElement("li");
  item.id = "entry-" + entry.id;
  item.className = "entry " + entry.kind;
  const time = document.createElement("time");
  time.dateTime = entry.postedAt;
  time.textContent = entry.postedAt.slice(0, 16).replace("T", " ") + " UTC";
  const text = document.createElement("p");
  text.textContent = entry.text;
  item.append(time, " ", text);
  return item;
}

const postedAt = (/** @type {Element} */ item) => Date.parse(item.querySelector("time")?.dateTime ?? "");

// The page shows the newest entries only (an "Older updates" link goes on): one older than the oldest shown
// belongs to a later page, and is not added here.
const beyondPage = (/** @type {number} */ time) => {
  const oldest = entries.lastElementChild;
  return document.getElementById("older") !== null && oldest !== null && time < postedAt(oldest);
};

/**
 * Shows the entry where the server's page has it: newest first, in its list. An edit keeps its place.
 * @param {{ id: string, pinned: boolean, postedAt: string }} entry
 */
function place(entry) {
  const list = entry.pinned ? pinned : entries;
  const shown = document.getElementById("entry-" + entry.id);
  const item = render(/** @type {any} */ (entry));
  if (shown && shown.parentElement === list) {
    shown.replaceWith(item);
    return;
  }
  shown?.remove();
  const time = Date.parse(entry.postedAt);
  if (!list || (list === entries && beyondPage(time))) return;
  const after = [...list.children].find((other) => postedAt(other) < time);
  list.insertBefore(item, after ?? null);
}

// The structured data made with the page holds the article's and its entries' text as they were: once any of it
// changed or was taken down, it goes (the page stays complete without it).
function structuredDataStale() {
  for (const element of document.head.querySelectorAll('script[type="application/ld+json"]')) element.remove();
}

// The article is gone (unpublished): nothing of it stays on the page, its title, description and structured
// data included.
function gone() {
  article?.replaceChildren(Object.assign(document.createElement("p"), { textContent: "This article is no longer available." }));
  document.title = "Article no longer available";
  document.head.querySelector('meta[name="description"]')?.remove();
  structuredDataStale();
}

/** @param {{ headline?: string, summary?: string | null, liveCoverage?: { endedAt?: string | null } | null }} data */
function updateArticle(data) {
  const headline = document.getElementById("headline");
  if (headline && typeof data.headline === "string") {
    headline.textContent = data.headline;
    document.title = data.headline;
  }
  const summary = document.getElementById("summary");
  if (summary) summary.textContent = data.summary ?? "";
  const description = document.head.querySelector('meta[name="description"]');
  if (description) {
    if (data.summary) description.setAttribute("content", data.summary);
    else description.remove();
  }
  const coverage = document.getElementById("coverage");
  if (coverage && data.liveCoverage) coverage.textContent = data.liveCoverage.endedAt ? "Live coverage ended" : "LIVE";
}

/**
 * Removes shown entries that were deleted: every pinned entry is in the snapshot, and of the others the
 * newest ones, so a shown entry missing from it was deleted unless it is older than the snapshot's oldest
 * (an older page of the live blog).
 * @param {{ id: string, pinned: boolean, postedAt: string }[]} listed
 */
function removeDeleted(listed) {
  const ids = new Set(listed.map((entry) => "entry-" + entry.id));
  const unpinned = listed.filter((entry) => !entry.pinned).map((entry) => entry.postedAt).sort();
  const oldest = unpinned.length > 0 ? Date.parse(unpinned[0]) : Infinity;
  for (const item of [...(pinned?.children ?? []), ...entries.children]) {
    const outsideSnapshot = item.parentElement === entries && postedAt(item) < oldest;
    if (!ids.has(item.id) && !outsideSnapshot) {
      item.remove();
      structuredDataStale();
    }
  }
}

if (topic && entries) {
  const client = new LiveNewsClient({ storage: null });
  client.subscribe(topic, {
    // What changed between this page's render and the subscription is in the snapshot the subscription
    // answers with: the article (gone, if it was unpublished since), its entries in their places (an entry
    // shown already keeps its place), and the shown ones it no longer holds taken away.
    snapshot: (snapshot) => {
      if (!snapshot?.article) {
        gone();
        return;
      }
      updateArticle(snapshot.article);
      const listed = snapshot.entries ?? [];
      removeDeleted(listed);
      for (const entry of listed) place(entry);
    },
    event: (event) => {
      const data = event.data;
      if (data?.removed) return; // a tombstone in history: the event that removed it follows
      if (event.type !== "entry.posted") structuredDataStale();
      if (event.type === "entry.deleted") {
        document.getElementById("entry-" + data.id)?.remove();
      } else if (event.type.startsWith("entry.")) {
        place(data);
      } else if (event.type === "article.updated") {
        updateArticle(data);
      } else if (event.type === "article.unpublished") {
        gone();
      }
    },
  });
  client.start();
  document.documentElement.dataset.live = "true";
}
