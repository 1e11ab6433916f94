"use strict";
// The view's side of MCP Apps (io.modelcontextprotocol/ui, 2026-01-26): JSON-RPC 2.0 over
// postMessage with the host, which forwards each tools/call to pm-mcp under the user's own key.
// Nothing here reaches the network; every text from a tracker is put in the page as text.
const host = (() => {
  const PROTOCOL = "2026-01-26";
  let nextId = 1;
  const waiting = new Map();
  // Handlers of the host's notifications and requests, by method.
  const on = {
    ping: () => ({}),
    "ui/resource-teardown": () => ({}),
    "ui/notifications/host-context-changed": (ctx) => applyContext(ctx),
  };

  function post(message) {
    window.parent.postMessage(message, "*");
  }

  // A request to the host; it fails after `REQUEST_MS` without an answer, so that nothing waits forever.
  const REQUEST_MS = 60000;
  function request(method, params) {
    const id = nextId++;
    post({ jsonrpc: "2.0", id, method, params });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error("the host did not answer within " + REQUEST_MS / 1000 + " s"));
      }, REQUEST_MS);
      waiting.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
    });
  }

  function notify(method, params) {
    post(params === undefined ? { jsonrpc: "2.0", method } : { jsonrpc: "2.0", method, params });
  }

  window.addEventListener("message", (event) => {
    if (event.source !== window.parent) return;
    const msg = event.data;
    if (!msg || typeof msg !== "object" || msg.jsonrpc !== "2.0") return;
    if (typeof msg.method === "string") {
      const handler = on[msg.method];
      if (msg.id === undefined) {
        if (handler) handler(msg.params || {});
        return;
      }
      Promise.resolve()
        .then(() => {
          if (!handler) throw Object.assign(new Error("unknown method " + msg.method), { code: -32601 });
          return handler(msg.params || {});
        })
        .then(
          (result) => post({ jsonrpc: "2.0", id: msg.id, result: result || {} }),
          (e) => post({ jsonrpc: "2.0", id: msg.id, error: { code: e.code || -32603, message: String(e.message || e) } })
        );
      return;
    }
    const pending = waiting.get(msg.id);
    if (!pending) return;
    waiting.delete(msg.id);
    if (msg.error) pending.reject(Object.assign(new Error(msg.error.message || "the host refused"), { code: msg.error.code }));
    else pending.resolve(msg.result || {});
  });

  // The host's theme and style variables (`hostContext`), whole or as a change.
  function applyContext(ctx) {
    const root = document.documentElement;
    if (ctx.theme === "light" || ctx.theme === "dark") {
      root.setAttribute("data-theme", ctx.theme);
      root.style.colorScheme = ctx.theme;
    }
    const vars = ctx.styles && ctx.styles.variables;
    if (vars && typeof vars === "object") {
      for (const [name, value] of Object.entries(vars)) {
        if (typeof value === "string" && name.startsWith("--")) root.style.setProperty(name, value);
      }
    }
  }

  // The text blocks of a tool result, joined.
  function text(result) {
    return (result.content || [])
      .filter((c) => c && c.type === "text")
      .map((c) => c.text)
      .join("\n")
      .trim();
  }

  // Calls one of pm-mcp's tools through the host: { ok, data, text }. A refusal (the tracker's or
  // the server's) is ok: false with its words; the host's own refusal rejects.
  async function callTool(name, args) {
    const result = await request("tools/call", { name, arguments: args });
    return { ok: !result.isError, data: result.structuredContent, text: text(result) };
  }

  // The content's own size, not the frame's: measured with the document at its content's height, so that
  // it shrinks when the content does (the frame's height would only ever grow).
  function contentSize() {
    const root = document.documentElement;
    const before = root.style.height;
    root.style.height = "max-content";
    const box = root.getBoundingClientRect();
    root.style.height = before;
    return { width: Math.ceil(box.width), height: Math.ceil(box.height) };
  }

  // Handshake, then the size of the content whenever it changes. Answers whether the host passes tool
  // calls on to the server (without, a view can only show).
  async function start(name) {
    const init = await request("ui/initialize", {
      appInfo: { name, version: "1.0.0" },
      appCapabilities: {},
      protocolVersion: PROTOCOL,
    });
    applyContext(init.hostContext || {});
    notify("ui/notifications/initialized");
    let last = "";
    const report = () => {
      const size = contentSize();
      const key = size.width + "x" + size.height;
      if (key !== last) {
        last = key;
        notify("ui/notifications/size-changed", size);
      }
    };
    const watch = new ResizeObserver(report);
    watch.observe(document.documentElement);
    watch.observe(document.body);
    report();
    return Boolean(init.hostCapabilities && init.hostCapabilities.serverTools);
  }

  return { on, callTool, start, text };
})();

// An element with attributes (strings; `on*` functions as listeners) and children (nodes, or
// strings as text).
function el(tag, attrs, ...children) {
  const node = document.createElementNS(
    tag === "svg" || el.svg.has(tag) ? "http://www.w3.org/2000/svg" : "http://www.w3.org/1999/xhtml",
    tag
  );
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
  return node;
}
el.svg = new Set(["g", "path", "line", "rect", "circle", "text", "title", "polyline", "polygon"]);

// One message line under the heading: what happened, or what was refused and why.
function say(text, kind) {
  const box = document.getElementById("message");
  box.className = "message " + kind;
  box.setAttribute("role", kind === "error" ? "alert" : "status");
  box.textContent = text;
}
