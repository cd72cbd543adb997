const http = require("http");
const isNumber = require("is-number");

http.createServer((req, res) => {
  res.end(`pnpm app, port is a number: ${isNumber(process.env.PORT)}\n`);
}).listen(process.env.PORT);
