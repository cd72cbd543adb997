// paas dashboard: live logs and deploy progress over server-sent events.
// EventSource reconnects by itself, sending the last event id, so the
// server resumes after the last line shown. No inline script: CSP-clean.
"use strict";

function follow(pre, onLine, onEvent, onState) {
  const src = new EventSource(pre.dataset.stream);
  src.onopen = () => onState(true);
  src.onerror = () => onState(false);
  src.addEventListener("line", (e) => onLine(e.data));
  for (const name of ["start", "end"]) {
    src.addEventListener(name, (e) => onEvent(name, e.data, src));
  }
  return src;
}

function appendLine(pre, text) {
  const atBottom = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 40;
  const span = document.createElement("span");
  span.className = "line";
  span.textContent = text + "\n";
  pre.appendChild(span);
  if (atBottom) pre.scrollTop = pre.scrollHeight;
}

document.addEventListener("DOMContentLoaded", () => {
  const log = document.getElementById("app-log");
  if (log) {
    const status = document.getElementById("log-status");
    log.scrollTop = log.scrollHeight;
    follow(log, (data) => {
      const l = JSON.parse(data);
      appendLine(log, l.time + " " + l.source + "[" + l.instance + "]: " + l.message);
    }, (name, data, src) => {
      if (name === "end") { src.close(); status.textContent = "Stopped: " + data; }
    }, (live) => { status.textContent = live ? "Live" : "Reconnecting…"; });
  }
  const deploy = document.getElementById("deploy-log");
  if (deploy) {
    const status = document.getElementById("deploy-status");
    let deploying = false;
    follow(deploy, (data) => appendLine(deploy, data), (name, data) => {
      if (name === "start") { deploying = true; deploy.textContent = ""; status.textContent = "Deploying: " + data; }
      if (name === "end") { deploying = false; status.textContent = "Push " + data + "."; }
    }, (live) => {
      if (!deploying) status.textContent = live ? "Live: a push shows here as it happens." : "Reconnecting…";
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
