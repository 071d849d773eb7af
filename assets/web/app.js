// Starts the page: language, tabs, the API key, the collections, and the keyboard (Esc
// cancels an answer, else closes the source viewer).

import { apiKey, getJson, onAuthProblem, setApiKey } from "/web/api.js";
import { cancel, initAsk, showCollections } from "/web/ask.js";
import { apply, language, LANGUAGES, onLanguageChange, setLanguage, t } from "/web/i18n.js";
import { initManage, showManagedCollections } from "/web/manage.js";
import { initUpload } from "/web/upload.js";
import { closeViewer, initViewer } from "/web/viewer.js";

function element(id) {
  return document.getElementById(id);
}

let lastAuthProblem = null;

/** Says plainly that the server wants a (better) key. */
function showAuthProblem(problem) {
  lastAuthProblem = problem;
  const banner = element("auth-banner");
  const key = problem.status === 401 ? "auth_401" : "auth_403";
  banner.textContent = t(key, { status: problem.status, detail: problem.detail });
  banner.hidden = false;
  if (problem.status === 401) element("key-box").open = true;
}

function clearAuthProblem() {
  lastAuthProblem = null;
  element("auth-banner").hidden = true;
}

/** Fetches the collections and shows them in both views. */
async function loadCollections() {
  try {
    const { collections } = await getJson("/v1/collections");
    clearAuthProblem();
    showCollections(collections);
    showManagedCollections(collections);
  } catch (error) {
    if (error.status !== 401 && error.status !== 403) {
      element("collections-status").textContent = `${t("error")}: ${error.message}`;
    }
  }
}

function showTab(name) {
  for (const tab of document.querySelectorAll("[data-tab]")) {
    const active = tab.dataset.tab === name;
    tab.setAttribute("aria-selected", String(active));
    tab.tabIndex = active ? 0 : -1;
    element(`${tab.dataset.tab}-view`).hidden = !active;
  }
}

function initTabs() {
  const tabs = [...document.querySelectorAll("[data-tab]")];
  for (const tab of tabs) {
    tab.addEventListener("click", () => showTab(tab.dataset.tab));
    tab.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step) return;
      const next = tabs[(tabs.indexOf(tab) + step + tabs.length) % tabs.length];
      showTab(next.dataset.tab);
      next.focus();
    });
  }
  showTab("ask");
}

function initLanguage() {
  const picker = element("language");
  picker.replaceChildren(...LANGUAGES.map((code) => {
    const option = document.createElement("option");
    option.value = code;
    option.textContent = { en: "English", sv: "Svenska" }[code];
    return option;
  }));
  picker.value = language();
  picker.addEventListener("change", () => setLanguage(picker.value));
  onLanguageChange(() => {
    if (lastAuthProblem) showAuthProblem(lastAuthProblem);
    else loadCollections();
  });
  apply(document);
}

function initKey() {
  const input = element("api-key");
  input.value = apiKey();
  element("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    setApiKey(input.value.trim());
    element("key-status").textContent = t(input.value.trim() ? "key_saved" : "key_forgotten");
    loadCollections();
  });
  element("key-forget").addEventListener("click", () => {
    input.value = "";
    setApiKey("");
    element("key-status").textContent = t("key_forgotten");
  });
  onAuthProblem(showAuthProblem);
}

document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape" || element("confirm-dialog").open) return;
  if (!cancel()) closeViewer();
});

initLanguage();
initTabs();
initKey();
initViewer();
initAsk();
initManage(loadCollections);
initUpload(loadCollections);
loadCollections();
