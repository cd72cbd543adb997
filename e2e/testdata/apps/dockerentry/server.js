const http = require("http");
http.createServer((req, res) => {
  res.end("node buildpack web\n");
}).listen(process.env.PORT);
