// Calls to the server's API: the API key from session storage as a Bearer token, problem+json
// errors as `ApiProblem`, and the answer stream's server-sent events parsed as they arrive.

const KEY_STORAGE = "crag-api-key";

/** A problem+json error (or a failure without one), with the HTTP status. */
export class ApiProblem extends Error {
  constructor(status, code, detail) {
    super(detail);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

/** A failure as one line: status, code and detail of a problem, else the error's message. */
export function describeProblem(error) {
  return error.status ? `${error.status} ${error.code}: ${error.detail}` : error.message;
}

const authListeners = [];

/** Calls `listener(problem)` on every 401 or 403 the API answers. */
export function onAuthProblem(listener) {
  authListeners.push(listener);
}

/** The saved API key, or an empty string. */
export function apiKey() {
  return sessionStorage.getItem(KEY_STORAGE) || "";
}

/** Saves the API key for this tab (an empty key forgets it). */
export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

function headers(extra = {}) {
  const all = { ...extra };
  const key = apiKey();
  if (key) all.authorization = `Bearer ${key}`;
  return all;
}

/** The problem a failed response describes. */
async function problemOf(response) {
  const text = await response.text().catch(() => "");
  return problemFrom(response.status, response.statusText, text);
}

/** The problem in a failed response's `status`, status line and body `text`. */
function problemFrom(status, statusText, text) {
  let code = `http_${status}`;
  let detail = statusText || `HTTP ${status}`;
  try {
    const body = JSON.parse(text);
    code = body.code || code;
    detail = body.detail || body.title || detail;
  } catch {
    // Not JSON: keep the status line.
  }
  const problem = new ApiProblem(status, code, detail);
  if (status === 401 || status === 403) {
    for (const listener of authListeners) listener(problem);
  }
  return problem;
}

/** `fetch` of `path` with the key; throws `ApiProblem` unless the status is 2xx. */
export async function request(path, { method = "GET", body, signal } = {}) {
  const init = { method, signal, headers: headers({ accept: "application/json" }) };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (!response.ok) throw await problemOf(response);
  return response;
}

/** GET `path` as JSON. */
export async function getJson(path, signal) {
  return (await request(path, { signal })).json();
}

/**
 * POSTs `files` to `path` as `multipart/form-data` (one part named `files` each) with the key,
 * calling `onProgress(sent, total)` as the body goes out (XMLHttpRequest reports upload
 * progress, fetch does not). Resolves to the JSON answer; rejects with `ApiProblem` unless
 * the status is 2xx (status 0 when the request failed without an answer).
 */
export function uploadFiles(path, files, onProgress) {
  const form = new FormData();
  for (const file of files) form.append("files", file, file.name);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    for (const [name, value] of Object.entries(headers({ accept: "application/json" }))) {
      xhr.setRequestHeader(name, value);
    }
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status < 200 || xhr.status > 299) {
        reject(problemFrom(xhr.status, xhr.statusText, xhr.responseText));
        return;
      }
      try {
        resolve(JSON.parse(xhr.responseText));
      } catch (error) {
        reject(new ApiProblem(xhr.status, "invalid_response", error.message));
      }
    });
    xhr.addEventListener("error", () => {
      reject(new ApiProblem(0, "network_error", "the upload did not reach the server"));
    });
    xhr.send(form);
  });
}

/** The URL of a collection's route, with its name escaped. */
export function collectionPath(collection, ...rest) {
  return `/v1/collections/${[collection, ...rest].map(encodeURIComponent).join("/")}`;
}

/**
 * POSTs `body` to `/v1/answer/stream` and calls `onEvent(name, data)` for every event as it
 * arrives. Aborting `signal` closes the stream, which stops the pipeline on the server.
 */
export async function streamAnswer(body, signal, onEvent) {
  const response = await request("/v1/answer/stream", { method: "POST", body, signal });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
      dispatch(block, onEvent);
    }
  }
  if (buffer.trim()) dispatch(buffer, onEvent);
}

/** One event block: `event:` names it, `data:` lines carry its JSON; `:` lines are comments. */
function dispatch(block, onEvent) {
  let name = "message";
  const data = [];
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") name = value;
    else if (field === "data") data.push(value);
  }
  if (data.length) onEvent(name, JSON.parse(data.join("\n")));
}
