// Uploading files into the collection chosen under Documents: files come from the picker or
// are dropped on the drop zone, go to the server in one multipart request with a progress
// bar, and each file's result — its stored documents or its problem — is shown beside it.

import { collectionPath, describeProblem, uploadFiles } from "/web/api.js";
import { t } from "/web/i18n.js";

let chosen = [];
let sending = false;
let onStored = () => {};

function element(id) {
  return document.getElementById(id);
}

function make(tag, className, text) {
  const node = document.createElement(tag);
  node.className = className;
  node.textContent = text;
  return node;
}

function sizeText(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** One row per chosen file: name, size, and the `[state, text]` that `statusOf(index)` gives. */
function showFiles(statusOf) {
  element("upload-results").replaceChildren(...chosen.map((file, index) => {
    const [state, text] = statusOf(index);
    const item = make("li", `upload-file is-${state}`);
    item.append(make("span", "file-name", file.name), " ",
      make("span", "file-size", sizeText(file.size)), " ",
      make("span", "file-status", text));
    return item;
  }));
}

function choose(files) {
  chosen = [...files];
  element("upload-status").textContent = "";
  updateButton();
  showFiles(() => ["waiting", t("upload_waiting")]);
}

function updateButton() {
  element("upload").disabled = sending || !chosen.length;
}

/** What was stored from one file: how many documents, created, updated or unchanged. */
function storedText(result) {
  const outcomes = result.documents.map((write) => t(`outcome_${write.outcome}`));
  const counts = {};
  for (const outcome of outcomes) counts[outcome] = (counts[outcome] || 0) + 1;
  const parts = Object.entries(counts).map(([outcome, n]) => `${n} ${outcome}`);
  return t("upload_stored", { count: result.documents.length, outcomes: parts.join(", ") });
}

async function upload(event) {
  event.preventDefault();
  const collection = element("document-collection").value;
  if (!chosen.length || sending) return;
  if (!collection) {
    element("upload-status").textContent = t("upload_no_collection");
    return;
  }
  const bar = element("upload-progress");
  bar.value = 0;
  bar.hidden = false;
  sending = true;
  updateButton();
  showFiles(() => ["sending", t("upload_sending")]);
  const path = collectionPath(collection, "documents", "upload");
  try {
    const summary = await uploadFiles(path, chosen, (sent, total) => {
      bar.max = total;
      bar.value = sent;
    });
    showFiles((index) => {
      const result = summary.files[index];
      return result.error ? ["failed", describeProblem(result.error)] : ["stored", storedText(result)];
    });
    element("upload-status").textContent = t("upload_done", {
      stored: summary.files.length - summary.failed,
      failed: summary.failed,
    });
    chosen = [];
    element("upload-files").value = "";
    await onStored();
  } catch (error) {
    showFiles(() => ["failed", describeProblem(error)]);
  } finally {
    sending = false;
    bar.hidden = true;
    updateButton();
  }
}

/** Wires the form and the drop zone; `stored` runs after files were stored. */
export function initUpload(stored) {
  onStored = stored;
  const input = element("upload-files");
  input.addEventListener("change", () => choose(input.files));
  element("upload-form").addEventListener("submit", upload);
  const zone = element("drop-zone");
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("is-over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("is-over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("is-over");
    if (event.dataTransfer.files.length) choose(event.dataTransfer.files);
  });
  updateButton();
}
