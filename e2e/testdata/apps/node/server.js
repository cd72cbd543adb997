const http = require("http");
const port = parseInt(process.env.PORT, 10);
http.createServer((req, res) => {
  res.writeHead(200, { "Content-Type": "text/plain" });
  res.end(`node says hi from ${process.env.DYNO} ${process.env.PAAS_RELEASE}\n`);
}).listen(port, () => console.log(`node listening on ${port}`));
