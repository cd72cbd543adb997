const http = require("http");
const { Pool } = require("pg");
const { createClient } = require("redis");

const db = new Pool({ connectionString: process.env.DATABASE_URL });
// An idle connection the server closed (a restore, a rotation) is
// dropped from the pool; the next query opens another.
db.on("error", (e) => console.error("postgres:", e.message));
// Redis is optional: without REDIS_URL writes are not counted.
const cache = process.env.REDIS_URL ? createClient({ url: process.env.REDIS_URL }) : null;
if (cache) cache.on("error", (e) => console.error("redis:", e.message));
const count = () => (cache ? cache.incr("writes") : Promise.resolve());

async function handle(req, res) {
  const url = new URL(req.url, "http://x");
  const id = url.pathname.split("/")[2];
  let body = "";
  for await (const chunk of req) body += chunk;
  if (req.method === "POST" && url.pathname === "/items") {
    const r = await db.query("INSERT INTO items (name) VALUES ($1) RETURNING id", [body]);
    await count();
    return [201, String(r.rows[0].id)];
  }
  if (req.method === "GET" && url.pathname === "/items") {
    const r = await db.query("SELECT id, name FROM items ORDER BY id");
    return [200, r.rows.map((x) => x.id + "=" + x.name).join(",")];
  }
  if (req.method === "PUT" && id) {
    const r = await db.query("UPDATE items SET name = $1 WHERE id = $2", [body, id]);
    await count();
    return [r.rowCount ? 200 : 404, String(r.rowCount)];
  }
  if (req.method === "DELETE" && id) {
    const r = await db.query("DELETE FROM items WHERE id = $1", [id]);
    await count();
    return [r.rowCount ? 200 : 404, String(r.rowCount)];
  }
  if (req.method === "GET" && url.pathname === "/writes") {
    return [200, cache ? String((await cache.get("writes")) || 0) : "no redis"];
  }
  return [404, "no such route"];
}

(cache ? cache.connect() : Promise.resolve()).then(() => {
  http.createServer((req, res) => {
    handle(req, res).then(([code, text]) => {
      res.writeHead(code, { "Content-Type": "text/plain" });
      res.end(text + "\n");
    }, (e) => {
      res.writeHead(500, { "Content-Type": "text/plain" });
      res.end("error: " + e.message + "\n");
    });
  }).listen(process.env.PORT, () => console.log("listening on " + process.env.PORT));
});
