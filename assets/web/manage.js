// The Manage view: collections (create with a language, delete after confirmation) and the
// documents of one collection (paged, filtered by metadata, opened, deleted).

import { collectionPath, describeProblem, getJson, request } from "/web/api.js";
import { t } from "/web/i18n.js";
import { forgetDocuments, openDocument } from "/web/viewer.js";

const PAGE_SIZE = 20;
let page = 1;
let onCollectionsChanged = () => {};

function element(id) {
  return document.getElementById(id);
}

function make(tag, text) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A table cell whose column name (message `key`) narrow screens show beside its text. */
function cell(key, text) {
  const node = make("td", text);
  node.dataset.label = t(key);
  return node;
}

function button(key, action) {
  const node = make("button", t(key));
  node.type = "button";
  node.dataset.i18n = key;
  node.addEventListener("click", action);
  return node;
}

function report(id, text) {
  element(id).textContent = text;
}

/** Asks in a modal dialog; resolves to true when confirmed. */
function confirmAction(message) {
  const dialog = element("confirm-dialog");
  element("confirm-text").textContent = message;
  return new Promise((resolve) => {
    const done = (answer) => {
      element("confirm-yes").removeEventListener("click", yes);
      element("confirm-no").removeEventListener("click", no);
      dialog.removeEventListener("cancel", no);
      dialog.close();
      resolve(answer);
    };
    const yes = () => done(true);
    const no = () => done(false);
    element("confirm-yes").addEventListener("click", yes);
    element("confirm-no").addEventListener("click", no);
    dialog.addEventListener("cancel", no);
    dialog.showModal();
    element("confirm-no").focus();
  });
}

/** Shows the collections in the table and in the document list's picker. */
export function showManagedCollections(collections) {
  const rows = collections.map((collection) => {
    const row = make("tr");
    const name = make("th", collection.name);
    name.scope = "row";
    row.append(name, cell("language", t(collection.language)),
      cell("documents_count", String(collection.document_count)),
      cell("chunks_count", String(collection.chunk_count)));
    const actions = make("td");
    actions.append(button("delete", () => deleteCollection(collection.name)));
    row.append(actions);
    return row;
  });
  element("collection-rows").replaceChildren(...rows);
  const picker = element("document-collection");
  const chosen = picker.value;
  picker.replaceChildren(...collections.map((collection) => {
    const option = make("option", collection.name);
    option.value = collection.name;
    return option;
  }));
  if (collections.some((collection) => collection.name === chosen)) picker.value = chosen;
  listDocuments();
}

async function createCollection(event) {
  event.preventDefault();
  const body = {
    name: element("new-collection-name").value.trim(),
    language: element("new-collection-language").value,
    description: element("new-collection-description").value.trim(),
  };
  try {
    await request("/v1/collections", { method: "POST", body });
    report("collections-status", t("created"));
    element("new-collection-name").value = "";
    element("new-collection-description").value = "";
    await onCollectionsChanged();
  } catch (error) {
    report("collections-status", describeProblem(error));
  }
}

async function deleteCollection(name) {
  if (!(await confirmAction(t("confirm_delete_collection", { name })))) return;
  try {
    await request(collectionPath(name), { method: "DELETE" });
    forgetDocuments();
    report("collections-status", t("deleted"));
    await onCollectionsChanged();
  } catch (error) {
    report("collections-status", describeProblem(error));
  }
}

/** Lists the current page of the chosen collection's documents. */
async function listDocuments() {
  const collection = element("document-collection").value;
  if (!collection) {
    element("document-rows").replaceChildren();
    report("documents-page", "");
    return;
  }
  const query = new URLSearchParams({ page: String(page), page_size: String(PAGE_SIZE) });
  const filter = element("document-filter").value.trim();
  if (filter) query.set("filter", filter);
  let listing;
  try {
    listing = await getJson(`${collectionPath(collection, "documents")}?${query}`);
  } catch (error) {
    report("documents-status", describeProblem(error));
    return;
  }
  report("documents-status", "");
  element("document-rows").replaceChildren(...listing.documents.map((doc) => {
    const row = make("tr");
    const title = make("th", doc.title);
    title.scope = "row";
    const actions = make("td");
    actions.append(
      button("open", () => openDocument(collection, doc.id, doc.title)),
      " ",
      button("delete", () => deleteDocument(collection, doc)),
    );
    row.append(title, cell("document_id", doc.id), cell("chunks_count", String(doc.chunk_count)),
      cell("characters", String(doc.char_count)),
      cell("updated", new Date(doc.updated_at).toLocaleString()),
      actions);
    return row;
  }));
  const pages = Math.max(1, Math.ceil(listing.total / PAGE_SIZE));
  report("documents-page", t("page_of", { page, pages, total: listing.total }));
  element("documents-previous").disabled = page <= 1;
  element("documents-next").disabled = listing.next_page == null;
}

async function deleteDocument(collection, doc) {
  if (!(await confirmAction(t("confirm_delete_document", { name: doc.title })))) return;
  try {
    await request(collectionPath(collection, "documents", doc.id), { method: "DELETE" });
    forgetDocuments();
    report("documents-status", t("deleted"));
    await onCollectionsChanged();
  } catch (error) {
    report("documents-status", describeProblem(error));
  }
}

/** Wires the view; `reload` fetches the collections again after a change. */
export function initManage(reload) {
  onCollectionsChanged = reload;
  element("create-collection").addEventListener("submit", createCollection);
  element("document-collection").addEventListener("change", () => {
    page = 1;
    listDocuments();
  });
  element("document-filter-form").addEventListener("submit", (event) => {
    event.preventDefault();
    page = 1;
    listDocuments();
  });
  element("documents-previous").addEventListener("click", () => {
    page = Math.max(1, page - 1);
    listDocuments();
  });
  element("documents-next").addEventListener("click", () => {
    page += 1;
    listDocuments();
  });
}
