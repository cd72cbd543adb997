// paas dashboard: live logs and deploy progress over server-sent events.
// EventSource reconnects by itself after a dropped connection, sending the
// last event id, so the server resumes after the last line shown. It gives
// up for good when an answer is not a stream (a proxy's 502 while paasd
// restarts, paasd's 503 while it hands over, 401 once signed out): then a
// new EventSource is made after a growing delay, resuming with ?after= the
// last id seen, unless the page itself says the session is signed out.
// No inline script: CSP-clean.
"use strict";

const retryFirst = 1000;
const retryMost = 30000;

// follow shows the event stream of pre.dataset.stream: onLine gets each
// line's data; onEvent each start and end event, and returns true when
// the stream is over for good; onState "live", "reconnecting" or
// "signedout".
function follow(pre, onLine, onEvent, onState) {
  let lastId = "";
  let wait = retryFirst;
  let src = null;
  let stopped = false;
  const open = () => {
    const url = new URL(pre.dataset.stream, location.href);
    if (lastId !== "") url.searchParams.set("after", lastId);
    src = new EventSource(url);
    src.onopen = () => { wait = retryFirst; onState("live"); };
    src.onerror = () => {
      onState("reconnecting");
      if (src.readyState !== EventSource.CLOSED) return; // the browser retries
      // The browser gave up: try again later, unless signed out.
      src.close();
      setTimeout(retry, wait);
      wait = Math.min(wait * 2, retryMost);
    };
    src.addEventListener("line", (e) => {
      if (e.lastEventId) lastId = e.lastEventId;
      onLine(e.data);
    });
    for (const name of ["start", "end"]) {
      src.addEventListener(name, (e) => {
        if (onEvent(name, e.data)) { stopped = true; src.close(); }
      });
    }
  };
  const retry = () => {
    if (stopped) return;
    fetch(location.href, { method: "HEAD", cache: "no-store", credentials: "same-origin" }).then(
      (res) => {
        if (res.status === 401) { stopped = true; onState("signedout"); return; }
        open();
      },
      () => open());
  };
  open();
}

function appendLine(pre, text) {
  const atBottom = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 40;
  const span = document.createElement("span");
  span.className = "line";
  span.textContent = text + "\n";
  pre.appendChild(span);
  if (atBottom) pre.scrollTop = pre.scrollHeight;
}

const stateText = {
  live: "Live",
  reconnecting: "Reconnecting…",
  signedout: "Stopped: signed out. Run paas dashboard to sign in again.",
};

document.addEventListener("DOMContentLoaded", () => {
  const log = document.getElementById("app-log");
  if (log) {
    const status = document.getElementById("log-status");
    log.scrollTop = log.scrollHeight;
    follow(log, (data) => {
      const l = JSON.parse(data);
      appendLine(log, l.time + " " + l.source + "[" + l.instance + "]: " + l.message);
    }, (name, data) => {
      if (name !== "end") return false;
      status.textContent = "Stopped: " + data;
      return true;
    }, (state) => { status.textContent = stateText[state]; });
  }
  const deploy = document.getElementById("deploy-log");
  if (deploy) {
    const status = document.getElementById("deploy-status");
    let deploying = false;
    follow(deploy, (data) => appendLine(deploy, data), (name, data) => {
      if (name === "start") { deploying = true; deploy.textContent = ""; status.textContent = "Deploying: " + data; }
      if (name !== "end") return false;
      if (data === "deployed" || data === "failed") {
        deploying = false;
        status.textContent = "Push " + data + ".";
        return false;
      }
      // The session or the access ended.
      status.textContent = "Stopped: " + data;
      return true;
    }, (state) => {
      if (deploying && state === "reconnecting") return;
      status.textContent = state === "live" ? "Live: a push shows here as it happens." : stateText[state];
    });
  }
  const copy = document.getElementById("copy-logs");
  if (copy) {
    copy.addEventListener("click", () => {
      const target = document.getElementById(copy.dataset.target);
      navigator.clipboard.writeText(target.textContent).then(
        () => { copy.textContent = "Copied"; },
        () => { copy.textContent = "Copy failed"; });
    });
  }
});
