const http = require("http");
const isNumber = require("is-number");
const port = parseInt(process.env.PORT, 10);
http.createServer((req, res) => {
  res.writeHead(200, { "Content-Type": "text/plain" });
  res.end(`node says hi from ${process.env.DYNO} (port is a number: ${isNumber(process.env.PORT)}) ${process.env.PAAS_RELEASE}\n`);
}).listen(port, () => console.log(`node listening on ${port}`));
