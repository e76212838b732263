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

/** @param {{ id: string, pinned: boolean, postedAt: string }} entry */
function place(entry) {
  const list = entry.pinned ? pinned : entries;
  const shown = document.getElementById("entry-" + entry.id);
  const item = render(/** @type {any} */ (entry));
  if (shown && shown.parentElement === list) shown.replaceWith(item); // an edit keeps its place
  else {
    shown?.remove();
    list?.prepend(item);
  }
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
    const postedAt = Date.parse(item.querySelector("time")?.dateTime ?? "");
    const outsideSnapshot = item.parentElement === entries && postedAt < oldest;
    if (!ids.has(item.id) && !outsideSnapshot) item.remove();
  }
}

if (topic && entries) {
  const client = new LiveNewsClient({ storage: null });
  client.subscribe(topic, {
    // What changed between this page's render and the subscription is in the snapshot the subscription
    // answers with: draw its entries, oldest first (an entry shown already keeps its place), and take away
    // the shown ones it no longer holds.
    snapshot: (snapshot) => {
      const listed = snapshot?.entries ?? [];
      removeDeleted(listed);
      for (let i = listed.length - 1; i >= 0; i--) place(listed[i]);
    },
    event: (event) => {
      const data = event.data;
      if (data?.removed) return; // a tombstone in history: the event that removed it follows
      if (event.type === "entry.deleted") {
        document.getElementById("entry-" + data.id)?.remove();
      } else if (event.type.startsWith("entry.")) {
        place(data);
      } else if (event.type === "article.updated") {
        const headline = document.getElementById("headline");
        if (headline) headline.textContent = data.headline;
      } else if (event.type === "article.unpublished") {
        article.replaceChildren(Object.assign(document.createElement("p"), { textContent: "This article is no longer available." }));
      }
    },
  });
  client.start();
  document.documentElement.dataset.live = "true";
}
