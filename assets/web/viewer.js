// The source viewer: a stored document's whole text, the cited section set off and the quoted
// characters in a <mark>, built from text nodes split at the character offsets the API gives
// (Unicode scalar values, so counted with `Array.from`, never UTF-16 indices).

import { collectionPath, getJson } from "/web/api.js";
import { t } from "/web/i18n.js";

const documents = new Map();
let opened = null;

function element(id) {
  return document.getElementById(id);
}

/** The stored text of a document, fetched once per page load. */
async function documentText(collection, id) {
  const key = `${collection}\u0000${id}`;
  if (!documents.has(key)) {
    const path = `${collectionPath(collection, "documents", id)}?include_content=true`;
    documents.set(
      key,
      getJson(path).catch((error) => {
        documents.delete(key);
        throw error;
      }),
    );
  }
  return documents.get(key);
}

/**
 * Fills `container` with `text`: characters `section.start..section.end` in a
 * `<span class="section">`, characters `mark.start..mark.end` in a `<mark>` inside it.
 * Returns the mark (or the section when there is no mark, or null).
 */
export function renderHighlighted(container, text, section, mark) {
  const characters = Array.from(text);
  const clamp = (n) => Math.max(0, Math.min(characters.length, n));
  const marked = mark && { start: clamp(mark.start), end: clamp(mark.end) };
  let framed = section && { start: clamp(section.start), end: clamp(section.end) };
  if (framed && marked) {
    framed = { start: Math.min(framed.start, marked.start), end: Math.max(framed.end, marked.end) };
  }
  const cuts = new Set([0, characters.length]);
  for (const range of [framed, marked]) {
    if (range) cuts.add(range.start).add(range.end);
  }
  const points = [...cuts].sort((a, b) => a - b);
  const inside = (range, a, b) => range && range.start <= a && b <= range.end;
  container.replaceChildren();
  let sectionNode = null;
  let markNode = null;
  for (let i = 0; i + 1 < points.length; i += 1) {
    const [a, b] = [points[i], points[i + 1]];
    const piece = document.createTextNode(characters.slice(a, b).join(""));
    let target = container;
    if (inside(framed, a, b)) {
      if (!sectionNode) {
        sectionNode = document.createElement("span");
        sectionNode.className = "section";
        container.append(sectionNode);
      }
      target = sectionNode;
    }
    if (inside(marked, a, b)) {
      markNode = document.createElement("mark");
      markNode.append(piece);
      target.append(markNode);
    } else {
      target.append(piece);
    }
  }
  return markNode || sectionNode;
}

/**
 * Opens `source` (an answer's source) in the viewer: the quote `quote` highlighted when given,
 * else the source's own passage.
 */
export async function openSource(source, quote = null) {
  const highlight = quote
    ? { start: quote.char_start, end: quote.char_end }
    : { start: source.char_start, end: source.char_end };
  const section = { start: source.char_start, end: source.char_end };
  const note = t(quote ? "quoted_passage" : "cited_passage");
  const heading = `[${source.index}] ${source.title}`;
  const meta = [source.collection, source.path].filter(Boolean).join(" · ");
  await show(source.collection, source.document_id, heading, meta, note, section, highlight);
}

/** Opens a whole document without a highlight (from the document list). */
export async function openDocument(collection, id, title) {
  await show(collection, id, title, collection, "", null, null);
}

async function show(collection, id, heading, meta, note, section, highlight) {
  const viewer = element("viewer");
  const text = element("viewer-text");
  opened = { collection, id };
  viewer.hidden = false;
  document.body.classList.add("viewer-open");
  element("viewer-title").textContent = heading;
  element("viewer-meta").textContent = meta;
  element("viewer-note").textContent = t("loading");
  text.replaceChildren();
  let stored;
  try {
    stored = await documentText(collection, id);
  } catch (error) {
    element("viewer-note").textContent = `${t("error")}: ${error.message}`;
    return;
  }
  if (opened?.collection !== collection || opened?.id !== id) return;
  element("viewer-note").textContent = note;
  const target = renderHighlighted(text, stored.content || "", section, highlight);
  (target || text).scrollIntoView({ block: "center" });
  element("viewer-close").focus({ preventScroll: true });
}

/** Closes the viewer. */
export function closeViewer() {
  element("viewer").hidden = true;
  document.body.classList.remove("viewer-open");
  opened = null;
}

/** Wires the close button. */
export function initViewer() {
  element("viewer-close").addEventListener("click", closeViewer);
}

/** Forgets cached texts (after a document changed or was deleted). */
export function forgetDocuments() {
  documents.clear();
}
