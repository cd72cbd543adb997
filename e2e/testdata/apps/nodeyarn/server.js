const fs = require("fs");
const http = require("http");
const isNumber = require("is-number");

http.createServer((req, res) => {
  res.end(`yarn app built by ${fs.readFileSync("built.txt", "utf8")}, port is a number: ${isNumber(process.env.PORT)}\n`);
}).listen(process.env.PORT);
