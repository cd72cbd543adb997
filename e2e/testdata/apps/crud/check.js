// node check.js < URL: logs in to the postgres or redis service at the
// URL on stdin (kept out of the command line, which the platform logs)
// and runs one query; prints "ok" and exits 0, or prints why it was
// refused and exits 1.
const { Client } = require("pg");
const { createClient } = require("redis");

(async () => {
  let url = "";
  for await (const chunk of process.stdin) url += chunk;
  url = url.trim();
  if (url.startsWith("redis:")) {
    const c = createClient({ url, socket: { reconnectStrategy: false } });
    c.on("error", () => {});
    await c.connect();
    await c.ping();
    await c.quit();
  } else {
    const c = new Client({ connectionString: url });
    await c.connect();
    await c.query("SELECT 1");
    await c.end();
  }
  console.log("ok");
})().catch((e) => {
  console.log("refused: " + e.message);
  process.exit(1);
});
