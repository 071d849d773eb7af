// The Ask view: the question form, the collections to search, and the conversation, whose
// finished turns are sent back as `history` with each follow-up.

import { describeProblem, streamAnswer } from "/web/api.js";
import { TurnView } from "/web/answer.js";
import { t } from "/web/i18n.js";

let history = [];
let running = null;

function element(id) {
  return document.getElementById(id);
}

/** Shows `collections` (from `GET /v1/collections`) as checkboxes, keeping what was ticked. */
export function showCollections(collections) {
  const list = element("collection-list");
  const ticked = new Set(selectedCollections());
  if (!collections.length) {
    const empty = document.createElement("p");
    empty.dataset.i18n = "no_collections";
    empty.textContent = t("no_collections");
    list.replaceChildren(empty);
    return;
  }
  list.replaceChildren(
    ...collections.map((collection) => {
      const box = document.createElement("input");
      box.type = "checkbox";
      box.name = "collection";
      box.value = collection.name;
      box.id = `collection-${collection.name}`;
      box.checked = ticked.has(collection.name);
      const text = document.createElement("label");
      text.htmlFor = box.id;
      text.textContent = `${collection.name} (${collection.document_count})`;
      const item = document.createElement("span");
      item.className = "choice";
      item.append(box, text);
      return item;
    }),
  );
}

function selectedCollections() {
  return [...document.querySelectorAll('#collection-list input[name="collection"]:checked')]
    .map((box) => box.value);
}

/** Asks the question in the box; follow-ups carry the conversation so far. */
async function ask() {
  const question = element("question").value.trim();
  if (!question || running) return;
  const turn = new TurnView(question);
  element("conversation").append(turn.root);
  turn.root.scrollIntoView({ block: "start" });
  const controller = new AbortController();
  running = controller;
  setRunning(true);
  const body = {
    question,
    mode: element("mode").value,
    history,
    collections: selectedCollections(),
  };
  let finished = null;
  try {
    await streamAnswer(body, controller.signal, (name, data) => {
      turn.onEvent(name, data);
      if (name === "done") finished = data;
    });
    if (finished) {
      history = [...history, { role: "user", content: question },
        { role: "assistant", content: finished.answer }];
      element("question").value = "";
    } else if (!turn.root.classList.contains("is-failed")) {
      turn.fail(t("error"));
    }
  } catch (error) {
    if (controller.signal.aborted) turn.cancelled();
    else turn.fail(describeProblem(error));
  } finally {
    running = null;
    setRunning(false);
  }
}

function setRunning(on) {
  element("ask").disabled = on;
  element("cancel").hidden = !on;
  if (on) element("cancel").focus({ preventScroll: true });
  else element("question").focus({ preventScroll: true });
}

/** Stops the answer being streamed, if any; true when there was one. */
export function cancel() {
  if (!running) return false;
  running.abort();
  return true;
}

/** Wires the form: Enter asks (Shift+Enter is a new line). */
export function initAsk() {
  element("ask-form").addEventListener("submit", (event) => {
    event.preventDefault();
    ask();
  });
  element("question").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      ask();
    }
  });
  element("cancel").addEventListener("click", cancel);
  element("new-conversation").addEventListener("click", () => {
    cancel();
    history = [];
    element("conversation").replaceChildren();
    element("question").focus();
  });
}
