const fs = require("fs");
const http = require("http");
const isNumber = require("is-number");

const port = process.env.PORT || 5006;
http.createServer((req, res) => {
  const built = fs.readFileSync("dist/built.txt", "utf8").trim();
  res.end(`runs on node ${process.version}; ${built}; port is a number: ${isNumber(port)}\n`);
}).listen(port, () => console.log(`Listening on ${port}`));
