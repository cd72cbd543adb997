const { Client } = require("pg");
(async () => {
  if (!process.env.DATABASE_URL) {
    console.log("no database: nothing to migrate");
    return;
  }
  const c = new Client({ connectionString: process.env.DATABASE_URL });
  await c.connect();
  await c.query("CREATE TABLE IF NOT EXISTS items (id serial PRIMARY KEY, name text NOT NULL)");
  console.log("migrated");
  await c.end();
})().catch((e) => { console.error(e.message); process.exit(1); });
